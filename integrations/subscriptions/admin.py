"""Admin for FHIR subscriptions: read-only (an EHR client creates and deletes its own through the
FHIR API); an admin sees their status, errors and event counts. Imported from IntegrationsConfig.ready()."""

from django.contrib import admin

from carepath.admin_base import ReadOnlyAdmin
from integrations.subscriptions.models import FhirSubscription


@admin.register(FhirSubscription)
class FhirSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "topic", "endpoint", "status", "events_since_start", "heartbeat_period", "error")
    list_filter = ("status", "topic")
    exclude = ("headers",)  # they may carry the client's credentials
    audit_reads = False  # no child's record here
