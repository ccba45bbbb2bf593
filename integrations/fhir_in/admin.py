"""Referrals the EHR sent as FHIR ServiceRequests, by their placer identifier: an integrator asking
"did our order 123 arrive, and which case is it?" finds it here. Read-only and audited (a row leads
to a child's referral)."""

from django.contrib import admin

from carepath.admin_base import ReadOnlyAdmin

from .models import PlacerOrder


@admin.register(PlacerOrder)
class PlacerOrderAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "system", "value", "referral", "client"]
    list_filter = ["client", "received_at"]
    search_fields = ["value", "system"]
    date_hierarchy = "received_at"
    list_select_related = ["referral", "client"]
