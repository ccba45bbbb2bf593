"""What each inbound message does: one of imaging's transitions, entered through
`carepath.pathway.workflow.perform` as the RIS's integration user, so the machine's roles, guards,
audit and timeline apply as for a person (docs/integrations.md, "HL7 v2", the mapping tables)."""

from dataclasses import dataclass, field

from carepath.pathway import workflow
from imaging.choices import MRIState
from imaging.machine import MRI_MACHINE
from imaging.models import MRIRequest

from . import er7, orders
from .errors import Rejected


@dataclass
class Handled:
    mri: MRIRequest | None = None
    transition: str = ""  # "" when the message is recorded but moves nothing
    held: bool = False  # a result waiting for a neuroradiologist (integrations/hl7/results.py)
    note: str = ""
    summary: dict = field(default_factory=dict)


def run(mri: MRIRequest, name: str, actor, data: dict) -> None:
    """The RIS books and records what it did: a step a coordinator claimed is taken over."""
    workflow.perform(MRI_MACHINE, mri.pk, name, actor, data, take_over=True)


def when(msg: er7.Message, *paths: str, required: str = "") -> object:
    for path in paths:
        try:
            value = er7.parse_ts(msg[path])
        except er7.ParseError as exc:
            raise Rejected(f"{path}: {exc}", code="102") from None
        if value is not None:
            return value
    if required:
        raise Rejected(f"{required} is required.", code="101")
    return None


def _booking(msg: er7.Message) -> dict:
    """Start and scanner of an SIU booking: AIS-4 (or AIL-6, AIG-8, SCH-11.4); the resource AIL-3.1
    or AIG-3.1, mapped to a scanner by its RIS code; a typed location only where no code matches."""
    start = when(msg, "AIS-4", "AIL-6", "AIG-8", "SCH-11.4", required="The start (AIS-4)")
    code = msg["AIL-3.1"] or msg["AIG-3.1"]
    return _where(start, code, msg["AIL-3.9"] or msg["AIG-3.2"] or code)


def _where(start, code: str, description: str) -> dict:
    scanner = orders.scanner_for(code)
    data = {"scheduled_start": start}
    if scanner is not None:
        data["scanner"] = scanner
    elif description:
        data["location"] = description
    return data


def _reason(msg: er7.Message, default: str) -> str:
    return (msg["SCH-6.2"] or msg["SCH-6.1"] or default)[:4000]


def book(msg: er7.Message, actor) -> Handled:
    mri = orders.find(msg)
    data = _booking(msg)
    run(mri, "schedule", actor, data)
    return Handled(mri, "schedule", summary=data)


def rebook(msg: er7.Message, actor) -> Handled:
    mri = orders.find(msg)
    data = _booking(msg) | {"reason": _reason(msg, "Rescheduled in the RIS.")}
    if "scanner" not in data and "location" not in data:
        data.pop("location", None)
    run(mri, "reschedule", actor, data)
    return Handled(mri, "reschedule", summary=data)


def cancel(msg: er7.Message, actor) -> Handled:
    mri = orders.find(msg)
    data = {"reason": _reason(msg, "Cancelled in the RIS.")}
    run(mri, "cancel", actor, data)
    return Handled(mri, "cancel", summary=data)


def no_show(msg: er7.Message, actor) -> Handled:
    mri = orders.find(msg)
    run(mri, "record_was_not_brought", actor, {})
    return Handled(mri, "record_was_not_brought")


# --- ORM^O01 / OMI^O23: the order's status (ORC-5, else OBR-25) ----------------------------------
SCHEDULED, PERFORMED, CANCELLED = frozenset({"SC", "S"}), frozenset({"CM"}), frozenset({"CA", "DC", "X"})


def order_status(msg: er7.Message, actor) -> Handled:
    status = (msg["ORC-5"] or msg["OBR-25"]).strip().upper()
    if not status:
        raise Rejected("The order status (ORC-5 or OBR-25) is required.", code="101")
    mri = orders.find(msg)
    if status in SCHEDULED:
        return _scheduled(msg, mri, actor)
    if status in PERFORMED:
        return _performed(msg, mri, actor)
    if status in CANCELLED:
        data = {"reason": (msg["ORC-16.2"] or "Cancelled in the RIS.")[:4000]}
        run(mri, "cancel", actor, data)
        return Handled(mri, "cancel", summary=data | {"status": status})
    return Handled(mri, "", note=f"Status {status} recorded; it moves nothing.", summary={"status": status})


def _scheduled(msg: er7.Message, mri: MRIRequest, actor) -> Handled:
    """OMI^O23 scheduled: the start in TQ1-7 (ORC-7.4 or OBR-27.4 in v2.3 ORM), the scanner in IPC-9."""
    start = when(msg, "TQ1-7", "ORC-7.4", "OBR-27.4", required="The scheduled start (TQ1-7)")
    data = _where(start, msg["IPC-9.1"], msg["IPC-9.2"] or msg["IPC-9.1"])
    if mri.state == MRIState.SCHEDULED:
        if mri.appointment and mri.appointment.start == start:
            return Handled(mri, "", note="Already booked at this time.", summary=data)
        data["reason"] = "Rescheduled in the RIS."
        run(mri, "reschedule", actor, data)
        return Handled(mri, "reschedule", summary=data)
    run(mri, "schedule", actor, data)
    return Handled(mri, "schedule", summary=data)


def _performed(msg: er7.Message, mri: MRIRequest, actor) -> Handled:
    """Completed: the scan's time is OBR-7 (else OBR-8, ORC-9, MSH-7); the accession number IPC-1
    (else OBR-18, else the filler order number)."""
    performed_at = when(msg, "OBR-7", "OBR-8", "ORC-9", "MSH-7", required="The scan's time (OBR-7)")
    accession = msg["IPC-1.1"] or msg["OBR-18.1"] or orders.numbers(msg)[1]
    data = {"accession_number": accession, "performed_at": performed_at}
    run(mri, "mark_performed", actor, data)
    return Handled(mri, "mark_performed", summary=data)
