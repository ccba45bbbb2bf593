"""The case page's notes (docs/ui.md, "Notes"): the list, the form to write one and to amend your own.
A refused note keeps what was typed and says why beside the box (referrals/notes.py says the rules)."""

from dataclasses import dataclass, field

from carepath.pathway.errors import DomainError, Forbidden
from carepath.web.formfields import int_or_none

from . import notes
from .inputs import CaseNoteInput


@dataclass
class NoteFailure:
    """A note refused: what was typed, which note it amended, why, and the page's status."""

    text: str
    amends: int | None
    errors: list[str] = field(default_factory=list)
    status: int = 400


def post(request, referral) -> NoteFailure | None:
    """Write the posted note; None when written, else what to show again. A role that may not write
    (no form is shown to it) gets the 403 page (Forbidden)."""
    given = CaseNoteInput(
        data={"text": request.POST.get("text", ""), "amends": int_or_none(request.POST.get("amends"))}
    )
    typed = request.POST.get("text", "")
    amends = int_or_none(request.POST.get("amends"))
    if not given.is_valid():
        messages = [str(m) for msgs in given.errors.values() for m in msgs]
        return NoteFailure(typed, amends, messages, 400)
    try:
        notes.note_add(referral_id=referral.pk, actor=request.user, text=given.validated_data["text"], amends_id=amends)
    except Forbidden:
        raise
    except DomainError as refused:
        return NoteFailure(typed, amends, [refused.detail], refused.status)
    return None


def context(user, referral, failed: NoteFailure | None = None) -> dict:
    found = notes.notes_read(user, referral, what="case page")
    return {
        "notes": found,
        "may_write_notes": notes.writer_role(user) is not None,
        "note_failed": failed,
    }
