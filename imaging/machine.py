"""The MRI request state machine, declared once (docs/design.md §3, docs/decisions.md "State machines").


One keyword-argument `Transition` per transition (roles, input, guards, effects, button group);
the services bind themselves with `@MRI_MACHINE.service(name)` (imaging/services.py, imaging/reports.py)."""

from carepath.models import WorkItemKind
from carepath.pathway.roles import Role
from carepath.pathway.workflow import CANCELLED, SECONDARY, Machine, Transition

from . import guards, report_rules
from . import inputs as i
from .choices import MRIState as S

COORD, NRAD, NEURO, RIS, SYSTEM = (
    Role.IMAGING_COORDINATOR,
    Role.NEURORADIOLOGIST,
    Role.NEUROLOGIST,
    Role.RIS_CLIENT,
    Role.SYSTEM,
)
# MRI state → the step that waits on it: (work item kind, queue)
STEPS = {
    S.REQUESTED: (WorkItemKind.PROTOCOL_MRI, Role.NEURORADIOLOGIST),
    S.PROTOCOLED: (WorkItemKind.SCHEDULE_MRI, Role.IMAGING_COORDINATOR),
    S.SCHEDULED: (WorkItemKind.PERFORM_MRI, Role.IMAGING_COORDINATOR),
    S.NEEDS_REBOOKING: (WorkItemKind.REBOOK_MRI, Role.IMAGING_COORDINATOR),
    S.PERFORMED: (WorkItemKind.REPORT_MRI, Role.NEURORADIOLOGIST),
}

MRI_MACHINE = Machine(
    name="mri_request",
    states=S,
    terminal=frozenset({S.REPORTED, S.CANCELLED}),
    pk_kwarg="mri_request_id",
    steps=STEPS,
    # RIS: the RIS's integration user books, moves, cancels and records what the RIS did, and sends
    # results, by HL7 v2 (docs/integrations.md, "HL7 v2") or the API
    transitions=(
        Transition(
            name="protocol",
            sources=[S.REQUESTED],
            target=S.PROTOCOLED,
            roles=[NRAD],
            label="Protocol the scan",
            input=i.ProtocolInput,
            guards=(guards.lesion_needs_contrast,),
        ),
        Transition(
            name="schedule",
            sources=[S.PROTOCOLED, S.NEEDS_REBOOKING],
            target=S.SCHEDULED,
            roles=[COORD, RIS],
            label="Schedule the scan",
            input=i.ScheduleInput,
            guards=(guards.booking_in_time, guards.other_sedation_needs_reason, guards.rebook_changes_sedation),
            description="Sedation defaults from age and suspicion of a posterior-fossa mass; "
            "another choice needs a reason.",
        ),
        Transition(
            name="reschedule",
            sources=[S.SCHEDULED],
            target=None,
            roles=[COORD, RIS],
            label="Reschedule the scan",
            input=i.RescheduleInput,
            guards=(guards.booking_in_time,),
            group=SECONDARY,
        ),
        Transition(
            name="record_was_not_brought",
            sources=[S.SCHEDULED],
            target=S.NEEDS_REBOOKING,
            roles=[COORD, RIS],
            label="Record that the child was not brought",
            guards=(guards.appointment_started,),
            group=SECONDARY,
            description="Opens a neurologist review; never closes the case.",
        ),
        Transition(
            name="record_scan_failed",
            sources=[S.SCHEDULED],
            target=S.NEEDS_REBOOKING,
            roles=[COORD],
            label="Record a failed scan",
            input=i.ScanFailedInput,
            group=SECONDARY,
            description="Rebooking must change the sedation plan.",
        ),
        Transition(
            name="flag_missed",
            sources=[S.SCHEDULED],
            target=S.NEEDS_REBOOKING,
            roles=[SYSTEM],
            label="Flag a missed appointment",
            guards=(guards.appointment_and_grace_passed,),
            description="Appointment end plus grace passed with nothing recorded.",
        ),
        Transition(
            name="mark_performed",
            sources=[S.SCHEDULED],
            target=S.PERFORMED,
            roles=[COORD, RIS],
            label="Mark the scan performed",
            input=i.MarkPerformedInput,
            guards=(guards.performed_in_time, guards.accession_number_unique),
        ),
        Transition(
            name="sign_report",
            sources=[S.PERFORMED],
            target=S.REPORTED,
            roles=[NRAD, RIS],
            label="Sign the report",
            input=i.SignReportInput,
            guards=(guards.report_consistent,),
            confirm="I have checked the findings, impression and category, and I sign this report. "
            "Once signed it goes to neurology and can only be amended.",
            precheck=report_rules.check_input,
            description="Fires the referral's imaging_complete; critical and urgent results alert neurology.",
        ),
        Transition(
            name="amend_report",
            sources=[S.REPORTED],
            target=None,
            roles=[NRAD, RIS],
            label="Add an addendum",
            input=i.AmendReportInput,
            group=SECONDARY,
            description="Optionally corrects impression and category; the previous values stay on the addendum and "
            "the timeline. Whoever read the report is notified; a category raised to urgent or critical needs a new "
            "acknowledgement.",
        ),
        Transition(
            name="cancel",
            sources=[S.REQUESTED, S.PROTOCOLED, S.SCHEDULED, S.NEEDS_REBOOKING],
            target=S.CANCELLED,
            roles=[NEURO, COORD, RIS],
            label="Cancel the MRI request",
            input=i.ReasonInput,
            closes_as=CANCELLED,
            group=SECONDARY,
            description="The referral returns to assessed.",
        ),
    ),
)
