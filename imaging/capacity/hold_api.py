"""`$hold` over REST (docs/capacity.md, "Booking"; docs/api.md): hold a slot for an MRI request and
give it back. Booking itself stays the `schedule` / `reschedule` transition, with `hold`."""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from carepath.api.common import IDEMPOTENCY_KEY, ReadModelSerializer
from carepath.api.idempotency import idempotent
from carepath.pathway.text import Input
from imaging.choices import Sedation

from . import booking
from .models import Reservation


class HoldInput(Input):
    scanner = serializers.IntegerField(min_value=1)
    scheduled_start = serializers.DateTimeField()
    sedation = serializers.ChoiceField(
        choices=Sedation.choices,
        required=False,
        help_text="Default: the current booking's plan when rescheduling, else the child's default on that day.",
    )


class ReservationSerializer(ReadModelSerializer):
    location = serializers.CharField(source="scanner.__str__", read_only=True)

    class Meta:
        model = Reservation
        fields = [
            "id",
            "kind",
            "mri_request",
            "scanner",
            "location",
            "anaesthesia_list",
            "sedation",
            "start",
            "end",
            "busy_until",
            "expires_at",
            "released_at",
            "release_reason",
        ]
        read_only_fields = fields


CONFLICT = OpenApiResponse(description="The time is taken: problem+json naming what is in the way (`conflicts`).")
BOOKED = OpenApiResponse(description="The hold has become a booking: reschedule or cancel the appointment instead.")


class HoldActions:
    """Mixed into the MRI request resource (`get_object` finds a request you may see, else 404)."""

    @extend_schema(
        request=HoldInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: ReservationSerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="hold")
    @idempotent
    def hold(self, request, pk=None):
        """Hold a slot for this request for `CAREPATH_SLOT_HOLD_MINUTES` (it replaces the request's
        earlier hold); book it with the schedule or reschedule transition and `hold`."""
        mri = self.get_object()
        body = HoldInput(data=request.data)
        body.is_valid(raise_exception=True)
        row = booking.hold(mri_request_id=mri.pk, actor=request.user, **body.validated_data)
        return Response(ReservationSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ReservationSerializer, 409: BOOKED})
    @action(detail=True, methods=["delete"], url_path=r"hold/(?P<hold_id>[0-9]{1,18})")
    def release_hold(self, request, pk=None, hold_id=None):
        """Give the held slot back now (a hold already released, lapsed or booked is returned as it is)."""
        mri = self.get_object()
        if not Reservation.objects.filter(pk=hold_id, mri_request=mri).exists():
            raise Http404("This request has no hold with this id.")
        row = booking.release_hold(reservation_id=int(hold_id), actor=request.user, mri_request_id=mri.pk)
        return Response(ReservationSerializer(row).data)
