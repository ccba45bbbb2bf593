from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path

from carepath.admin_base import AuditedAdmin, CaseScopedAdmin
from carepath.pathway import access
from carepath.pathway.roles import is_admin
from carepath.pathway.text import GuardedModelForm

from . import access_history
from .models import Assessment, CaseNote, Guardian, NeurosurgeryConsult, Outcome, Patient, Referral

ACCESS_HISTORY_PAGE = 50


class GuardianInline(admin.TabularInline):
    model = Guardian
    form = GuardedModelForm  # carers' names and numbers: no control characters (carepath/pathway/text.py)
    extra = 0


@admin.register(Patient)
class PatientAdmin(AuditedAdmin):
    """Demographics and guardians' contacts may be corrected here (audited)."""

    list_display = ("mrn", "family_name", "given_name", "birth_date", "sex")
    search_fields = ("mrn", "family_name", "given_name")
    inlines = [GuardianInline]
    change_form_template = "admin/referrals/patient/change_form.html"  # adds "Who looked at this child"

    def get_urls(self):
        history = self.admin_site.admin_view(self.access_history_view)
        return [path("<int:object_id>/access/", history, name="referrals_patient_access"), *super().get_urls()]

    def access_history_view(self, request, object_id: int):
        """Every audit row touching this child, newest first (docs/security.md). Administrators
        only: it shows who treated the child, and when."""
        if not is_admin(request.user):
            raise PermissionDenied
        patient = self.get_queryset(request).filter(pk=object_id).first()
        if patient is None:
            raise Http404("No such patient")
        page = Paginator(access_history.rows_touching(patient.pk), ACCESS_HISTORY_PAGE).get_page(request.GET.get("p"))
        for row in page:
            row.record_words, row.detail_words = access_history.record_words(row), access_history.detail_words(row)
        # not itself audited, like the audit log's own pages (its pages would shift as they are read)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": patient,
            "title": f"Who looked at {patient}",
            "page": page,
        }
        return TemplateResponse(request, "admin/referrals/patient/access_history.html", context)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(access.patient_q(request.user))

    def has_delete_permission(self, request, obj=None):
        return False


class AssessmentInline(admin.StackedInline):
    model = Assessment
    extra = 0
    can_delete = False


class ConsultInline(admin.StackedInline):
    model = NeurosurgeryConsult
    extra = 0
    can_delete = False


class OutcomeInline(admin.StackedInline):
    model = Outcome
    extra = 0
    can_delete = False


@admin.register(Referral)
class ReferralAdmin(CaseScopedAdmin):
    list_display = ("reference", "patient", "state", "priority", "requested_priority", "referred_by", "submitted_at")
    list_filter = ("state", "priority", "requested_priority", "loop_closed_unacknowledged")
    search_fields = ("patient__mrn", "patient__family_name")
    list_select_related = ("patient", "referred_by")
    date_hierarchy = "submitted_at"
    inlines = [AssessmentInline, ConsultInline, OutcomeInline]


@admin.register(CaseNote)
class CaseNoteAdmin(CaseScopedAdmin):
    """Clinical notes, read-only (CaseScopedAdmin: no add, change or delete): notes are append-only and
    written on the case page or through the API (referrals/notes.py)."""

    case_prefix = "referral__"
    list_display = ("referral", "author", "author_role", "written_at", "amends")
    list_select_related = ("referral", "author", "amends")
    readonly_fields = ("referral", "author", "author_role", "written_at", "text", "amends", "mentioned")


from .followup import admin as followup_admin  # noqa: E402,F401  (the follow-up templates)
