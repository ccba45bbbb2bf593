"""The case's timeline in words: what each event is called, the states it moved between, and what
an amended report said before and after (docs/ui.md). Read by the case page (referrals/views.py)
and the printed case summary (referrals/printing.py).
"""

from carepath.models import CaseEvent
from carepath.pathway.errors import TransitionNotAllowed
from carepath.pathway.roles import Role
from imaging.choices import ReportCategory
from imaging.machine import MRI_MACHINE
from imaging.models import summarise_findings

from .machine import REFERRAL_MACHINE


def event_label(event: CaseEvent) -> str:
    special = _HANDOVER_LABELS.get(event.kind)
    if special is not None:
        return special(event.data)
    if event.kind == CaseEvent.Kind.TAKE_OVER:  # both names: who holds the step now, and who held it
        data = event.data
        return f"{data.get('to')} took over “{data.get('step')}” from {data.get('from')}"
    step = event.data.get("step") if event.kind in (CaseEvent.Kind.REMINDER, CaseEvent.Kind.ESCALATION) else None
    if step:  # a step's reminder or escalation, or the case clock's: say which ("Escalation: Triage the referral")
        return f"{event.get_kind_display()}: {step}"
    if event.transition == "attachment":  # a file added to the case (referrals/attachments/services.py)
        return attachment_label(event)
    if event.transition == "alert":  # a critical/urgent result's alert (carepath/notify/effects.py), not a transition
        return f"Alert: {event.data['step']}" if event.data.get("step") else "Alert"
    if event.data.get("label"):  # a record beside the machine (an MDT decision, a treatment) says its own words
        return event.data["label"]
    if not event.transition:
        return "Referral received" if event.kind == CaseEvent.Kind.CREATED else event.get_kind_display()
    machine = MRI_MACHINE if event.machine == "mri" else REFERRAL_MACHINE
    try:
        return machine.get(event.transition).label
    except TransitionNotAllowed:  # a transition since renamed: show its code
        return event.transition


def attachment_label(event: CaseEvent) -> str:
    data = event.data
    who = "The family sent" if data.get("by") == "family" else "Added"
    what = {"video": "a video", "photo": "a photo", "pdf": "a PDF"}.get(data.get("kind"), "a file")
    return f"{who} {what}" + (f": {data['title']}" if data.get("title") else "")


def event_states(event: CaseEvent) -> str:
    """ "Imaging → Results review": the states' labels, not their codes."""
    if not event.from_state:
        return ""
    states = (MRI_MACHINE if event.machine == "mri" else REFERRAL_MACHINE).states
    labels = [states(s).label if s in states.values else s for s in (event.from_state, event.to_state)]
    return " → ".join(labels)


def event_detail(event: CaseEvent) -> str:
    """An amended report on the timeline says what it said before and after; a note shows its text;
    a reassigned, snoozed or reopened step its reason (docs/ui.md)."""
    if event.kind == CaseEvent.Kind.CLINICAL_NOTE:
        return event.data.get("text", "")
    if event.kind in _HANDOVER_LABELS or event.transition == "reopen":
        return _short(event.data.get("reason", ""))
    if event.transition != "amend_report":
        return ""
    parts = [_short(event.data.get("addendum", ""))]
    changes = event.data.get("changes") or {}
    if "category" in changes:
        before, after = (_category_label(changes["category"][k]) for k in ("before", "after"))
        parts.append(f"category before: {before}, now: {after}")
    if "findings" in changes:
        before, after = (summarise_findings(changes["findings"][k]) for k in ("before", "after"))
        parts.append(f"findings before: {before}; now: {after}")
    if "impression" in changes:
        parts.append(
            f"impression before: “{_short(changes['impression']['before'])}”, "
            f"now: “{_short(changes['impression']['after'])}”"
        )
    return " · ".join(p for p in parts if p)


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _category_label(code: str) -> str:
    return ReportCategory(code).label if code in ReportCategory.values else code


def _note_label(data: dict) -> str:
    role = Role(data["role"]).label if data.get("role") in Role.values else ""
    what = "Note amended" if data.get("amends") else "Note"
    return f"{what} ({role.lower()})" if role else what


# events that are neither transitions nor timers: who did what to which step
_HANDOVER_LABELS = {
    CaseEvent.Kind.CLINICAL_NOTE: _note_label,
    CaseEvent.Kind.REASSIGNED: lambda d: (
        f"“{d.get('step')}” given to {d.get('to')} (was {d.get('from') or 'the queue'})"
    ),
    CaseEvent.Kind.SNOOZED: lambda d: f"“{d.get('step')}” snoozed until {d.get('until_local', d.get('until'))}",
}
