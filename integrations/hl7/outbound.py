"""The order to the RIS (ORM^O01 new order) when an MRI is requested: a row written by a receiver of
`imaging.signals.mri_requested` in the transaction that requested it, then delivered over MLLP to
HL7_RIS_HOST:HL7_RIS_PORT by a Celery task after commit, and again by the sweep (`hl7_outbound_due`,
every minute) with back-off until the RIS answers AA, or HL7_OUTBOUND_MAX_ATTEMPTS is reached
(docs/integrations.md, "Orders to the RIS")."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from imaging.models import MRIRequest

from . import er7, mllp
from .models import OutboundMessage
from .orders import placer_number

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)  # a claimed row is tried again after this if its sender died


def order_message(mri: MRIRequest, control_id: str) -> str:
    """ORM^O01, ORC-1 NW: our placer number, the priority, the clinical question, the child."""
    patient = mri.referral.patient
    e = er7.escape
    priority = {"asap": "S", "urgent": "A"}.get(mri.priority, "R")
    requested = er7.format_ts(mri.requested_at)
    return er7.build(
        [
            [
                "MSH",
                "^~\\&",
                "CAREPATH",
                "CAREPATH",
                "RIS",
                "HOSP",
                er7.format_ts(timezone.now()),
                "",
                "ORM^O01^ORM_O01",
                control_id,
                "P",
                "2.5.1",
            ],
            [
                "PID",
                "1",
                "",
                f"{e(patient.mrn)}^^^CAREPATH^MR",
                "",
                f"{e(patient.family_name)}^{e(patient.given_name)}",
                "",
                patient.birth_date.strftime("%Y%m%d"),
                e(patient.sex[:1].upper()),
            ],
            [
                "ORC",
                "NW",
                f"{placer_number(mri.pk)}^CAREPATH",
                "",
                "",
                "",
                "",
                f"^^^{requested}^^{priority}",
                "",
                requested,
            ],
            [
                "OBR",
                "1",
                f"{placer_number(mri.pk)}^CAREPATH",
                "",
                "MRBRAIN^MRI brain^L",
                priority,
                requested,
                "",
                "",
                "",
                "",
                "",
                "",  # OBR-12; OBR-13: the clinical question
                e(mri.clinical_question[:2000]),
            ],
        ]
    )


def write_order(mri_request: MRIRequest) -> OutboundMessage:
    """The order row, in the caller's transaction (the one that requested the MRI)."""
    now = timezone.now()
    control_id = f"CP-ORM-{mri_request.pk}"
    return OutboundMessage.objects.create(
        control_id=control_id,
        mri_request=mri_request,
        raw=order_message(mri_request, control_id),
        next_attempt_at=now,
        created_at=now,
    )


def _claim(row_id: int) -> OutboundMessage | None:
    """Compare-and-set: only one sender tries a row at a time (a claim lapses after LEASE)."""
    now = timezone.now()
    claimed = OutboundMessage.objects.filter(
        pk=row_id, status=OutboundMessage.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + LEASE)
    return OutboundMessage.objects.get(pk=row_id) if claimed else None


def deliver(row_id: int) -> str:
    """Send one order if due; returns its status afterwards. Never raises for the RIS's failures."""
    row = _claim(row_id)
    if row is None or not settings.HL7_RIS_HOST:
        return "skipped"
    try:
        client = mllp.Client(settings.HL7_RIS_HOST, settings.HL7_RIS_PORT, timeout=10)
        try:
            ack = client.send(row.raw)
        finally:
            client.close()
        code = er7.parse(ack)["MSA-1"]
        error = "" if code in ("AA", "CA") else f"the RIS answered {code}: {er7.parse(ack)['MSA-3']}"
    except (OSError, er7.ParseError) as exc:
        ack, error = "", f"not delivered: {exc}"
    return _record(row, ack=ack, error=error)


def _record(row: OutboundMessage, *, ack: str, error: str) -> str:
    now = timezone.now()
    row.attempts += 1
    row.ack = ack
    row.last_error = error
    if not error:
        row.status, row.sent_at = OutboundMessage.Status.SENT, now
    elif row.attempts >= settings.HL7_OUTBOUND_MAX_ATTEMPTS:
        row.status = OutboundMessage.Status.FAILED
        log.error("HL7 order %s to the RIS failed %s times: %s", row.control_id, row.attempts, error)
    else:
        backoff = settings.HL7_OUTBOUND_BACKOFF_SECONDS * 2 ** (row.attempts - 1)
        row.next_attempt_at = now + timedelta(seconds=backoff)
    row.save(update_fields=["attempts", "ack", "last_error", "status", "sent_at", "next_attempt_at"])
    return row.status


def due_ids(limit: int = 100) -> list[int]:
    """Pending orders whose time has come (index hl7_outbound_due)."""
    due = OutboundMessage.objects.filter(status=OutboundMessage.Status.PENDING, next_attempt_at__lte=timezone.now())
    return list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
