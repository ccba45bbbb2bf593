"""MDT meetings' writes (docs/design.md, "MDT meetings"): plan a meeting, put a case on its list
with a question, sign a decision. A decision opens the next steps as work items; where the case's
machine has a transition for it (surgery from results review: `refer_neurosurgery`) it goes through
the transition engine (`workflow.perform`) instead. A correction is a new signed decision: the
still-open side steps of the one it corrects are cancelled, a transition already run stays.
"""

from django.contrib.auth import get_user_model
from django.utils import timezone

from carepath.db import writes
from carepath.models import AuditLog, Machine, WorkItemKind, WorkItemStatus
from carepath.pathway import audit, workflow, workitems
from carepath.pathway.errors import Forbidden, InvalidData, TransitionNotAllowed
from carepath.pathway.roles import Role, has_role, user_roles

from .. import side_events
from ..machine import REFERRAL_MACHINE
from ..models import Referral
from .models import DecisionOutcome, MDTCase, MDTDecision, MDTMeeting

PLANNERS = (Role.NEUROLOGIST, Role.ADMIN)  # create a meeting
LISTERS = (Role.NEUROLOGIST,)  # put a case on a list (neurology asks the question)
SIGNERS = (Role.NEUROLOGIST, Role.NEUROSURGEON)  # a clinician attending the meeting signs
VIEWERS = frozenset({Role.NEUROLOGIST, Role.NEUROSURGEON, Role.NEURORADIOLOGIST, Role.ADMIN})
CLINICIANS = (Role.NEUROLOGIST, Role.NEUROSURGEON, Role.NEURORADIOLOGIST, Role.PEDIATRICIAN)
SURGERY = (DecisionOutcome.MVD_SURGERY, DecisionOutcome.LESION_SURGERY)
# outcome → the side step it opens for neurology (surgery is decided in `_surgery_step`)
NEXT_STEP = {
    DecisionOutcome.REPEAT_MRI: WorkItemKind.MDT_REPEAT_MRI,
    DecisionOutcome.BOTULINUM_TOXIN: WorkItemKind.MDT_TREATMENT,
    DecisionOutcome.WATCHFUL_WAITING: WorkItemKind.MDT_ACTION,
    DecisionOutcome.OTHER: WorkItemKind.MDT_ACTION,
}


def may_view(user) -> bool:
    return bool(user_roles(user) & VIEWERS)


def may_sign(user, meeting: MDTMeeting) -> bool:
    return has_role(user, *SIGNERS) and meeting.attendees.filter(pk=user.pk).exists()


def _require(user, roles, what: str) -> None:
    if not has_role(user, *roles):
        names = " or ".join(Role(r).label.lower() for r in roles)
        raise Forbidden(f"Only {names} may {what}.")


@writes.atomic
def meeting_create(*, actor, starts_at, site_id: int, attendee_ids: list[int]) -> MDTMeeting:
    _require(actor, PLANNERS, "plan an MDT meeting")
    users = list(get_user_model().objects.filter(pk__in=set(attendee_ids), is_active=True))
    if not users or len(users) != len(set(attendee_ids)):
        raise InvalidData({"attendees": "Name the attendees: active users of CarePath."})
    if not any(user_roles(u) & set(CLINICIANS) for u in users):
        raise InvalidData({"attendees": "At least one attendee must be a clinician."})
    meeting = MDTMeeting.objects.create(
        starts_at=starts_at, site_id=site_id, created_by=actor, created_at=timezone.now()
    )
    meeting.attendees.set(users)
    audit.record(actor, AuditLog.Action.CREATE, meeting, {"starts_at": starts_at, "attendees": sorted(attendee_ids)})
    return meeting


@writes.atomic
def meeting_add_case(*, meeting_id: int, referral_id: int, actor, question: str) -> MDTCase:
    _require(actor, LISTERS, "put a case on an MDT list")
    meeting = MDTMeeting.objects.select_for_update().get(pk=meeting_id)
    referral = Referral.objects.get(pk=referral_id)
    if not question.strip():
        raise InvalidData({"question": "Say what neurology asks the meeting."})
    if not referral.is_open:
        raise TransitionNotAllowed(
            f"{referral.reference} is {referral.get_state_display().lower()}: it cannot go to an MDT."
        )
    if MDTCase.objects.filter(meeting=meeting, referral=referral).exists():
        raise TransitionNotAllowed(f"{referral.reference} is already on this meeting's list.")
    entry = MDTCase.objects.create(
        meeting=meeting, referral=referral, question=question, added_by=actor, added_at=timezone.now()
    )
    label = f"Added to the MDT of {timezone.localtime(meeting.starts_at):%-d %b %Y}: {question}"
    side_events.record(
        referral_id=referral.pk,
        actor=actor,
        name="mdt_case_added",
        label=label,
        obj=entry,
        data={"meeting": meeting.pk},
    )
    return entry


def current_decision(entry: MDTCase) -> MDTDecision | None:
    """The decision in force: the latest signed one that no other corrects."""
    return entry.decisions.filter(corrected_by__isnull=True).order_by("-signed_at", "-id").first()


@writes.atomic
def decision_sign(
    *, mdt_case_id: int, actor, outcome: str, other_text: str = "", rationale: str = "", corrects_id: int | None = None
) -> MDTDecision:
    entry = MDTCase.objects.select_for_update().select_related("meeting", "referral").get(pk=mdt_case_id)
    _require(actor, SIGNERS, "sign an MDT decision")
    if not entry.meeting.attendees.filter(pk=actor.pk).exists():
        raise Forbidden("Only a clinician who attends this meeting may sign its decisions.")
    if entry.meeting.starts_at > timezone.now():
        raise TransitionNotAllowed("The meeting has not started yet: its decisions are signed at the meeting.")
    if outcome == DecisionOutcome.OTHER and not other_text.strip():
        raise InvalidData({"other_text": "Say what the meeting decided."})
    current = current_decision(entry)
    if current is not None and corrects_id != current.pk:
        raise TransitionNotAllowed(
            f"This case already has a signed decision ({current.summary}); a signed decision is never changed: "
            f"sign a correction of it (corrects {current.pk})."
        )
    if current is not None and not rationale.strip():
        raise InvalidData({"rationale": "Say why the signed decision is corrected."})
    if current is None and corrects_id is not None:
        raise InvalidData({"corrects": "There is no signed decision to correct."})
    if current is not None:
        workitems.close_items(
            referral_id=entry.referral_id, actor=actor, ids=current.opened_items, status=WorkItemStatus.CANCELLED
        )
    opened, transition = _open_next_steps(entry, actor, outcome, other_text)
    decision = MDTDecision.objects.create(
        mdt_case=entry,
        outcome=outcome,
        other_text=other_text if outcome == DecisionOutcome.OTHER else "",
        rationale=rationale,
        signed_by=actor,
        signed_at=timezone.now(),
        corrects=current,
        opened_items=opened,
        transition=transition,
    )
    word = "Correction of the MDT decision" if current else "MDT decision"
    side_events.record(
        referral_id=entry.referral_id,
        actor=actor,
        name="mdt_decision",
        label=f"{word}: {decision.summary}",
        obj=decision,
        data={"meeting": entry.meeting_id, "outcome": outcome, "rationale": rationale, "corrects": corrects_id},
    )
    return decision


def _open_next_steps(entry: MDTCase, actor, outcome: str, other_text: str) -> tuple[list[int], str]:
    """(ids of the side steps opened, the name of the transition run or "")."""
    referral = Referral.objects.get(pk=entry.referral_id)  # fresh: a transition may have run
    words = other_text if outcome == DecisionOutcome.OTHER else DecisionOutcome(outcome).label
    note = f"MDT {timezone.localtime(entry.meeting.starts_at):%-d %b %Y}: {words}. Question: {entry.question}"
    if outcome in SURGERY:
        return _surgery_step(referral, actor, note)
    item = _side_item(referral, NEXT_STEP[outcome], Role.NEUROLOGIST, note)
    return [item.pk], ""


def _surgery_step(referral: Referral, actor, note: str) -> tuple[list[int], str]:
    """From results review, neurology's referral to neurosurgery is the case's own transition; where the
    case is with neurosurgery already, they plan the surgery; elsewhere neurology is asked to refer."""
    if "refer_neurosurgery" in REFERRAL_MACHINE.allowed_for(referral, actor):
        workflow.perform(
            REFERRAL_MACHINE, referral.pk, "refer_neurosurgery", actor, {"question": note}, version=referral.version
        )
        return [], "refer_neurosurgery"
    if referral.neurosurgery_requested_at is not None:
        return [_side_item(referral, WorkItemKind.MDT_SURGERY, Role.NEUROSURGEON, note).pk], ""
    return [_side_item(referral, WorkItemKind.MDT_ACTION, Role.NEUROLOGIST, f"Refer to neurosurgery. {note}").pk], ""


def _side_item(referral: Referral, kind: str, queue: str, note: str):
    return workitems.open_item(
        referral_id=referral.pk,
        machine=Machine.REFERRAL,
        kind=kind,
        queue=queue,
        priority=referral.effective_priority,
        is_primary=False,
        note=note[:2000],
    )
