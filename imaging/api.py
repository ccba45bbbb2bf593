"""MRI requests and neuroradiology reports over REST (docs/design.md §5)."""

from django.db.models import Prefetch
from django.http import Http404
from django.urls import include, path
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from carepath.api.common import (
    IDEMPOTENCY_KEY,
    IF_MATCH,
    AuditedListMixin,
    AuditedRetrieveMixin,
    ReadModelSerializer,
    StatefulSerializer,
    UTCDateTimeFilter,
    link,
    run_transition,
    transition_request_schema,
)
from carepath.api.idempotency import idempotent
from carepath.models import WorkItem, WorkItemStatus
from carepath.pathway.priority import Priority

from . import drafts, reports, selectors
from .capacity.hold_api import HoldActions
from .capacity.slots_api import SlotActions
from .choices import MRIState, ReportCategory
from .machine import MRI_MACHINE
from .models import Appointment, MRIRequest, NeuroradiologyReport, ReportAddendum, ReportDraft

ID = r"[0-9]{1,18}"


class AppointmentSerializer(ReadModelSerializer):
    class Meta:
        model = Appointment
        fields = [
            "id",
            "start",
            "end",
            "location",
            "sedation",
            "sedation_default",
            "sedation_override_reason",
            "guardian",
            "solids_until",
            "milk_until",
            "clear_fluids_until",
            "status",
            "scan_outcome",
            "status_reason",
            "booked_by",
            "booked_at",
        ]
        read_only_fields = fields


MRI_LINKS = {
    "type": "object",
    "properties": {name: {"type": "string"} for name in ("self", "referral", "transitions")}
    | {"report": {"type": "string", "nullable": True}},
}


class MRIRequestSerializer(StatefulSerializer):
    machine = MRI_MACHINE
    reference = serializers.CharField(source="__str__", read_only=True)
    appointment = AppointmentSerializer(read_only=True, allow_null=True)
    report = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = MRIRequest
        fields = [
            "id",
            "reference",
            "state",
            "version",
            "priority",
            "referral",
            "clinical_question",
            "suspected_lesion",
            "red_flag",
            "requested_by",
            "requested_at",
            "protocol",
            "contrast",
            "duration_minutes",
            "protocoled_by",
            "protocoled_at",
            "appointment",
            "accession_number",
            "performed_at",
            "early_scan_reason",
            "cancel_reason",
            "updated_at",
            "report",
            "allowed_transitions",
            "deadlines",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_report(self, mri) -> int | None:
        report = getattr(mri, "report", None)
        return report.pk if report else None

    @extend_schema_field(MRI_LINKS)
    def get_links(self, mri) -> dict:
        report = getattr(mri, "report", None)
        return {
            "self": link("api-mri-request-detail", mri.pk),
            "referral": link("api-referral-detail", mri.referral_id),
            "transitions": link("api-mri-request-transitions", mri.pk),
            "report": link("api-report-detail", report.pk) if report else None,
        }


class MRIRequestFilter(filters.FilterSet):
    state = filters.MultipleChoiceFilter(choices=MRIState.choices, distinct=False)
    priority = filters.MultipleChoiceFilter(choices=[(p, p) for p in Priority.values], distinct=False)
    referral = filters.NumberFilter(field_name="referral_id", min_value=1, max_value=2**62)
    patient = filters.NumberFilter(field_name="referral__patient_id", min_value=1, max_value=2**62)
    overdue = filters.BooleanFilter(method="filter_overdue", label="Has an open step past its due time.")
    assigned_to_me = filters.BooleanFilter(method="filter_assigned_to_me", label="Has an open step claimed by you.")
    requested_after = UTCDateTimeFilter(field_name="requested_at", lookup_expr="gte")
    requested_before = UTCDateTimeFilter(field_name="requested_at", lookup_expr="lt")

    class Meta:
        model = MRIRequest
        fields = ["state", "priority", "referral", "patient"]

    def filter_overdue(self, queryset, name, value):
        late = WorkItem.objects.filter(status=WorkItemStatus.OPEN, due_at__lt=timezone.now()).values("mri_request_id")
        return queryset.filter(pk__in=late) if value else queryset.exclude(pk__in=late)

    def filter_assigned_to_me(self, queryset, name, value):
        mine = WorkItem.objects.filter(status=WorkItemStatus.OPEN, assigned_to=self.request.user).values(
            "mri_request_id"
        )
        return queryset.filter(pk__in=mine) if value else queryset.exclude(pk__in=mine)


class ReportDraftSerializer(ReadModelSerializer):
    class Meta:
        model = ReportDraft
        fields = ["mri_request", "author", "data", "updated_at"]
        read_only_fields = fields


class ReportDraftInput(serializers.Serializer):
    data = serializers.DictField(help_text="The report as far as written, in sign_report's shape; not checked.")


class MRIRequestViewSet(HoldActions, SlotActions, AuditedListMixin, AuditedRetrieveMixin, viewsets.GenericViewSet):
    """MRI requests of the cases you may see; changed only through `POST {id}/transitions/` (and
    slots held through `{id}/hold/`); free slots found through `{id}/slots/`."""

    serializer_class = MRIRequestSerializer
    filterset_class = MRIRequestFilter
    lookup_value_regex = ID
    ordering = "-requested_at"

    def get_queryset(self):
        visible = selectors.mri_requests_visible_to(self.request.user)
        if self.action == "slots":  # the finder reads the request and its child, not its work items
            return visible
        items = WorkItem.objects.filter(status=WorkItemStatus.OPEN).order_by("due_at", "id")
        return visible.prefetch_related(Prefetch("work_items", queryset=items, to_attr="open_work_items"))

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(
        request=transition_request_schema(MRI_MACHINE, "MRIRequestTransitionRequest"),
        parameters=[IF_MATCH, IDEMPOTENCY_KEY],
        responses={200: MRIRequestSerializer},
    )
    @action(detail=True, methods=["post"], url_path="transitions")
    @idempotent
    def transitions(self, request, pk=None):
        mri = self.get_object()
        run_transition(machine=MRI_MACHINE, obj=mri, request=request)
        return self.object_response(self.get_queryset().get(pk=mri.pk))

    @extend_schema(methods=["GET"], request=None, responses={200: ReportDraftSerializer})
    @extend_schema(methods=["PUT"], request=ReportDraftInput, responses={200: ReportDraftSerializer})
    @action(detail=True, methods=["get", "put"], url_path="report-draft")
    def report_draft(self, request, pk=None):
        """Your own unsigned draft of this study's report (404 when you have none): saved and resumed
        by the neuroradiologist who writes it, never shown to anyone else."""
        mri = self.get_object()
        if request.method == "PUT":
            body = ReportDraftInput(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data["data"]
            draft = drafts.report_draft_save(mri_request_id=mri.pk, actor=request.user, data=data)
        else:
            draft = drafts.report_draft_for(mri_request_id=mri.pk, user=request.user)
            if draft is None:
                raise Http404("You have no draft of this report.")
        return Response(ReportDraftSerializer(draft).data)


class AddendumSerializer(ReadModelSerializer):
    class Meta:
        model = ReportAddendum
        fields = ["id", "text", "author", "at", "changes"]
        read_only_fields = fields


class ReportSerializer(ReadModelSerializer):
    referral = serializers.IntegerField(source="mri_request.referral_id", read_only=True)
    addenda = AddendumSerializer(many=True, read_only=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = NeuroradiologyReport
        fields = [
            "id",
            "mri_request",
            "referral",
            "category",
            "impression",
            "findings",
            "signed_by",
            "signed_at",
            "acknowledged_by",
            "acknowledged_at",
            "addenda",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {"type": "object", "properties": {k: {"type": "string"} for k in ("self", "mri_request", "referral")}}
    )
    def get_links(self, report) -> dict:
        return {
            "self": link("api-report-detail", report.pk),
            "mri_request": link("api-mri-request-detail", report.mri_request_id),
            "referral": link("api-referral-detail", report.mri_request.referral_id),
        }


class ReportFilter(filters.FilterSet):
    category = filters.MultipleChoiceFilter(choices=ReportCategory.choices, distinct=False)
    acknowledged = filters.BooleanFilter(field_name="acknowledged_at", lookup_expr="isnull", exclude=True)
    signed_after = UTCDateTimeFilter(field_name="signed_at", lookup_expr="gte")
    signed_before = UTCDateTimeFilter(field_name="signed_at", lookup_expr="lt")

    class Meta:
        model = NeuroradiologyReport
        fields = ["category"]


class ReportViewSet(AuditedListMixin, AuditedRetrieveMixin, viewsets.GenericViewSet):
    """Signed neuroradiology reports (structured findings, impression, category, addenda)."""

    serializer_class = ReportSerializer
    filterset_class = ReportFilter
    lookup_value_regex = ID
    ordering = "-signed_at"

    def get_queryset(self):
        return selectors.reports_visible_to(self.request.user).prefetch_related("addenda")

    @extend_schema(request=None, parameters=[IDEMPOTENCY_KEY], responses={200: ReportSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def acknowledge(self, request, pk=None):
        """Acknowledge a critical or urgent result (neurology): the same service as the case page's
        button and reading the result's alert; acknowledging again changes nothing."""
        report = self.get_object()
        reports.report_acknowledge(report_id=report.pk, actor=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=report.pk)).data)


router = SimpleRouter()
router.register("mri-requests", MRIRequestViewSet, basename="api-mri-request")
router.register("reports", ReportViewSet, basename="api-report")
urlpatterns = [path("", include(router.urls))]
