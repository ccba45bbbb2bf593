from django.contrib import admin

from carepath import access
from carepath.admin_base import AuditedAdmin, CaseScopedAdmin

from .models import Assessment, Guardian, NeurosurgeryConsult, Outcome, Patient, Referral


class GuardianInline(admin.TabularInline):
    model = Guardian
    extra = 0


@admin.register(Patient)
class PatientAdmin(AuditedAdmin):
    """Demographics and guardians' contacts may be corrected here (audited)."""

    list_display = ("mrn", "family_name", "given_name", "birth_date", "sex")
    search_fields = ("mrn", "family_name", "given_name")
    inlines = [GuardianInline]

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
