"""Admin building blocks: every view of a child's record and every edit is audited, and case
records are read-only here (their changes go through the transition services)."""

from django.contrib import admin

from carepath.pathway import access, audit
from carepath.pathway.text import GuardedModelForm

from .models import AuditLog


class AuditedAdmin(admin.ModelAdmin):
    """Records each change-page view, each page of a list or search, and each save in the audit log.
    `audit_reads = False` for tables that hold no child's record (SLA policies, holidays). Its forms
    refuse control characters like every other input (carepath/pathway/text.py)."""

    audit_reads = True
    form = GuardedModelForm

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl") if hasattr(response, "context_data") else None
        if self.audit_reads and request.method == "GET" and changelist is not None:
            ids = [obj.pk for obj in changelist.result_list]
            audit.record_list(request.user, self.model, ids, query=f"admin {request.GET.urlencode()}".strip())
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = getattr(response, "context_data", {}).get("original") if hasattr(response, "context_data") else None
        if self.audit_reads and request.method == "GET" and obj is not None:
            audit.record_view(request.user, obj, "admin")
        return response

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        fields = form.changed_data if change else list(form.cleaned_data)
        changes = {f: form.cleaned_data.get(f) for f in fields if f in form.cleaned_data}
        action = AuditLog.Action.UPDATE if change else AuditLog.Action.CREATE
        audit.record(request.user, action, obj, {k: str(v) for k, v in changes.items()})


class ReadOnlyAdmin(AuditedAdmin):
    """Case records: visible to the admin, changed only through the pathway's services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CaseScopedAdmin(ReadOnlyAdmin):
    """Applies the same object rules as the API and UI (carepath/pathway/access.py); `case_prefix` is the
    path from this model to its referral."""

    case_prefix = ""

    def get_queryset(self, request):
        return super().get_queryset(request).filter(access.referral_q(request.user, prefix=self.case_prefix))
