"""Receiving inbound HL7 messages, for the MLLP listener and the HTTP endpoint alike
(docs/integrations.md, "ACK rules").

Messages are received in batches (the listener groups those that arrive together on its connections;
the HTTP endpoint sends a batch of one) and a batch is one transaction, so it costs one commit:

1. MSH-10s already stored are looked up at once: such a copy gets the first ACK again, changes nothing
   and the row counts it; a second copy inside the batch is answered with the first one's ACK too.
2. In the transaction, each new message's effects run in its own savepoint: a refused message (AE/AR)
   is rolled back whole and changes nothing, and the others of the batch are kept.
3. The batch's rows (raw, what was read, outcome, the ACK) are inserted together (MSH-10 is unique)
   and the transaction commits. Only then are the ACKs returned.

If a copy committed elsewhere meanwhile (another connection or worker), the unique MSH-10 stops the
insert and the whole batch rolls back; each message is then received again on its own, the copy now
found and answered with its first ACK: nothing is done twice. A message whose handling failed
unexpectedly (a bug, a lost database) is rolled back to its savepoint and gets no ACK (its result is
the exception; the sender resends); if the commit fails, no message of the batch gets an ACK."""

import logging
import uuid
from dataclasses import dataclass

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


@dataclass
class Received:
    """One message of a batch: what was read of it, its row (inserted with the batch's), its answer."""

    raw: str
    msg: er7.Message | None = None
    unreadable: str = ""  # why it could not be read (AR 102)
    row: InboundMessage | None = None
    first: "Received | None" = None  # the same MSH-10 earlier in this batch
    failure: Exception | None = None

    @property
    def control_id(self) -> str | None:
        return self.msg.control_id if self.msg is not None else None

    def answer(self, stored: dict) -> str | Exception:
        if self.first is not None:
            return self.first.answer(stored)
        if self.control_id in stored:
            return stored[self.control_id]
        return self.failure if self.failure is not None else self.row.ack


def receive(raw: str, *, actor, channel: str) -> str:
    """The ACK for `raw` (ER7), after its effects committed; raises when it gets none."""
    (answer,) = receive_batch([raw], actor=actor, channel=channel)
    if isinstance(answer, Exception):
        raise answer
    return answer


def receive_batch(raws: list[str], *, actor, channel: str) -> list[str | Exception]:
    """Each message's ACK, in order, after the batch committed; the exception in place of the ACK of a
    message whose handling failed. Raises, with nothing acknowledged, if the batch cannot commit."""
    try:
        return _together(raws, actor, channel)
    except IntegrityError:  # a copy committed meanwhile: each again on its own, the copy now found
        if len(raws) == 1:
            return _together(raws, actor, channel)
        return [_alone(raw, actor, channel) for raw in raws]


def _alone(raw: str, actor, channel: str) -> str | Exception:
    try:
        return receive_batch([raw], actor=actor, channel=channel)[0]
    except Exception as exc:  # no ACK for this one; the others of the batch keep theirs
        log.exception("HL7 message not stored")
        return exc


def _together(raws: list[str], actor, channel: str) -> list[str | Exception]:
    batch = [_read(raw) for raw in raws]
    with transaction.atomic():
        stored = _stored_acks(batch)
        new = _handle_new(batch, stored, actor, channel)
        _store(new)
        _count_copies(batch, stored)
    return [item.answer(stored) for item in batch]


def _read(raw: str) -> Received:
    try:
        return Received(raw, msg=er7.parse(raw))
    except er7.ParseError as exc:
        return Received(raw, unreadable=str(exc))


def _stored_acks(batch: list[Received]) -> dict[str, str]:
    """The ACKs of the batch's MSH-10s already stored: their copies get them again."""
    ids = {item.control_id for item in batch if item.control_id}
    if not ids:
        return {}
    return dict(InboundMessage.objects.filter(control_id__in=ids).order_by().values_list("control_id", "ack"))


def _handle_new(batch: list[Received], stored: dict, actor, channel: str) -> list[Received]:
    """Runs the effects of each message not seen before, each in its own savepoint."""
    firsts: dict[str, Received] = {}
    new = []
    for item in batch:
        if item.control_id in stored:
            continue
        if item.control_id in firsts:
            item.first = firsts[item.control_id]
            continue
        if item.control_id:
            firsts[item.control_id] = item
        item.row = _row(item, actor, channel)
        try:
            _handle(item, actor)
        except Exception as exc:  # a bug or a lost database: rolled back to its savepoint, no ACK
            log.exception("HL7 message %s could not be handled", item.control_id)
            item.failure, item.row = exc, None
            continue
        new.append(item)
    return new


def _row(item: Received, actor, channel: str) -> InboundMessage:
    msg = item.msg
    return InboundMessage(
        control_id=msg.control_id if msg else None,
        kind=msg.kind if msg else "",
        sending_application=msg["MSH-3.1"] if msg else "",
        channel=channel,
        raw=item.raw if msg else item.raw[:1_000_000],
        received_by=actor,
        received_at=timezone.now(),
        outcome=Outcome.REJECTED,
        ack_code=AckCode.AR,
        ack="",
    )


def _handle(item: Received, actor) -> None:
    if item.msg is None:  # stored with no control id (it could not be read), answered AR
        _finish(item, Outcome.REJECTED, AckCode.AR, item.unreadable, "102")
        return
    msg, row = item.msg, item.row
    handler = HANDLERS.get(msg.kind)  # MSH-9.2 empty: "SIU^", which no handler takes
    try:
        if handler is None:
            raise Rejected(f"CarePath does not take {msg.kind} messages.", code="200")
        with transaction.atomic():  # a savepoint: a refused message changes nothing
            done = handler(msg, actor)
    except MessageRefused as exc:
        _finish(item, Outcome.REJECTED if exc.ack_code == "AR" else Outcome.ERROR, exc.ack_code, exc.text, exc.code)
        return
    except DomainError as exc:
        _finish(item, Outcome.ERROR, AckCode.AE, exc.detail, "207")
        return
    row.mri_request, row.transition, row.summary = done.mri, done.transition, er7_summary(done.summary)
    outcome = Outcome.HELD if done.held else Outcome.PROCESSED
    _finish(item, outcome, AckCode.AA, done.note or f"Done: {done.transition or 'recorded'}.", "")


def er7_summary(summary: dict) -> dict:
    return {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in summary.items()}


def _finish(item: Received, outcome: str, code: str, text: str, error_code: str) -> None:
    row = item.row
    row.outcome, row.ack_code = outcome, code
    row.error = text if code != AckCode.AA else ""
    row.ack = build_ack(item.msg, code=code, text=text, error_code=error_code, ack_id=ack_control_id(item.msg))


def ack_control_id(msg: er7.Message | None) -> str:
    """The ACK's own MSH-10: CP and the message's (unique, so a resent copy's ACK is the same one);
    for a message that could not be read, CP and a random number. Known before the row is inserted,
    so the row is inserted once, with its ACK."""
    return "CP" + (msg.control_id if msg is not None else uuid.uuid4().hex)[:197]


def _store(new: list[Received]) -> None:
    """The new rows, each with its ACK, in one insert (MSH-10 unique: a copy committed meanwhile stops it)."""
    InboundMessage.objects.bulk_create([item.row for item in new])


def _count_copies(batch: list[Received], stored: dict) -> None:
    copies: dict[str, int] = {}
    for item in batch:
        if item.control_id in stored or item.first is not None:
            copies[item.control_id] = copies.get(item.control_id, 0) + 1
    for control_id, count in copies.items():
        InboundMessage.objects.filter(control_id=control_id).update(duplicates=F("duplicates") + count)


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
            e(ack_id),
            get("MSH-11") or "P",
            e(version),
        ],
        ["MSA", code, e(get("MSH-10")), e(text[:80])],
    ]
    if code != AckCode.AA:
        segments.append(["ERR", "", "", f"{error_code}^{e(text[:199])}^HL70357", "E", "", "", "", e(text[:250])])
    return er7.build(segments)
