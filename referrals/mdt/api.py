"""MDT meetings and follow-up over REST (docs/api.md, "Resources"). Thin: the
services (referrals/mdt/services.py, referrals/followup/services.py) write and refuse; the case
rows shown are those the caller may see (carepath/pathway/access.py), and every read is audited."""

from django.http import Http404
from django.urls import include, path, re_path
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from carepath.api.common import ReadModelSerializer
from carepath.pathway import access, audit
from carepath.pathway.errors import Forbidden
from carepath.pathway.text import TEXT, Input
from imaging.capacity.models import Site

from ..followup import services as followup
from ..followup.models import FollowUpVisit, Treatment, TreatmentKind
from ..models import Referral
from . import services
from .models import DecisionOutcome, MDTCase, MDTDecision, MDTMeeting

ID = r"[0-9]{1,18}"
BIG = 2**62


class DecisionSerializer(ReadModelSerializer):
    class Meta:
        model = MDTDecision
        fields = ["id", "outcome", "other_text", "rationale", "signed_by", "signed_at", "corrects", "transition"]


class MDTCaseSerializer(ReadModelSerializer):
    decisions = DecisionSerializer(many=True, read_only=True)
    decision = serializers.SerializerMethodField(help_text="The decision in force (none corrects it), or null.")

    class Meta:
        model = MDTCase
        fields = ["id", "meeting", "referral", "question", "added_by", "added_at", "decision", "decisions"]

    def get_decision(self, entry) -> int | None:
        corrected = {d.corrects_id for d in entry.decisions.all()}
        live = [d.pk for d in entry.decisions.all() if d.pk not in corrected]
        return live[-1] if live else None


class MeetingSerializer(ReadModelSerializer):
    cases = serializers.SerializerMethodField(help_text="The list's cases you may see, with their decisions.")
    hidden_cases = serializers.SerializerMethodField(help_text="How many other cases are on the list.")

    class Meta:
        model = MDTMeeting
        fields = ["id", "starts_at", "site", "attendees", "created_by", "created_at", "cases", "hidden_cases"]

    def _visible(self, meeting):
        user = self.context["request"].user
        return [e for e in meeting.cases.all() if e.referral_id in self.context["visible_ids"](user)]

    def get_cases(self, meeting) -> list[dict]:
        return MDTCaseSerializer(self._visible(meeting), many=True).data

    def get_hidden_cases(self, meeting) -> int:
        return len(meeting.cases.all()) - len(self._visible(meeting))


class MeetingInput(Input):
    starts_at = serializers.DateTimeField()
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all())
    attendees = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIG), min_length=1, max_length=50
    )


class AddCaseInput(Input):
    referral = serializers.IntegerField(min_value=1, max_value=BIG)
    question = serializers.CharField(max_length=TEXT)


class DecisionInput(Input):
    outcome = serializers.ChoiceField(choices=DecisionOutcome.choices)
    other_text = serializers.CharField(max_length=TEXT, required=False, allow_blank=True, default="")
    rationale = serializers.CharField(max_length=TEXT, required=False, allow_blank=True, default="")
    corrects = serializers.IntegerField(min_value=1, max_value=BIG, required=False, allow_null=True, default=None)


def _visible_ids(user):
    cache = {}

    def ids(u):
        if "ids" not in cache:
            cache["ids"] = set(Referral.objects.filter(access.referral_q(u)).values_list("pk", flat=True))
        return cache["ids"]

    return ids


def _require_viewer(user) -> None:
    if not services.may_view(user):
        raise Forbidden("MDT meetings are for neurology, neurosurgery, neuroradiology and administrators.")


def _visible_case(user, referral_id: int) -> Referral:
    referral = Referral.objects.filter(access.referral_q(user), pk=referral_id).first()
    if referral is None:
        raise Http404("No such case")
    return referral


class MDTMeetingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """MDT meetings: their list of cases (those you may see) and the signed decisions."""

    serializer_class = MeetingSerializer
    lookup_value_regex = ID
    ordering = "-starts_at"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        _require_viewer(request.user)

    def get_queryset(self):
        return MDTMeeting.objects.prefetch_related("attendees", "cases__decisions").order_by("-starts_at", "-id")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "visible_ids": _visible_ids(self.request.user)}

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        rows = self.get_serializer(page, many=True).data
        shown = [c["referral"] for row in rows for c in row["cases"]]
        audit.record_list(request.user, Referral, shown, "api: MDT meetings")
        return self.get_paginated_response(rows)

    def retrieve(self, request, *args, **kwargs):
        meeting = self.get_object()
        body = self.get_serializer(meeting).data
        audit.record_list(request.user, Referral, [c["referral"] for c in body["cases"]], f"api: MDT {meeting.pk}")
        return Response(body)

    @extend_schema(request=MeetingInput, responses={201: MeetingSerializer})
    def create(self, request):
        data = _valid(MeetingInput, request)
        meeting = services.meeting_create(
            actor=request.user, starts_at=data["starts_at"], site_id=data["site"].pk, attendee_ids=data["attendees"]
        )
        return Response(self.get_serializer(meeting).data, status=201)

    @extend_schema(request=AddCaseInput, responses={201: MDTCaseSerializer})
    @action(detail=True, methods=["post"], url_path="cases")
    def add_case(self, request, pk=None):
        meeting = self.get_object()
        data = _valid(AddCaseInput, request)
        referral = _visible_case(request.user, data["referral"])
        entry = services.meeting_add_case(
            meeting_id=meeting.pk, referral_id=referral.pk, actor=request.user, question=data["question"]
        )
        return Response(MDTCaseSerializer(entry).data, status=201)


class DecisionView(APIView):
    """Sign the decision for a case on a meeting's list (or a correction: `corrects`)."""

    @extend_schema(request=DecisionInput, responses={201: DecisionSerializer})
    def post(self, request, pk: int):
        _require_viewer(request.user)
        entry = MDTCase.objects.filter(pk=pk).first()
        if entry is None:
            raise Http404("No such case on an MDT list")
        _visible_case(request.user, entry.referral_id)
        data = _valid(DecisionInput, request)
        decision = services.decision_sign(
            mdt_case_id=entry.pk,
            actor=request.user,
            outcome=data["outcome"],
            other_text=data["other_text"],
            rationale=data["rationale"],
            corrects_id=data["corrects"],
        )
        return Response(DecisionSerializer(decision).data, status=201)


# --- follow-up -----------------------------------------------------------------------------------
class VisitSerializer(ReadModelSerializer):
    class Meta:
        model = FollowUpVisit
        fields = ["id", "label", "amount", "unit", "planned_on", "state", "work_item", "recorded_by", "recorded_at"]


class TreatmentSerializer(ReadModelSerializer):
    visits = VisitSerializer(many=True, read_only=True)

    class Meta:
        model = Treatment
        fields = ["id", "referral", "kind", "treated_on", "site", "note", "recorded_by", "recorded_at", "visits"]


class TreatmentInput(Input):
    kind = serializers.ChoiceField(choices=TreatmentKind.choices)
    treated_on = serializers.DateField()
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all(), required=False, allow_null=True)
    note = serializers.CharField(max_length=TEXT, required=False, allow_blank=True, default="")


class VisitInput(Input):
    attended = serializers.BooleanField()
    note = serializers.CharField(max_length=TEXT, required=False, allow_blank=True, default="")


class TreatmentsView(APIView):
    """A case's treatments with their follow-up visits; POST records a treatment and plans its visits."""

    @extend_schema(responses={200: TreatmentSerializer(many=True)})
    def get(self, request, pk: int):
        referral = _visible_case(request.user, pk)
        audit.record_view(request.user, referral, "api: treatments and follow-up")
        rows = referral.treatments.prefetch_related("visits")
        return Response(TreatmentSerializer(rows, many=True).data)

    @extend_schema(request=TreatmentInput, responses={201: TreatmentSerializer})
    def post(self, request, pk: int):
        referral = _visible_case(request.user, pk)
        data = _valid(TreatmentInput, request)
        treatment = followup.treatment_record(
            referral_id=referral.pk,
            actor=request.user,
            kind=data["kind"],
            treated_on=data["treated_on"],
            site_id=data["site"].pk if data.get("site") else None,
            note=data["note"],
        )
        return Response(TreatmentSerializer(treatment).data, status=201)


class VisitRecordView(APIView):
    """Record a follow-up visit as attended, or not attended (a review opens for neurology)."""

    @extend_schema(request=VisitInput, responses={200: VisitSerializer})
    def post(self, request, pk: int):
        visit = FollowUpVisit.objects.select_related("treatment").filter(pk=pk).first()
        if visit is None:
            raise Http404("No such follow-up visit")
        _visible_case(request.user, visit.treatment.referral_id)
        data = _valid(VisitInput, request)
        visit = followup.visit_record(visit_id=visit.pk, actor=request.user, **data)
        return Response(VisitSerializer(visit).data)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


router = SimpleRouter()
router.register("mdt-meetings", MDTMeetingViewSet, basename="api-mdt-meeting")

urlpatterns = [
    path("", include(router.urls)),
    re_path(rf"^mdt-cases/(?P<pk>{ID})/decisions/$", DecisionView.as_view(), name="api-mdt-decisions"),
    re_path(rf"^referrals/(?P<pk>{ID})/treatments/$", TreatmentsView.as_view(), name="api-referral-treatments"),
    re_path(rf"^follow-up-visits/(?P<pk>{ID})/record/$", VisitRecordView.as_view(), name="api-follow-up-visit-record"),
]
