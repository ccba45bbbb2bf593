"""The integrations' API routes, included under /api/v1/ by the root URLs."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from .fhir_in.views import ServiceRequestCreate, ServiceRequestRead
from .hl7.views import HL7MessageView
from .subscriptions.views import SubscriptionCreate, SubscriptionDetail, SubscriptionStatusView
from .webhooks.api import WebhookEndpointViewSet

router = SimpleRouter()
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="api-webhook-endpoint")

urlpatterns = [
    path("fhir/ServiceRequest", ServiceRequestCreate.as_view(), name="api-fhir-servicerequest"),
    path("fhir/ServiceRequest/<str:resource_id>", ServiceRequestRead.as_view(), name="api-fhir-servicerequest-read"),
    path("hl7/", HL7MessageView.as_view(), name="hl7-message"),
    path("fhir/Subscription", SubscriptionCreate.as_view(), name="api-fhir-subscription"),
    path("fhir/Subscription/<str:pk>", SubscriptionDetail.as_view(), name="api-fhir-subscription-read"),
    path("fhir/Subscription/<str:pk>/$status", SubscriptionStatusView.as_view(), name="api-fhir-subscription-status"),
    path("", include(router.urls)),
]
