"""`$find` over REST (docs/capacity.md, "What a slot must satisfy"; docs/api.md): the earliest free
slots for an MRI request, from the finder. Reading them is reading the child's record: audited."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from carepath.api.common import UTCDateTimeField
from carepath.pathway import audit
from imaging.choices import Sedation

from . import finder


class _UTCDateTime(serializers.DateTimeField):
    """ISO 8601, read as the filters read it (an offset PostgreSQL refuses is a 400, not a 500)."""

    def to_internal_value(self, value):
        try:
            parsed = UTCDateTimeField().clean(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        if parsed is None:
            self.fail("invalid", format="YYYY-MM-DDThh:mm[:ss][+HH:MM|Z]")
        return parsed


# `from` is a Python keyword: the query's fields are declared by name
SlotQuery = type(
    "SlotQuery",
    (serializers.Serializer,),
    {
        "from": _UTCDateTime(required=False, help_text="Earliest start (default: now)."),
        "to": _UTCDateTime(required=False, help_text="Latest start (default and at most: the booking horizon)."),
        "limit": serializers.IntegerField(required=False, min_value=1, max_value=finder.MAX_LIMIT),
        "sedation": serializers.ChoiceField(choices=Sedation.choices, required=False),
        "scanner": serializers.IntegerField(required=False, min_value=1, max_value=2**62),
    },
)


def _check_order(query: dict) -> None:
    if query.get("from") and query.get("to") and query["to"] <= query["from"]:
        raise serializers.ValidationError({"to": ["Must be after `from`."]})


class SlotSerializer(serializers.Serializer):
    scanner = serializers.IntegerField(source="scanner_id", help_text="Book with this id as `scanner`.")
    scanner_name = serializers.CharField()
    site = serializers.IntegerField(source="site_id")
    location = serializers.SerializerMethodField(help_text="The appointment's location once booked.")
    start = serializers.DateTimeField(help_text="Book with this as `scheduled_start`.")
    end = serializers.DateTimeField(help_text="The scan's end.")
    busy_until = serializers.DateTimeField(help_text="The end plus turnaround: the scanner is free again then.")
    sedation = serializers.ChoiceField(choices=Sedation.choices)
    anaesthesia_list = serializers.IntegerField(source="anaesthesia_list_id", allow_null=True)
    anaesthesia_list_name = serializers.CharField(allow_null=True)
    breaches_due = serializers.BooleanField(help_text="The scan ends after the request's due time.")

    def get_location(self, slot) -> str:
        return f"{slot.site_name} — {slot.scanner_name}"


class SlotsSerializer(serializers.Serializer):
    mri_request = serializers.IntegerField()
    due = serializers.DateTimeField(allow_null=True, help_text="When the scan is due (the perform-MRI service level).")
    slots = SlotSerializer(many=True)


def _param(name: str, kind, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, required=False, description=description)


PARAMETERS = [
    _param("from", OpenApiTypes.DATETIME, "Earliest start, ISO 8601 (default: now)."),
    _param("to", OpenApiTypes.DATETIME, "Latest start (default and at most: the booking horizon)."),
    _param("limit", OpenApiTypes.INT, f"How many slots (1–{finder.MAX_LIMIT}, default {finder.DEFAULT_LIMIT})."),
    OpenApiParameter(
        "sedation",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        required=False,
        enum=list(Sedation.values),
        description="Slots for this sedation plan (default: the child's default on each day).",
    ),
    _param("scanner", OpenApiTypes.INT, "Only this scanner."),
]


class SlotActions:
    """Mixed into the MRI request resource (`get_object` finds a request you may see, else 404)."""

    @extend_schema(parameters=PARAMETERS, responses={200: SlotsSerializer})
    @action(detail=True, methods=["get"], url_path="slots", filter_backends=[], pagination_class=None)
    def slots(self, request, pk=None):
        """The earliest free slots for this request (FHIR `$find`), earliest first: each satisfies the
        protocol's duration, the sedation plan (general anaesthesia inside an anaesthesia list), the
        child's other bookings and the scanners' sessions; `breaches_due` marks one ending after the
        due time. Book one with the schedule or reschedule transition (`scanner`, `scheduled_start`)."""
        mri = self.get_object()
        query = SlotQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        _check_order(params)
        audit.record_view(request.user, mri, "slots")
        found = finder.find_slots(
            mri,
            sedation=params.get("sedation"),
            start=params.get("from"),
            end=params.get("to"),
            limit=params.get("limit", finder.DEFAULT_LIMIT),
            scanner=params.get("scanner"),
        )
        body = {"mri_request": mri.pk, "due": finder.scan_due_at(mri), "slots": found}
        return Response(SlotsSerializer(body).data)
