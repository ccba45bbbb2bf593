"""ORU^R01: a result from the RIS (docs/integrations.md, "Results").

OBR-25 P (preliminary) → a report draft; F (final) → the report signed; C (correction) → an
addendum. Text OBX (OBX-2 TX, FT or ST) become the report's text (its impression). The structured
findings and the category come only as coded OBX whose OBX-3 is a report field's dotted name in the
CAREPATH coding system (`findings.nvc.status^^CAREPATH`, `category^^CAREPATH`). A final result with
text only is not signed by the RIS: it waits, as a draft of the neuroradiologist who protocoled the
scan, for them to confirm the findings and sign (outcome "held"; docs/decisions.md)."""

from imaging import drafts
from imaging.choices import MRIState
from imaging.models import MRIRequest

from . import er7, orders
from .errors import MessageRefused, Rejected
from .handlers import Handled, run

TEXT_TYPES = frozenset({"TX", "FT", "ST"})
CODING_SYSTEM = "CAREPATH"
BOOLEANS = {"Y": True, "YES": True, "TRUE": True, "1": True, "N": False, "NO": False, "FALSE": False, "0": False}
# what a final result must carry for the RIS's word to be the signed report
COMPLETE = ("category", "findings.nvc.status", "findings.lesion.present")


def read(msg: er7.Message) -> tuple[str, dict]:
    """(the report's text, its structured fields by dotted name)."""
    lines, fields = [], {}
    for obx in msg.all("OBX"):
        if obx.get(3, 3) == CODING_SYSTEM:
            fields[obx.get(3, 1)] = obx.get(5, 1) or obx.get(5)
        elif obx.get(2) in TEXT_TYPES:
            lines.append(obx.get(5))
    return "\n".join(lines).strip(), fields


def _nested(fields: dict) -> dict:
    nested: dict = {}
    for dotted, value in fields.items():
        *path, last = dotted.split(".")
        target = nested
        for part in path:
            target = target.setdefault(part, {})
        target[last] = BOOLEANS.get(value.upper(), value) if last in _BOOLEAN_FIELDS else value
    return nested


_BOOLEAN_FIELDS = frozenset({"present", "multiple", "arachnoid_cyst", "adhesions", "hydrocephalus"})


def receive(msg: er7.Message, actor) -> Handled:
    status = msg["OBR-25"].strip().upper()
    if status not in ("P", "F", "C"):
        raise Rejected(f"OBR-25 must be P, F or C in a result, not {status or 'empty'}.", code="103")
    text, fields = read(msg)
    if not text:
        raise Rejected("The result has no text OBX (OBX-2 TX, FT or ST).", code="101")
    mri = orders.find(msg)
    summary = {"status": status, "text_characters": len(text), "structured": sorted(fields)}
    if status == "C" and mri.state == MRIState.REPORTED:
        data = {"addendum": f"Corrected in the RIS: {text}"[:4000], "impression": text[:4000]}
        data |= {"category": fields["category"]} if "category" in fields else {}
        run(mri, "amend_report", actor, data)
        return Handled(mri, "amend_report", summary=summary)
    if status == "F" and all(name in fields for name in COMPLETE):
        report = _nested(fields)
        data = {"findings": report.get("findings", {}), "impression": text[:4000], "category": report["category"]}
        run(mri, "sign_report", actor, data)
        return Handled(mri, "sign_report", summary=summary)
    return _hold(mri, status, text, fields, summary)


def _hold(mri: MRIRequest, status: str, text: str, fields: dict, summary: dict) -> Handled:
    """Preliminary, or final with text only (or a correction before signing): the draft of the
    neuroradiologist who protocoled the scan, on their reading page, for them to confirm and sign."""
    reader = mri.protocoled_by
    if mri.state != MRIState.PERFORMED or reader is None:
        raise MessageRefused(f"A result can be held only for a performed scan; this one is {mri.state}.")
    data = _nested(fields) | {"impression": text}
    drafts.report_draft_save(mri_request_id=mri.pk, actor=reader, data=data)
    name = reader.get_full_name() or reader.get_username()
    note = f"Held as a draft for {name} to confirm the structured findings and sign."
    return Handled(mri, "", held=status != "P", note=note, summary=summary | {"draft_for": reader.pk})
