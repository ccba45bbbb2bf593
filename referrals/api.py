"""Patients, referrals and the pathway definition over REST (docs/design.md §5). Thin: serializers
(`referrals/serializers.py`) are the contract, `referrals/rows.py` builds the hot reads' JSON,
services do the writing, selectors apply the access rules."""

from django.http import Http404
from django.urls import include, path
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from carepath.api.common import (
    IDEMPOTENCY_KEY,
    IF_MATCH,
    AuditedListMixin,
    AuditedRetrieveMixin,
    UTCDateTimeFilter,
    etag,
    link,
    run_transition,
    transition_request_schema,
)
from carepath.api.idempotency import idempotent
from carepath.api.pagination import CompiledPages
from carepath.models import AuditLog, WorkItem, WorkItemStatus
from carepath.pathway import access, audit, identity
from carepath.pathway.priority import Priority
from imaging.machine import MRI_MACHINE

from . import fhir, intake, notes, selectors
from .choices import ReferralState
from .inputs import CaseNoteInput
from .machine import REFERRAL_MACHINE
from .models import Patient, Referral
from .rows import page_rows, referral_detail_json, referral_list_page, view_along
from .serializers import (
    CaseNoteSerializer,
    EventSerializer,
    PatientSerializer,
    ReferralCreateSerializer,
    ReferralDetailSerializer,
    ReferralSerializer,
)

ID = r"[0-9]{1,18}"


# --- patients --------------------------------------------------------------------------------------


class PatientFilter(filters.FilterSet):
    mrn = filters.CharFilter(method="filter_mrn", max_length=64, label="MRN (compared normalised: case, spaces).")

    class Meta:
        model = Patient
        fields = ["mrn"]

    def filter_mrn(self, queryset, name, value):
        return queryset.filter(mrn_key=identity.mrn_key(value))


class PatientViewSet(AuditedListMixin, AuditedRetrieveMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Children registered with the service; visible with any of their referrals you may see."""

    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    lookup_value_regex = ID
    ordering = "-id"

    def get_queryset(self):
        return selectors.patients_visible_to(self.request.user)

    @extend_schema(parameters=[IDEMPOTENCY_KEY], responses={201: PatientSerializer, 200: PatientSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        """201: registered. 200: the child was registered already (same MRN, family name and date of
        birth) and the record is now shared with you. 409: a patient with the same name and birth
        date exists under another MRN (send `confirm_new_patient: true` if this is another child)."""
        given = self.get_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        patient = intake.patient_create(actor=request.user, **given.validated_data)
        shared = patient.shared
        patient = self.get_queryset().get(pk=patient.pk)
        response = Response(self.get_serializer(patient).data, status=200 if shared else 201)
        response["Location"] = link("api-patient-detail", patient.pk)
        return response


# --- referrals -------------------------------------------------------------------------------------


class ReferralFilter(filters.FilterSet):
    state = filters.MultipleChoiceFilter(choices=ReferralState.choices, distinct=False)
    priority = filters.MultipleChoiceFilter(choices=Priority.choices, distinct=False)
    patient = filters.NumberFilter(field_name="patient_id", min_value=1, max_value=2**62)
    overdue = filters.BooleanFilter(method="filter_overdue", label="Has an open step past its due time.")
    assigned_to_me = filters.BooleanFilter(method="filter_assigned_to_me", label="Has an open step claimed by you.")
    submitted_after = UTCDateTimeFilter(field_name="submitted_at", lookup_expr="gte")
    submitted_before = UTCDateTimeFilter(field_name="submitted_at", lookup_expr="lt")
    updated_after = UTCDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    referred_by = filters.ChoiceFilter(
        choices=[("me", "me")],
        method="filter_referred_by",
        label="`me`: only the referrals you sent (as their referrer, or as the EHR client that sent them).",
    )

    class Meta:
        model = Referral
        fields = ["state", "priority", "patient"]

    def filter_overdue(self, queryset, name, value):
        exists = selectors.open_items_due_before(timezone.now())
        return queryset.filter(exists if value else ~exists)

    def filter_referred_by(self, queryset, name, value):
        # a method filter: it reads the user, so it is applied by the ORM, never frozen into a shared plan
        return queryset.filter(selectors.sent_by_q(self.request.user))

    def filter_assigned_to_me(self, queryset, name, value):
        mine = WorkItem.objects.filter(status=WorkItemStatus.OPEN, assigned_to=self.request.user).values("referral_id")
        return queryset.filter(pk__in=mine) if value else queryset.exclude(pk__in=mine)


def _list_ids(user):
    return selectors.referrals_visible_to(user).values("id", "submitted_at")


_LIST_IDS = CompiledPages(Referral, _list_ids)


class ReferralViewSet(AuditedListMixin, viewsets.GenericViewSet):
    """Pathway cases. Transitions go through `POST {id}/transitions/`; nothing is edited directly."""

    filterset_class = ReferralFilter
    lookup_value_regex = ID
    ordering = "-submitted_at"

    def get_queryset(self):
        user = self.request.user
        if self.action != "list":
            return selectors.referrals_visible_to(user)
        # a list pages through ids, compiled with plain filters too (carepath/db/compiled.py,
        # carepath/api/filtering.py); `page_rows` then reads the page's rows
        return _LIST_IDS.queryset(access.plan_key(user), user=user)

    def retrieve(self, request, *args, **kwargs):
        user, pk = request.user, int(kwargs["pk"])
        along = view_along(user)  # the audit row is written by the read's own statement, from its row
        body = self._detail(pk, along=along)
        if along is None:  # it could not: recorded now
            audit.record_view(user, Referral(pk=body["id"], patient_id=body["patient"]["id"]), "api")
        return self._detail_response(body)

    def _detail(self, pk, *, along=None) -> dict:
        body = referral_detail_json(self.request.user, pk, now=timezone.now(), along=along)
        if body is None:
            raise Http404
        return body

    def _detail_response(self, body: dict, status: int = 200) -> Response:
        response = Response(body, status=status)
        response["ETag"] = etag(body["version"])
        return response

    def list(self, request, *args, **kwargs):
        ids = [row["id"] for row in self.paginate_queryset(self.filter_queryset(self.get_queryset()))]
        along = audit.list_along(request.user, Referral, ids, request.META.get("QUERY_STRING", ""))
        page = page_rows(request.user, ids, along=along)  # the audit row is written with the page's read
        return self.get_paginated_response(referral_list_page(page, user=request.user, now=timezone.now()))

    def get_serializer_class(self):
        """The contract and the OpenAPI schema; the JSON itself is built from rows (tests compare them)."""
        return ReferralSerializer if self.action == "list" else ReferralDetailSerializer

    @extend_schema(
        request=ReferralCreateSerializer, parameters=[IDEMPOTENCY_KEY], responses={201: ReferralDetailSerializer}
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        given = ReferralCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        referral = intake.referral_create(actor=request.user, patient_id=data.pop("patient"), **data)
        response = self._detail_response(self._detail(referral.pk), status=201)
        response["Location"] = link("api-referral-detail", referral.pk)
        return response

    @extend_schema(
        request=transition_request_schema(REFERRAL_MACHINE, "ReferralTransitionRequest"),
        parameters=[IF_MATCH, IDEMPOTENCY_KEY],
        responses={200: ReferralDetailSerializer},
    )
    @action(detail=True, methods=["post"], url_path="transitions")
    @idempotent
    def transitions(self, request, pk=None):
        referral = self.get_object()
        run_transition(machine=REFERRAL_MACHINE, obj=referral, request=request)
        return self._detail_response(self._detail(referral.pk))

    @extend_schema(responses={200: EventSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def events(self, request, pk=None):
        referral = self.get_object()
        audit.record_view(request.user, referral, "timeline")
        events = referral.events.select_related("actor").order_by("at", "id")
        return Response(EventSerializer(events, many=True).data)

    @extend_schema(methods=["GET"], responses={200: CaseNoteSerializer(many=True)}, filters=False)
    @extend_schema(
        methods=["POST"], request=CaseNoteInput, parameters=[IDEMPOTENCY_KEY], responses={201: CaseNoteSerializer}
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def notes(self, request, pk=None):
        """The case's clinical notes, oldest first (`GET`), or a new note or amendment (`POST`, 201):
        append-only, so there is no PUT, PATCH or DELETE (405). 403 for a role that may read notes but
        not write them, or amending another author's note; 409 amending a note already amended; 422 an
        `amends` that is not a note of this case. `@username` tells a colleague who may see the case."""
        referral = self.get_object()
        if request.method == "POST":
            return self._note_add(request, referral)
        found = notes.notes_read(request.user, referral, what="api")
        return Response(CaseNoteSerializer(found, many=True).data)

    @idempotent
    def _note_add(self, request, referral):
        given = CaseNoteInput(data=request.data)
        given.is_valid(raise_exception=True)
        note = notes.note_add(
            referral_id=referral.pk,
            actor=request.user,
            text=given.validated_data["text"],
            amends_id=given.validated_data["amends"],
        )
        return Response(CaseNoteSerializer(note).data, status=201)

    @extend_schema(responses={(200, "application/fhir+json"): OpenApiTypes.OBJECT}, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def fhir(self, request, pk=None):
        referral = selectors.referral_detail(request.user, self.get_object().pk)
        audit.record(request.user, AuditLog.Action.EXPORT, referral, {"format": "fhir-r4b-bundle"})
        bundle = fhir.referral_bundle(referral, contacts=access.can_see_family_contacts(request.user))
        return Response(bundle, content_type="application/fhir+json")


# --- the pathway definition ------------------------------------------------------------------------
class PathwayView(APIView):
    """Both state machines as data (states, transitions, roles, required data), from the one definition."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response({"referral": REFERRAL_MACHINE.describe(), "mri_request": MRI_MACHINE.describe()})


router = SimpleRouter()
router.register("referrals", ReferralViewSet, basename="api-referral")
router.register("patients", PatientViewSet, basename="api-patient")

urlpatterns = [
    path("", include("referrals.attachments.api")),
    path("", include(router.urls)),
    path("pathway/", PathwayView.as_view(), name="api-pathway"),
    path("", include("referrals.mdt.api")),  # MDT meetings, treatments and follow-up visits
]
