"""Receiving an inbound HL7 message, for the MLLP listener and the HTTP endpoint alike
(docs/integrations.md, "ACK rules").

One transaction: the message row is inserted first (MSH-10 is unique: a copy sent while the first is
still being handled waits on the index, then gets the first one's ACK), then its effects run in a
savepoint (refused → rolled back, the row says why), then the ACK is written on the row. The ACK is
returned only after that transaction commits; if the commit fails nothing is returned, the caller
sends no ACK and the RIS sends the message again."""

import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from carepath.pathway.errors import DomainError

from . import er7, handlers, results
from .errors import MessageRefused, Rejected
from .models import AckCode, InboundMessage, Outcome

log = logging.getLogger(__name__)

HANDLERS = {
    "SIU^S12": handlers.book,
    "SIU^S13": handlers.rebook,
    "SIU^S15": handlers.cancel,
    "SIU^S26": handlers.no_show,
    "OMI^O23": handlers.order_status,
    "ORM^O01": handlers.order_status,
    "ORU^R01": results.receive,
}
SENDER = ("CAREPATH", "CAREPATH")


def receive(raw: str, *, actor, channel: str) -> str:
    """The ACK for `raw` (ER7), after its effects committed."""
    try:
        msg = er7.parse(raw)
    except er7.ParseError as exc:
        return _unreadable(raw, str(exc), actor=actor, channel=channel)
    again = _ack_of_copy(msg.control_id)
    if again is not None:
        return again
    try:
        with transaction.atomic():
            row = InboundMessage.objects.create(
                control_id=msg.control_id,
                kind=msg.kind,
                sending_application=msg["MSH-3.1"],
                channel=channel,
                raw=raw,
                received_by=actor,
                received_at=timezone.now(),
                outcome=Outcome.REJECTED,
                ack_code=AckCode.AR,
                ack="",
            )
            _handle(msg, row, actor)
    except IntegrityError:
        again = _ack_of_copy(msg.control_id)  # a copy committed first: its ACK, nothing done twice
        if again is None:
            raise
        return again
    return row.ack


def _ack_of_copy(control_id: str) -> str | None:
    rows = InboundMessage.objects.filter(control_id=control_id)
    ack = rows.values_list("ack", flat=True).first()
    if ack is not None:
        rows.update(duplicates=F("duplicates") + 1)
    return ack


def _handle(msg: er7.Message, row: InboundMessage, actor) -> None:
    handler = HANDLERS.get(msg.kind)  # MSH-9.2 empty: "SIU^", which no handler takes
    try:
        if handler is None:
            raise Rejected(f"CarePath does not take {msg.kind} messages.", code="200")
        with transaction.atomic():  # a savepoint: a refused message changes nothing
            done = handler(msg, actor)
    except MessageRefused as exc:
        _finish(row, msg, Outcome.REJECTED if exc.ack_code == "AR" else Outcome.ERROR, exc.ack_code, exc.text, exc.code)
        return
    except DomainError as exc:
        _finish(row, msg, Outcome.ERROR, AckCode.AE, exc.detail, "207")
        return
    row.mri_request, row.transition, row.summary = done.mri, done.transition, er7_summary(done.summary)
    outcome = Outcome.HELD if done.held else Outcome.PROCESSED
    _finish(row, msg, outcome, AckCode.AA, done.note or f"Done: {done.transition or 'recorded'}.", "")


def er7_summary(summary: dict) -> dict:
    return {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in summary.items()}


def _finish(row: InboundMessage, msg, outcome: str, code: str, text: str, error_code: str) -> None:
    row.outcome, row.ack_code = outcome, code
    row.error = text if code != AckCode.AA else ""
    row.ack = build_ack(msg, code=code, text=text, error_code=error_code, ack_id=f"CP{row.pk}")
    row.save(update_fields=["outcome", "ack_code", "error", "ack", "mri_request", "transition", "summary"])


def _unreadable(raw: str, reason: str, *, actor, channel: str) -> str:
    """Stored with no control id (it could not be read), answered AR."""
    row = InboundMessage.objects.create(
        control_id=None,
        channel=channel,
        raw=raw[:1_000_000],
        received_by=actor,
        received_at=timezone.now(),
        outcome=Outcome.REJECTED,
        ack_code=AckCode.AR,
        error=reason,
        ack="",
    )
    row.ack = build_ack(None, code=AckCode.AR, text=reason, error_code="102", ack_id=f"CP{row.pk}")
    row.save(update_fields=["ack"])
    return row.ack


def build_ack(msg: er7.Message | None, *, code: str, text: str, error_code: str, ack_id: str) -> str:
    """MSH, MSA (MSA-1 the code, MSA-2 the message's control id, MSA-3 the reason) and, unless AA,
    ERR (ERR-3 the table 0357 code, ERR-4 E, ERR-8 the reason)."""
    get = msg.__getitem__ if msg is not None else (lambda path: "")
    version = get("MSH-12") or "2.5.1"
    e = er7.escape
    segments = [
        [
            "MSH",
            "^~\\&",
            *SENDER,
            e(get("MSH-3")),
            e(get("MSH-4")),
            er7.format_ts(timezone.now()),
            "",
            f"ACK^{e(get('MSH-9.2'))}^ACK" if get("MSH-9.2") else "ACK",
            ack_id,
            get("MSH-11") or "P",
            e(version),
        ],
        ["MSA", code, e(get("MSH-10")), e(text[:80])],
    ]
    if code != AckCode.AA:
        segments.append(["ERR", "", "", f"{error_code}^{e(text[:199])}^HL70357", "E", "", "", "", e(text[:250])])
    return er7.build(segments)
