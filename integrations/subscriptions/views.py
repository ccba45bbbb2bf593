"""`/api/v1/fhir/Subscription`: an EHR client creates, reads and deletes its topic-based
Subscriptions and asks their `$status` (docs/integrations.md, "FHIR Subscriptions"). Errors are
OperationOutcomes, as on the inbound FHIR endpoint."""

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from carepath.models import AuditLog
from carepath.pathway import audit
from integrations.fhir_in.views import FHIR_JSON, OUTCOME, FhirView
from integrations.outbox import tasks
from integrations.subscriptions import fanout, resource, topics
from integrations.subscriptions.models import FhirSubscription

SCHEMA = dict(tags=["fhir"], extensions={"x-errors-as": "OperationOutcome"})
RESOURCE = OpenApiResponse(OpenApiTypes.OBJECT, description="The Subscription (R4, Backport IG profile).")


def _own(request, pk: str) -> FhirSubscription:
    """A subscription of the caller's; another client's (or an id that is no number) is 404, as if it
    did not exist: an OperationOutcome like every answer here."""
    number = int(pk) if pk.isascii() and pk.isdigit() and len(pk) < 19 else None
    subscription = FhirSubscription.objects.filter(pk=number, owner=request.user).first() if number else None
    if subscription is None:
        raise Http404
    return subscription


class SubscriptionCreate(FhirView):
    @extend_schema(
        operation_id="fhir_subscription_create",
        summary="Subscribe to a topic (referral or MRI request status): rest-hook, id-only",
        request={FHIR_JSON: OpenApiTypes.OBJECT, "application/json": OpenApiTypes.OBJECT},
        responses={
            (201, FHIR_JSON): RESOURCE,
            (400, FHIR_JSON): OUTCOME,
            (403, FHIR_JSON): OUTCOME,
            (422, FHIR_JSON): OUTCOME,
        },
        **SCHEMA,
    )
    def post(self, request):
        fields = resource.read(request.data)
        with transaction.atomic():
            subscription = FhirSubscription.objects.create(owner=request.user, created_at=timezone.now(), **fields)
            row = fanout.handshake(subscription)
            audit.record(request.user, AuditLog.Action.CREATE, subscription, {"topic": subscription.topic})
            transaction.on_commit(lambda: tasks.deliver.delay([row.pk]))
        response = Response(resource.resource(subscription), status=201, content_type=FHIR_JSON)
        response["Location"] = topics.subscription_url(subscription)
        return response


class SubscriptionDetail(FhirView):
    @extend_schema(
        operation_id="fhir_subscription_read",
        responses={(200, FHIR_JSON): RESOURCE, (404, FHIR_JSON): OUTCOME},
        **SCHEMA,
    )
    def get(self, request, pk: str):
        return Response(resource.resource(_own(request, pk)), content_type=FHIR_JSON)

    @extend_schema(operation_id="fhir_subscription_delete", responses={204: None, (404, FHIR_JSON): OUTCOME}, **SCHEMA)
    def delete(self, request, pk: str):
        subscription = _own(request, pk)
        audit.record(request.user, AuditLog.Action.UPDATE, subscription, {"deleted": True})
        subscription.delete()  # its unsent notifications go with it
        return Response(status=204)


class SubscriptionStatusView(FhirView):
    @extend_schema(
        operation_id="fhir_subscription_status",
        summary="$status: the SubscriptionStatus with events-since-subscription-start (to detect gaps)",
        responses={
            (200, FHIR_JSON): OpenApiResponse(OpenApiTypes.OBJECT, description="searchset Bundle"),
            (404, FHIR_JSON): OUTCOME,
        },
        **SCHEMA | {"extensions": {**SCHEMA["extensions"], "x-fhir-operation": "$status"}},
    )
    def get(self, request, pk: str):
        subscription = _own(request, pk)
        subscription.events_since_start = fanout.events_since_start(subscription)  # those waiting for their number too
        return Response(topics.status_bundle(subscription), content_type=FHIR_JSON)
