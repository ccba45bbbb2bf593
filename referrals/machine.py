"""The referral state machine, declared once (docs/design.md §3, docs/decisions.md "State machines").


One keyword-argument `Transition` per transition: who may take it, its input, its guards, its
effects (the step it closes with, the clock it starts or stops; `steps` says which step waits on
each state) and its button's group. The services bind themselves with
`@REFERRAL_MACHINE.service(name)` (referrals/services.py), so this module imports no service."""

from carepath.models import WorkItemKind
from carepath.pathway.roles import Role
from carepath.pathway.workflow import CANCELLED, CLOCK_START, CLOCK_STOP, SECONDARY, Machine, Transition

from . import guards
from . import inputs as i
from .choices import ReferralState as S

PED, NEURO, SURG, ADMIN, EHR, SYSTEM = (
    Role.PEDIATRICIAN,
    Role.NEUROLOGIST,
    Role.NEUROSURGEON,
    Role.ADMIN,
    Role.EHR_CLIENT,
    Role.SYSTEM,
)
OPEN = [S.SUBMITTED, S.RETURNED, S.TRIAGED, S.ASSESSED, S.IMAGING, S.RESULTS_REVIEW, S.NEUROSURGERY, S.CONCLUDED]
# state → the step that waits on it: (work item kind, queue)
STEPS = {
    S.SUBMITTED: (WorkItemKind.TRIAGE, Role.NEUROLOGIST),
    S.RETURNED: (WorkItemKind.ANSWER_QUERY, Role.PEDIATRICIAN),
    S.TRIAGED: (WorkItemKind.FIRST_ASSESSMENT, Role.NEUROLOGIST),
    S.ASSESSED: (WorkItemKind.DECIDE_NEXT_STEP, Role.NEUROLOGIST),
    S.RESULTS_REVIEW: (WorkItemKind.RESULTS_REVIEW, Role.NEUROLOGIST),
    S.NEUROSURGERY: (WorkItemKind.NEUROSURGERY_CONSULT, Role.NEUROSURGEON),
    S.CONCLUDED: (WorkItemKind.ACKNOWLEDGE_OUTCOME, Role.PEDIATRICIAN),
}
REFERRER_STEPS = {S.RETURNED, S.CONCLUDED}  # these items go to the referring pediatrician by name


def is_referrer(referral, user) -> bool:
    return user.pk is not None and user.pk in (referral.referred_by_id, referral.created_by_id)


REFERRAL_MACHINE = Machine(
    name="referral",
    states=S,
    terminal=frozenset({S.CLOSED, S.DECLINED, S.CANCELLED}),
    pk_kwarg="referral_id",
    relations={"referrer": is_referrer},
    steps=STEPS,
    transitions=(
        Transition(
            name="triage",
            sources=[S.SUBMITTED],
            target=S.TRIAGED,
            roles=[NEURO],
            label="Triage",
            input=i.TriageInput,
            guards=(guards.red_flag_needs_asap,),
            # the priority picks the clock's policy; the clock itself runs from receipt (RTT's clock start)
            clock=CLOCK_START,
            description="Any red flag forces asap unless an override reason is given.",
        ),
        Transition(
            name="return_to_referrer",
            sources=[S.SUBMITTED],
            target=S.RETURNED,
            roles=[NEURO],
            label="Return to the referrer with a question",
            input=i.ReasonInput,
            group=SECONDARY,
        ),
        Transition(
            name="resubmit",
            sources=[S.RETURNED],
            target=S.SUBMITTED,
            relation="referrer",
            relation_roles=[PED, EHR],
            label="Answer and resubmit",
            input=i.ResubmitInput,
            guards=(guards.resubmitted_details_hold,),
        ),
        Transition(
            name="decline",
            sources=[S.SUBMITTED],
            target=S.DECLINED,
            roles=[NEURO],
            label="Decline the referral",
            input=i.DeclineInput,
            closes_as=CANCELLED,
            clock=CLOCK_STOP,
            group=SECONDARY,
            description="The referrer is told why, with advice.",
        ),
        Transition(
            name="record_assessment",
            sources=[S.TRIAGED],
            target=S.ASSESSED,
            roles=[NEURO],
            label="Record the assessment",
            input=i.AssessmentInput,
        ),
        Transition(
            name="record_was_not_brought",
            sources=[S.TRIAGED],
            target=None,
            roles=[NEURO],
            label="Record that the child was not brought",
            input=i.NoteInput,
            group=SECONDARY,
            description="Counts the missed visit and opens a review: a child is never discharged for a missed visit.",
        ),
        Transition(
            name="request_mri",
            sources=[S.ASSESSED],
            target=S.IMAGING,
            roles=[NEURO],
            label="Request an MRI",
            input=i.RequestMRIInput,
        ),
        Transition(
            name="imaging_complete",
            sources=[S.IMAGING],
            target=S.RESULTS_REVIEW,
            roles=[SYSTEM],
            label="Imaging complete",
            description="Fired when the MRI report is signed.",
        ),
        Transition(
            name="imaging_cancelled",
            sources=[S.IMAGING],
            target=S.ASSESSED,
            roles=[SYSTEM],
            label="Imaging cancelled",
            description="Fired when the MRI request is cancelled.",
        ),
        Transition(
            name="refer_neurosurgery",
            sources=[S.RESULTS_REVIEW],
            target=S.NEUROSURGERY,
            roles=[NEURO],
            label="Refer to neurosurgery",
            input=i.ReferNeurosurgeryInput,
            group=SECONDARY,
        ),
        Transition(
            name="record_consult",
            sources=[S.NEUROSURGERY],
            target=S.RESULTS_REVIEW,
            roles=[SURG],
            label="Record the consult",
            input=i.ConsultInput,
        ),
        Transition(
            name="conclude",
            sources=[S.RESULTS_REVIEW, S.ASSESSED],
            target=S.CONCLUDED,
            roles=[NEURO],
            label="Conclude",
            input=i.ConcludeInput,
            guards=(guards.results_acknowledged_to_conclude, guards.imaging_waived_needs_reason),
            clock=CLOCK_STOP,
            description="From assessed only with an imaging-waived reason; sends the outcome letter.",
        ),
        Transition(
            name="acknowledge",
            sources=[S.CONCLUDED],
            target=S.CLOSED,
            relation="referrer",
            relation_roles=[PED],
            label="Acknowledge the outcome",
            input=i.NoteInput,
            guards=(guards.results_acknowledged_to_close,),
            clock=CLOCK_STOP,
            description="Closes the loop.",
        ),
        Transition(
            name="auto_close",
            sources=[S.CONCLUDED],
            target=S.CLOSED,
            roles=[SYSTEM],
            label="Close without acknowledgement",
            guards=(guards.results_acknowledged_to_close, guards.acknowledgement_window_passed),
            clock=CLOCK_STOP,
            description="The acknowledgement window passed; flagged loop_closed_unacknowledged.",
        ),
        Transition(
            name="reopen",
            sources=[S.CLOSED],
            target=S.ASSESSED,
            roles=[NEURO],
            reopens=True,
            label="Reopen the case",
            input=i.ReasonInput,
            group=SECONDARY,
            description=(
                "A closed case comes back to neurology with a reason: a new step (request an MRI or conclude) "
                "opens, linked to the case's last one. The 18-week clock is not restarted."
            ),
        ),
        Transition(
            name="cancel",
            sources=OPEN,
            target=S.CANCELLED,
            roles=[NEURO, ADMIN],
            relation="referrer",
            relation_roles=[PED, EHR],
            label="Cancel the referral",
            input=i.ReasonInput,
            closes_as=CANCELLED,
            clock=CLOCK_STOP,
            group=SECONDARY,
        ),
    ),
)
