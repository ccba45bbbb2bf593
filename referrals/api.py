"""Patients, referrals and the pathway definition over REST (DESIGN.md §5). Thin: serializers
shape data, services do the writing, selectors apply the access rules."""

from collections import defaultdict
from zoneinfo import available_timezones

from django.db import connection
from django.db.models import F, OuterRef
from django.http import Http404
from django.urls import include, path, reverse
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from carepath import audit
from carepath.api import rows
from carepath.api.common import (
    IDEMPOTENCY_KEY,
    IF_MATCH,
    AuditedListMixin,
    AuditedRetrieveMixin,
    ReadModelSerializer,
    StatefulSerializer,
    UTCDateTimeFilter,
    etag,
    link,
    run_transition,
    transition_request_schema,
)
from carepath.api.idempotency import idempotent
from carepath.compiled import AnyOf, CompiledValues
from carepath.models import AuditLog, CaseEvent, WorkItem, WorkItemStatus, case_reference
from carepath.roles import user_roles
from imaging.machine import MRI_MACHINE
from imaging.models import MRIRequest

from . import fhir, selectors, services
from .choices import Priority, ReferralState
from .inputs import ReferralDetailsInput
from .machine import REFERRAL_MACHINE
from .models import Assessment, Guardian, NeurosurgeryConsult, Outcome, Patient, Referral

ID = r"[0-9]{1,18}"


# --- patients --------------------------------------------------------------------------------------
class GuardianSerializer(ReadModelSerializer):
    class Meta:
        model = Guardian
        fields = ["id", "name", "relationship", "phone", "email", "has_parental_responsibility", "contact_preference"]
        read_only_fields = ["id"]
        extra_kwargs = {"name": {"max_length": 200}, "phone": {"max_length": 32}}


class PatientSerializer(ReadModelSerializer):
    guardians = GuardianSerializer(many=True, required=False)
    links = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = [
            "id",
            "mrn",
            "given_name",
            "family_name",
            "birth_date",
            "sex",
            "time_zone",
            "guardians",
            "created_at",
            "links",
        ]
        read_only_fields = ["id", "created_at"]
        # uniqueness is the service's job (it answers with a field error); no pre-check query here
        extra_kwargs = {"mrn": {"validators": []}}

    @extend_schema_field(
        {"type": "object", "properties": {"self": {"type": "string"}, "referrals": {"type": "string"}}}
    )
    def get_links(self, patient) -> dict:
        return {
            "self": link("api-patient-detail", patient.pk),
            "referrals": reverse("api-referral-list") + f"?patient={patient.pk}",
        }

    def validate_time_zone(self, value: str) -> str:
        if value and value not in available_timezones():
            raise serializers.ValidationError("Not a known IANA time zone (e.g. Europe/London).")
        return value

    def validate_guardians(self, value):
        if len(value) > 10:
            raise serializers.ValidationError("At most 10 guardians.")
        return value


class PatientFilter(filters.FilterSet):
    mrn = filters.CharFilter(field_name="mrn", max_length=32)

    class Meta:
        model = Patient
        fields = ["mrn"]


class PatientViewSet(AuditedListMixin, AuditedRetrieveMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Children registered with the service; visible with any of their referrals you may see."""

    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    lookup_value_regex = ID
    ordering = "-id"

    def get_queryset(self):
        return selectors.patients_visible_to(self.request.user)

    @extend_schema(parameters=[IDEMPOTENCY_KEY], responses={201: PatientSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        given = self.get_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        patient = services.patient_create(actor=request.user, **given.validated_data)
        patient = self.get_queryset().get(pk=patient.pk)
        response = Response(self.get_serializer(patient).data, status=201)
        response["Location"] = link("api-patient-detail", patient.pk)
        return response


# --- referrals -------------------------------------------------------------------------------------
class PatientSummarySerializer(ReadModelSerializer):
    class Meta:
        model = Patient
        fields = ["id", "mrn", "given_name", "family_name", "birth_date", "sex"]
        read_only_fields = fields


class AssessmentSerializer(ReadModelSerializer):
    class Meta:
        model = Assessment
        fields = [
            "findings",
            "working_diagnosis",
            "brow_lift_sign",
            "severity_scale",
            "severity_score",
            "mri_indicated",
            "assessed_by",
            "assessed_at",
        ]
        read_only_fields = fields


class ConsultSerializer(ReadModelSerializer):
    class Meta:
        model = NeurosurgeryConsult
        fields = [
            "id",
            "question",
            "requested_by",
            "requested_at",
            "recommendation",
            "note",
            "answered_by",
            "answered_at",
        ]
        read_only_fields = fields


class OutcomeSerializer(ReadModelSerializer):
    class Meta:
        model = Outcome
        fields = [
            "diagnosis",
            "plan",
            "follow_up",
            "letter",
            "imaging_waived_reason",
            "concluded_by",
            "concluded_at",
            "acknowledged_by",
            "acknowledged_at",
        ]
        read_only_fields = fields


REFERRAL_LINKS = {
    "type": "object",
    "properties": {name: {"type": "string"} for name in ("self", "patient", "events", "fhir", "transitions")}
    | {"mri_requests": {"type": "array", "items": {"type": "string"}}},
}


class ReferralSerializer(StatefulSerializer):
    machine = REFERRAL_MACHINE
    reference = serializers.CharField(read_only=True)
    patient = PatientSummarySerializer(read_only=True)
    mri_requests = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Referral
        fields = [
            "id",
            "reference",
            "state",
            "version",
            "priority",
            "requested_priority",
            "patient",
            "referred_by",
            "created_by",
            "reason",
            "symptom_onset",
            "side",
            "muscles",
            "spread",
            "frequency",
            "red_flags",
            "clinical_notes",
            "priority_override_reason",
            "return_reason",
            "referrer_response",
            "decline_reason",
            "decline_advice",
            "cancel_reason",
            "was_not_brought_count",
            "loop_closed_unacknowledged",
            "submitted_at",
            "triaged_at",
            "mri_requested_at",
            "neurosurgery_requested_at",
            "concluded_at",
            "closed_at",
            "updated_at",
            "allowed_transitions",
            "deadlines",
            "mri_requests",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "array", "items": {"type": "integer"}})
    def get_mri_requests(self, referral) -> list[int]:
        return [mri.pk for mri in referral.mri_requests.all()]

    @extend_schema_field(REFERRAL_LINKS)
    def get_links(self, referral) -> dict:
        pk = referral.pk
        return {
            "self": link("api-referral-detail", pk),
            "patient": link("api-patient-detail", referral.patient_id),
            "events": link("api-referral-events", pk),
            "fhir": link("api-referral-fhir", pk),
            "transitions": link("api-referral-transitions", pk),
            "mri_requests": [link("api-mri-request-detail", mri.pk) for mri in referral.mri_requests.all()],
        }


# --- the list page, hand-built ---------------------------------------------------------------------
# Same keys and values as ReferralSerializer (it stays the contract and the schema; a test compares the
# two field for field), built from `.values()` rows: DRF cost ~1 ms per object on a page of 50.
_COMPUTED = {"reference", "patient", "allowed_transitions", "deadlines", "mri_requests", "links"}
_LIST_FIELDS = ReferralSerializer.Meta.fields
_REFERRAL_COLUMNS = rows.columns(Referral, [name for name in _LIST_FIELDS if name not in _COMPUTED])
_PATIENT_COLUMNS = rows.columns(Patient, PatientSummarySerializer.Meta.fields)
LIST_VALUES = [name for name, _ in _REFERRAL_COLUMNS] + [f"patient__{name}" for name, _ in _PATIENT_COLUMNS]


class _Case:
    """What the machine's role and relation checks read of a case (see referrals.machine.is_referrer)."""

    __slots__ = ("pk", "state", "referred_by_id", "created_by_id")

    def __init__(self, row: dict):
        self.pk, self.state = row["id"], row["state"]
        self.referred_by_id, self.created_by_id = row["referred_by"], row["created_by"]


def list_values(queryset, *more, **more_expressions):
    """The list's columns; on PostgreSQL with each case's open work items and MRI ids as arrays."""
    if connection.vendor != "postgresql":
        return queryset.values(*LIST_VALUES, *more)
    from django.contrib.postgres.expressions import ArraySubquery

    mris = MRIRequest.objects.filter(referral=OuterRef("pk")).order_by("requested_at").values("id")
    return queryset.values(
        *LIST_VALUES,
        *more,
        open_items=rows.open_deadlines_subquery("referral"),
        mri_ids=ArraySubquery(mris),
        **more_expressions,
    )


_PAGE = CompiledValues(lambda user, ids: list_values(selectors.referrals_visible_to(user).filter(AnyOf(F("pk"), ids))))


def page_rows(user, ids: list[int]) -> list[dict]:
    """The `list_values` rows of these cases, in this order: on PostgreSQL one prepared query, the
    same for every page (`AnyOf`); the access rules apply again."""
    if connection.vendor == "postgresql":
        found = _PAGE.rows(shape=user_roles(user), user=user, ids=ids) if ids else []
    else:
        found = list(list_values(selectors.referrals_visible_to(user).filter(pk__in=ids)))
    by_id = {row["id"]: row for row in found}
    return [by_id[pk] for pk in ids if pk in by_id]


def _page_relations(ids: list[int], now) -> tuple[dict, dict]:
    """Elsewhere (SQLite): two queries for the page's open work items and MRI ids."""
    mri_ids = defaultdict(list)
    for referral_id, mri_id in (
        MRIRequest.objects.filter(referral_id__in=ids).order_by("requested_at").values_list("referral_id", "id")
    ):
        mri_ids[referral_id].append(mri_id)
    return rows.open_deadlines("referral_id", ids, now), mri_ids


def referral_list_page(page: list[dict], *, user, now) -> list[dict]:
    """The JSON of a page of `LIST_VALUES` rows: two queries (open work items, MRI ids) for the page."""
    if page and "open_items" in page[0]:  # PostgreSQL: fetched with the page (list_values)
        deadlines = {row["id"]: rows.deadlines_from_json(row["open_items"], now) for row in page}
        mri_ids = {row["id"]: row["mri_ids"] for row in page}
    else:
        deadlines, mri_ids = _page_relations([row["id"] for row in page], now)
    tz = rows.current_timezone()
    allowed = {}
    out = []
    for row in page:
        pk = row["id"]
        key = (row["state"], row["referred_by"], row["created_by"])
        if key not in allowed:
            allowed[key] = REFERRAL_MACHINE.allowed_for(_Case(row), user)
        mris = mri_ids.get(pk, [])
        computed = {
            "reference": case_reference(pk),
            "patient": rows.convert(row, _PATIENT_COLUMNS, tz, prefix="patient__"),
            "allowed_transitions": list(allowed[key]),
            "deadlines": deadlines.get(pk, []),
            "mri_requests": mris,
            "links": {
                "self": link("api-referral-detail", pk),
                "patient": link("api-patient-detail", row["patient__id"]),
                "events": link("api-referral-events", pk),
                "fhir": link("api-referral-fhir", pk),
                "transitions": link("api-referral-transitions", pk),
                "mri_requests": [link("api-mri-request-detail", mri) for mri in mris],
            },
        }
        plain = rows.convert(row, _REFERRAL_COLUMNS, tz)
        out.append({name: computed[name] if name in computed else plain[name] for name in _LIST_FIELDS})
    return out


class ReferralDetailSerializer(ReferralSerializer):
    assessment = serializers.SerializerMethodField()
    outcome = serializers.SerializerMethodField()
    consults = ConsultSerializer(many=True, read_only=True)

    class Meta(ReferralSerializer.Meta):
        fields = [*ReferralSerializer.Meta.fields, "assessment", "consults", "outcome"]
        read_only_fields = fields

    @extend_schema_field(AssessmentSerializer(allow_null=True))
    def get_assessment(self, referral):
        found = getattr(referral, "assessment", None)
        return AssessmentSerializer(found).data if found else None

    @extend_schema_field(OutcomeSerializer(allow_null=True))
    def get_outcome(self, referral):
        found = getattr(referral, "outcome", None)
        return OutcomeSerializer(found).data if found else None


# --- the detail, hand-built ------------------------------------------------------------------------
# The list's row plus the assessment, outcome and consults, in one query on PostgreSQL, compiled once per
# role set (carepath/compiled.py); same keys and values as ReferralDetailSerializer (tests compare them).
_ASSESSMENT_COLUMNS = rows.columns(Assessment, AssessmentSerializer.Meta.fields)
_OUTCOME_COLUMNS = rows.columns(Outcome, OutcomeSerializer.Meta.fields)
_CONSULT_COLUMNS = rows.columns(NeurosurgeryConsult, ConsultSerializer.Meta.fields)
_ONE_TO_ONE = {"assessment": _ASSESSMENT_COLUMNS, "outcome": _OUTCOME_COLUMNS}
DETAIL_VALUES = [f"{part}__{name}" for part, cols in _ONE_TO_ONE.items() for name, _ in [("id", ""), *cols]]


def _consults(owner):
    return NeurosurgeryConsult.objects.filter(referral=owner).order_by("requested_at", "id")


def detail_values(queryset):
    if connection.vendor != "postgresql":
        return list_values(queryset, *DETAIL_VALUES)
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models.functions import JSONObject

    consults = _consults(OuterRef("pk")).values(json=JSONObject(**{name: name for name, _ in _CONSULT_COLUMNS}))
    return list_values(queryset, *DETAIL_VALUES, consult_rows=ArraySubquery(consults))


_DETAIL = CompiledValues(lambda user, pk: detail_values(selectors.referrals_visible_to(user)).filter(pk=pk))


def referral_detail_json(user, pk: int, *, now) -> dict | None:
    """The case as `ReferralDetailSerializer` writes it, or None if `user` may not see it."""
    found = _DETAIL.rows(shape=user_roles(user), user=user, pk=int(pk))
    if not found:
        return None
    row, tz = found[0], rows.current_timezone()
    out = referral_list_page([row], user=user, now=now)[0]
    out["assessment"] = _one_to_one(row, "assessment", tz)
    if "consult_rows" in row:  # PostgreSQL: fetched with the case
        out["consults"] = rows.json_rows(row["consult_rows"], _CONSULT_COLUMNS, tz)
    else:
        consults = _consults(row["id"]).values(*(name for name, _ in _CONSULT_COLUMNS))
        out["consults"] = [rows.convert(c, _CONSULT_COLUMNS, tz) for c in consults]
    out["outcome"] = _one_to_one(row, "outcome", tz)
    return out


def _one_to_one(row: dict, part: str, tz) -> dict | None:
    if row[f"{part}__id"] is None:
        return None
    return rows.convert(row, _ONE_TO_ONE[part], tz, prefix=f"{part}__")


class ReferralCreateSerializer(ReferralDetailsInput):
    patient = serializers.IntegerField(min_value=1, max_value=2**62)
    referred_by = serializers.IntegerField(
        min_value=1,
        max_value=2**62,
        required=False,
        allow_null=True,
        help_text="The referring pediatrician's user id (for API clients writing on a clinician's behalf).",
    )


class ReferralFilter(filters.FilterSet):
    state = filters.MultipleChoiceFilter(choices=ReferralState.choices, distinct=False)
    priority = filters.MultipleChoiceFilter(choices=Priority.choices, distinct=False)
    patient = filters.NumberFilter(field_name="patient_id", min_value=1, max_value=2**62)
    overdue = filters.BooleanFilter(method="filter_overdue", label="Has an open step past its due time.")
    assigned_to_me = filters.BooleanFilter(method="filter_assigned_to_me", label="Has an open step claimed by you.")
    submitted_after = UTCDateTimeFilter(field_name="submitted_at", lookup_expr="gte")
    submitted_before = UTCDateTimeFilter(field_name="submitted_at", lookup_expr="lt")
    updated_after = UTCDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Referral
        fields = ["state", "priority", "patient"]

    def filter_overdue(self, queryset, name, value):
        exists = selectors.open_items_due_before(timezone.now())
        return queryset.filter(exists if value else ~exists)

    def filter_assigned_to_me(self, queryset, name, value):
        mine = WorkItem.objects.filter(status=WorkItemStatus.OPEN, assigned_to=self.request.user).values("referral_id")
        return queryset.filter(pk__in=mine) if value else queryset.exclude(pk__in=mine)


class EventSerializer(ReadModelSerializer):
    actor = serializers.CharField(source="actor.get_username", read_only=True)

    class Meta:
        model = CaseEvent
        fields = ["id", "at", "actor", "machine", "kind", "transition", "from_state", "to_state", "mri_request", "data"]
        read_only_fields = fields


class ReferralViewSet(AuditedListMixin, viewsets.GenericViewSet):
    """Pathway cases. Transitions go through `POST {id}/transitions/`; nothing is edited directly."""

    filterset_class = ReferralFilter
    lookup_value_regex = ID
    ordering = "-submitted_at"

    def get_queryset(self):
        queryset = selectors.referrals_visible_to(self.request.user)
        # a list pages through ids (cheap to build and compile); `page_rows` then reads the page's rows
        return queryset.values("id", "submitted_at") if self.action == "list" else queryset

    def retrieve(self, request, *args, **kwargs):
        body = self._detail(kwargs["pk"])
        audit.record_view(request.user, Referral(pk=body["id"], patient_id=body["patient"]["id"]), "api")
        return self._detail_response(body)

    def _detail(self, pk) -> dict:
        body = referral_detail_json(self.request.user, pk, now=timezone.now())
        if body is None:
            raise Http404
        return body

    def _detail_response(self, body: dict, status: int = 200) -> Response:
        response = Response(body, status=status)
        response["ETag"] = etag(body["version"])
        return response

    def list(self, request, *args, **kwargs):
        ids = [row["id"] for row in self.paginate_queryset(self.filter_queryset(self.get_queryset()))]
        audit.record_list(request.user, Referral, ids, request.META.get("QUERY_STRING", ""))
        page = page_rows(request.user, ids)
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
        referral = services.referral_create(actor=request.user, patient_id=data.pop("patient"), **data)
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

    @extend_schema(responses={(200, "application/fhir+json"): OpenApiTypes.OBJECT}, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def fhir(self, request, pk=None):
        referral = selectors.referral_detail(request.user, self.get_object().pk)
        audit.record(request.user, AuditLog.Action.EXPORT, referral, {"format": "fhir-r4b-bundle"})
        return Response(fhir.referral_bundle(referral), content_type="application/fhir+json")


# --- the pathway definition ------------------------------------------------------------------------
class PathwayView(APIView):
    """Both state machines as data (states, transitions, roles, required data), from the one definition."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response({"referral": REFERRAL_MACHINE.describe(), "mri_request": MRI_MACHINE.describe()})


router = SimpleRouter()
router.register("patients", PatientViewSet, basename="api-patient")
router.register("referrals", ReferralViewSet, basename="api-referral")

urlpatterns = [
    path("pathway/", PathwayView.as_view(), name="api-pathway"),
    path("", include(router.urls)),
]
