"""The MRI request state machine, declared once (docs/design.md §3)."""

from carepath.pathway.roles import Role
from carepath.pathway.workflow import Machine, Transition

from .choices import MRIState as S

COORD, NRAD, NEURO, RIS, SYSTEM = (
    Role.IMAGING_COORDINATOR,
    Role.NEURORADIOLOGIST,
    Role.NEUROLOGIST,
    Role.RIS_CLIENT,
    Role.SYSTEM,
)
_svc = "imaging.services."
_in = "imaging.inputs."


def _t(name, sources, target, roles, label, service, input=None, description=""):
    return Transition(
        name=name,
        sources=tuple(sources),
        target=target,
        roles=frozenset(roles),
        label=label,
        service=_svc + service,
        input=_in + input if input else None,
        description=description,
    )


MRI_MACHINE = Machine(
    name="mri_request",
    states=S,
    terminal=frozenset({S.REPORTED, S.CANCELLED}),
    pk_kwarg="mri_request_id",
    transitions=(
        _t("protocol", [S.REQUESTED], S.PROTOCOLED, [NRAD], "Protocol the scan", "mri_protocol", "ProtocolInput"),
        _t(
            "schedule",
            [S.PROTOCOLED, S.NEEDS_REBOOKING],
            S.SCHEDULED,
            [COORD],
            "Schedule the scan",
            "mri_schedule",
            "ScheduleInput",
            "Sedation defaults from age and suspicion of a posterior-fossa mass; another choice needs a reason.",
        ),
        _t("reschedule", [S.SCHEDULED], None, [COORD], "Reschedule the scan", "mri_reschedule", "RescheduleInput"),
        _t(
            "record_was_not_brought",
            [S.SCHEDULED],
            S.NEEDS_REBOOKING,
            [COORD],
            "Record that the child was not brought",
            "mri_record_was_not_brought",
            None,
            "Opens a neurologist review; never closes the case.",
        ),
        _t(
            "record_scan_failed",
            [S.SCHEDULED],
            S.NEEDS_REBOOKING,
            [COORD],
            "Record a failed scan",
            "mri_record_scan_failed",
            "ScanFailedInput",
            "Rebooking must change the sedation plan.",
        ),
        _t(
            "flag_missed",
            [S.SCHEDULED],
            S.NEEDS_REBOOKING,
            [SYSTEM],
            "Flag a missed appointment",
            "mri_flag_missed",
            None,
            "Appointment end plus grace passed with nothing recorded.",
        ),
        _t(
            "mark_performed",
            [S.SCHEDULED],
            S.PERFORMED,
            [COORD, RIS],
            "Mark the scan performed",
            "mri_mark_performed",
            "MarkPerformedInput",
        ),
        _t(
            "sign_report",
            [S.PERFORMED],
            S.REPORTED,
            [NRAD, RIS],
            "Sign the report",
            "mri_sign_report",
            "SignReportInput",
            "Fires the referral's imaging_complete; critical and urgent results alert neurology.",
        ),
        _t(
            "amend_report",
            [S.REPORTED],
            None,
            [NRAD],
            "Add an addendum",
            "mri_amend_report",
            "AmendReportInput",
            "Optionally corrects impression and category; the previous values stay on the addendum and the "
            "timeline. Whoever read the report is notified; a category raised to urgent or critical needs a new "
            "acknowledgement.",
        ),
        _t(
            "cancel",
            [S.REQUESTED, S.PROTOCOLED, S.SCHEDULED, S.NEEDS_REBOOKING],
            S.CANCELLED,
            [NEURO, COORD],
            "Cancel the MRI request",
            "mri_cancel",
            "ReasonInput",
            "The referral returns to assessed.",
        ),
    ),
)
