"""The referral state machine, declared once (docs/design.md §3)."""

from carepath.pathway.roles import Role
from carepath.pathway.workflow import Machine, Transition

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


def _t(name, sources, target, roles, label, service, input=None, description="", referrer_roles=()):
    return Transition(
        name=name,
        sources=tuple(sources),
        target=target,
        roles=frozenset(roles),
        label=label,
        service="referrals.services." + service,
        input="referrals.inputs." + input if input else None,
        relation="referrer" if referrer_roles else None,
        relation_roles=frozenset(referrer_roles),
        description=description,
    )


def is_referrer(referral, user) -> bool:
    return user.pk is not None and user.pk in (referral.referred_by_id, referral.created_by_id)


REFERRAL_MACHINE = Machine(
    name="referral",
    states=S,
    terminal=frozenset({S.CLOSED, S.DECLINED, S.CANCELLED}),
    pk_kwarg="referral_id",
    relations={"referrer": is_referrer},
    transitions=(
        _t(
            "triage",
            [S.SUBMITTED],
            S.TRIAGED,
            [NEURO],
            "Triage",
            "referral_triage",
            "TriageInput",
            "Any red flag forces asap unless an override reason is given.",
        ),
        _t(
            "return_to_referrer",
            [S.SUBMITTED],
            S.RETURNED,
            [NEURO],
            "Return to the referrer with a question",
            "referral_return_to_referrer",
            "ReasonInput",
        ),
        _t(
            "resubmit",
            [S.RETURNED],
            S.SUBMITTED,
            [],
            "Answer and resubmit",
            "referral_resubmit",
            "ResubmitInput",
            referrer_roles=[PED, EHR],
        ),
        _t(
            "decline",
            [S.SUBMITTED],
            S.DECLINED,
            [NEURO],
            "Decline the referral",
            "referral_decline",
            "DeclineInput",
            "The referrer is told why, with advice.",
        ),
        _t(
            "record_assessment",
            [S.TRIAGED],
            S.ASSESSED,
            [NEURO],
            "Record the assessment",
            "referral_record_assessment",
            "AssessmentInput",
        ),
        _t(
            "record_was_not_brought",
            [S.TRIAGED],
            None,
            [NEURO],
            "Record that the child was not brought",
            "referral_record_was_not_brought",
            "NoteInput",
            "Counts the missed visit and opens a review: a child is never discharged for a missed visit.",
        ),
        _t(
            "request_mri", [S.ASSESSED], S.IMAGING, [NEURO], "Request an MRI", "referral_request_mri", "RequestMRIInput"
        ),
        _t(
            "imaging_complete",
            [S.IMAGING],
            S.RESULTS_REVIEW,
            [SYSTEM],
            "Imaging complete",
            "referral_imaging_complete",
            None,
            "Fired when the MRI report is signed.",
        ),
        _t(
            "imaging_cancelled",
            [S.IMAGING],
            S.ASSESSED,
            [SYSTEM],
            "Imaging cancelled",
            "referral_imaging_cancelled",
            None,
            "Fired when the MRI request is cancelled.",
        ),
        _t(
            "refer_neurosurgery",
            [S.RESULTS_REVIEW],
            S.NEUROSURGERY,
            [NEURO],
            "Refer to neurosurgery",
            "referral_refer_neurosurgery",
            "ReferNeurosurgeryInput",
        ),
        _t(
            "record_consult",
            [S.NEUROSURGERY],
            S.RESULTS_REVIEW,
            [SURG],
            "Record the consult",
            "referral_record_consult",
            "ConsultInput",
        ),
        _t(
            "conclude",
            [S.RESULTS_REVIEW, S.ASSESSED],
            S.CONCLUDED,
            [NEURO],
            "Conclude",
            "referral_conclude",
            "ConcludeInput",
            "From assessed only with an imaging-waived reason; sends the outcome letter.",
        ),
        _t(
            "acknowledge",
            [S.CONCLUDED],
            S.CLOSED,
            [],
            "Acknowledge the outcome",
            "referral_acknowledge",
            "NoteInput",
            "Closes the loop.",
            referrer_roles=[PED],
        ),
        _t(
            "auto_close",
            [S.CONCLUDED],
            S.CLOSED,
            [SYSTEM],
            "Close without acknowledgement",
            "referral_auto_close",
            None,
            "The acknowledgement window passed; flagged loop_closed_unacknowledged.",
        ),
        _t(
            "cancel",
            OPEN,
            S.CANCELLED,
            [NEURO, ADMIN],
            "Cancel the referral",
            "referral_cancel",
            "ReasonInput",
            referrer_roles=[PED, EHR],
        ),
    ),
)
