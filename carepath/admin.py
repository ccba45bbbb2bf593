from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from carepath.pathway.text import TextGuardForm

from .admin_base import CaseScopedAdmin, ReadOnlyAdmin
from .models import AuditLog, CaseEvent, Notification, WorkItem


@admin.register(CaseEvent)
class CaseEventAdmin(CaseScopedAdmin):
    case_prefix = "referral__"
    list_display = ("at", "referral", "machine", "transition", "from_state", "to_state", "actor")
    list_filter = ("machine", "kind", "transition")
    search_fields = ("referral__patient__mrn",)
    list_select_related = ("referral", "actor")
    date_hierarchy = "at"


@admin.register(WorkItem)
class WorkItemAdmin(CaseScopedAdmin):
    case_prefix = "referral__"
    list_display = ("kind", "referral", "queue", "assigned_to", "status", "priority", "due_at")
    list_filter = ("status", "queue", "kind", "priority")
    search_fields = ("referral__patient__mrn",)
    list_select_related = ("referral", "assigned_to")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "recipient", "kind", "subject", "acknowledged_at", "email_sent_at")
    list_filter = ("kind",)
    list_select_related = ("recipient",)


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_username", "action", "object_type", "object_id", "patient_id", "channel", "address")
    list_filter = ("action", "object_type", "channel")
    search_fields = ("actor_username", "object_id", "address")
    date_hierarchy = "at"
    audit_reads = False  # reading the audit log is not itself audited (it would grow without end)


# --- users: staff names refuse control characters like every other name (carepath/pathway/text.py) --------
class GuardedUserChangeForm(TextGuardForm, UserChangeForm):
    pass


class GuardedUserCreationForm(TextGuardForm, AdminUserCreationForm):
    pass


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class CarePathUserAdmin(UserAdmin):
    form = GuardedUserChangeForm
    add_form = GuardedUserCreationForm
