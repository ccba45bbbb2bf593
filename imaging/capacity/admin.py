"""Admin for MRI capacity: sites, scanners with their weekly sessions and closures, anaesthesia lists,
slot rules (editable, audited) and reservations (read-only, scoped to visible cases)."""

from django.contrib import admin

from carepath.admin_base import AuditedAdmin, CaseScopedAdmin

from .models import AnaesthesiaList, Closure, Reservation, Scanner, ScannerSession, Site, SlotRule


class ScannerSessionInline(admin.TabularInline):
    model = ScannerSession
    extra = 0


class ClosureInline(admin.TabularInline):
    model = Closure
    fk_name = "scanner"
    extra = 0


@admin.register(Site)
class SiteAdmin(AuditedAdmin):
    list_display = ("name", "time_zone")


@admin.register(Scanner)
class ScannerAdmin(AuditedAdmin):
    list_display = ("name", "site", "field_strength", "takes_sedation", "takes_general_anaesthesia", "active")
    list_filter = ("site", "field_strength", "takes_general_anaesthesia", "active")
    inlines = [ScannerSessionInline, ClosureInline]
    readonly_fields = ("calendar_token",)


@admin.register(AnaesthesiaList)
class AnaesthesiaListAdmin(AuditedAdmin):
    list_display = ("name", "site", "weekday", "start_time", "end_time", "valid_from", "valid_until", "active")
    list_filter = ("site", "weekday", "active")


@admin.register(Closure)
class ClosureAdmin(AuditedAdmin):
    list_display = ("__str__", "site", "scanner", "anaesthesia_list", "start", "end")
    list_filter = ("site",)


@admin.register(SlotRule)
class SlotRuleAdmin(AuditedAdmin):
    list_display = ("sedation", "protocol", "minutes", "turnaround_minutes")


@admin.register(Reservation)
class ReservationAdmin(CaseScopedAdmin):
    case_prefix = "mri_request__referral__"
    list_display = ("scanner", "start", "end", "kind", "sedation", "mri_request", "released_at", "override_reason")
    list_filter = ("kind", "scanner")
    list_select_related = ("scanner__site", "mri_request")
