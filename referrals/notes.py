"""Clinical notes on a case (docs/design.md §3, "Notes"): append-only, amended by a new note, shown
on the timeline, @mentions notify a colleague who may see the case.

Who reads: whoever may see the case (carepath/pathway/access.py). Who writes: whoever may see it and
works on the pathway as a person (`NOTE_ROLES`): API clients, the system and administrators read only.
Every write is audited in its transaction; every read by the caller (`notes_read`).
"""

import re

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from carepath.models import AuditLog, CaseEvent, Machine, case_reference
from carepath.notify.notifications import notify
from carepath.pathway import access, audit
from carepath.pathway.errors import Forbidden, TransitionNotAllowed, Unprocessable
from carepath.pathway.ownership import display_name
from carepath.pathway.roles import Role, user_roles

from .models import CaseNote, Referral

# In this order: a user with two roles writes as the first (the role recorded on the note).
NOTE_ROLES = (Role.NEUROLOGIST, Role.PEDIATRICIAN, Role.NEURORADIOLOGIST, Role.IMAGING_COORDINATOR, Role.NEUROSURGEON)
# "@username": not inside an e-mail address (a word character before the @), Django's username characters
MENTION = re.compile(r"(?<![\w@])@([\w.@+-]+)")
EXCERPT = 200


def writer_role(user) -> str | None:
    roles = user_roles(user)
    return next((r for r in NOTE_ROLES if r in roles), None)


def mentioned_names(text: str) -> list[str]:
    """The usernames named with @ in `text`, in order, once each (a sentence's full stop is not part of one)."""
    names = (m.rstrip(".") for m in MENTION.findall(text))
    return list(dict.fromkeys(n for n in names if n))


def may_see(user, referral_id: int) -> bool:
    return Referral.objects.filter(access.referral_q(user), pk=referral_id).exists()


def resolve_mentions(names: list[str], *, referral_id: int, author) -> list:
    """The named, active colleagues who may see the case and work on it as people (never the author):
    nobody learns of a case they may not open."""
    users = get_user_model().objects.filter(username__in=names, is_active=True).exclude(pk=author.pk)
    return [u for u in users.order_by("username") if writer_role(u) and may_see(u, referral_id)]


def note_add(*, referral_id: int, actor, text: str, amends_id: int | None = None) -> CaseNote:
    """Append a note (or an amendment of `amends_id`) to the case; 403 for a role that may not
    write, 422 for a note of another case, 403 amending someone else's note, 409 amending a note
    already amended (amend the latest)."""
    role = writer_role(actor)
    if role is None:
        raise Forbidden("Your role may read this case's notes but not write them.")
    try:
        with transaction.atomic():
            referral = Referral.objects.select_related("patient").filter(access.referral_q(actor)).get(pk=referral_id)
            amends = _amended(referral_id, amends_id, actor)
            mentions = resolve_mentions(mentioned_names(text), referral_id=referral_id, author=actor)
            now = timezone.now()
            note = CaseNote.objects.create(
                referral=referral,
                author=actor,
                author_role=role,
                written_at=now,
                text=text,
                amends=amends,
                mentioned=[u.get_username() for u in mentions],
            )
            _record(note, referral, actor, now)
            _tell(mentions, note, referral, actor)
    except Referral.DoesNotExist:
        raise Forbidden("You may not see this case.") from None
    except IntegrityError:  # two amendments of one note at once: the second loses (unique `amends`)
        raise _already_amended() from None
    return note


def _amended(referral_id: int, amends_id: int | None, actor) -> CaseNote | None:
    if amends_id is None:
        return None
    original = CaseNote.objects.select_for_update().filter(pk=amends_id, referral_id=referral_id).first()
    if original is None:
        raise Unprocessable({"amends": "There is no such note on this case."})
    if original.author_id != actor.pk:
        raise Forbidden("Only the author of a note may amend it: write a note of your own instead.")
    if CaseNote.objects.filter(amends=original).exists():
        raise _already_amended()
    return original


def _already_amended() -> TransitionNotAllowed:
    return TransitionNotAllowed("This note has already been amended: amend its latest version.")


def _record(note: CaseNote, referral: Referral, actor, now) -> None:
    data = {"note": note.pk, "text": note.text, "role": note.author_role, "amends": note.amends_id}
    CaseEvent.objects.create(
        referral=referral, machine=Machine.REFERRAL, kind=CaseEvent.Kind.CLINICAL_NOTE, actor=actor, at=now, data=data
    )
    audit.record(actor, AuditLog.Action.CREATE, note, {**data, "mentioned": note.mentioned})


def _tell(users: list, note: CaseNote, referral: Referral, actor) -> None:
    """One notification per colleague named, in the note's transaction; the e-mail says only who
    and where (no clinical free text in e-mail: docs/security.md)."""
    if not users:
        return
    reference = case_reference(referral.pk)
    excerpt = note.text if len(note.text) <= EXCERPT else note.text[: EXCERPT - 1] + "…"
    notify(
        users,
        kind="note_mention",
        referral_id=referral.pk,
        subject=f"{display_name(actor)} mentioned you in a note on {reference} ({referral.patient.initials})",
        body=excerpt,
        email_body="Sign in to read the note on the case page.",
        dedupe_prefix=f"note:{note.pk}:mention",
    )


def notes_read(actor, referral: Referral, *, what: str) -> list[CaseNote]:
    """The case's notes, oldest first, each with the note it amends and its amendment; the read is
    audited against the child (one view row naming the notes shown). `referral` is one the caller may see."""
    notes = list(
        CaseNote.objects.filter(referral=referral)
        .select_related("author", "amends", "amendment")
        .order_by("written_at", "id")
    )
    audit.record(actor, AuditLog.Action.VIEW, referral, {"what": f"notes ({what})", "notes": [n.pk for n in notes]})
    return notes
