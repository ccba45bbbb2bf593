from django.contrib import admin

from carepath.admin_base import CaseScopedAdmin

from .models import Appointment, MRIRequest, NeuroradiologyReport, ReportAddendum


class AppointmentInline(admin.TabularInline):
    model = Appointment
    fk_name = "mri_request"
    extra = 0
    can_delete = False


@admin.register(MRIRequest)
class MRIRequestAdmin(CaseScopedAdmin):
    case_prefix = "referral__"
    list_display = ("__str__", "referral", "state", "priority", "protocol", "requested_at", "performed_at")
    list_filter = ("state", "priority", "protocol")
    search_fields = ("referral__patient__mrn", "accession_number")
    list_select_related = ("referral",)
    inlines = [AppointmentInline]


class AddendumInline(admin.TabularInline):
    model = ReportAddendum
    extra = 0
    can_delete = False


@admin.register(NeuroradiologyReport)
class ReportAdmin(CaseScopedAdmin):
    case_prefix = "mri_request__referral__"
    list_display = ("__str__", "category", "signed_by", "signed_at", "acknowledged_at")
    list_filter = ("category",)
    list_select_related = ("mri_request", "signed_by")
    inlines = [AddendumInline]


@admin.register(Appointment)
class AppointmentAdmin(CaseScopedAdmin):
    case_prefix = "mri_request__referral__"
    list_display = ("mri_request", "start", "location", "sedation", "status")
    list_filter = ("status", "sedation")
    list_select_related = ("mri_request",)


from .capacity import admin as capacity_admin  # noqa: E402, F401  (registers the capacity admin)
