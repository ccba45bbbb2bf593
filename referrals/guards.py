"""The referral transitions' guards: pure checks of the locked referral and the action's input,
declared on each `Transition` (referrals/machine.py) and run by `Machine.check` before anything is
written. Each raises a DomainError naming the field; the clinical reasons are in docs/decisions.md."""

from datetime import timedelta

from django.conf import settings

from carepath.pathway.errors import Blocked, InvalidData
from imaging import reports as imaging_reports

from .choices import ReferralState as S
from .rules import check_onset, check_requested_priority, check_triage_priority

# The referral's details the referrer may change when answering a question (resubmit).
DETAIL_FIELDS = (
    "reason",
    "symptom_onset",
    "side",
    "muscles",
    "spread",
    "frequency",
    "red_flags",
    "requested_priority",
    "requested_priority_reason",
    "clinical_notes",
    "over_18_reason",
)


def red_flag_needs_asap(referral, data: dict) -> None:
    """Any red flag forces asap unless an override reason is given (referrals/rules.py)."""
    check_triage_priority(
        red_flags=referral.red_flags, priority=data["priority"], override_reason=data.get("override_reason", "")
    )


def resubmitted_details_hold(referral, data: dict) -> None:
    """Only the referral's own details change on resubmission, and they still meet the rules a new
    referral meets (onset after birth; a red flag's requested priority)."""
    details = {k: v for k, v in data.items() if k != "response"}
    unknown = set(details) - set(DETAIL_FIELDS)
    if unknown:
        raise InvalidData({f: "This detail cannot be changed here." for f in sorted(unknown)})
    if "symptom_onset" in details:
        check_onset(details["symptom_onset"], birth_date=referral.patient.birth_date)
    after = {f: details.get(f, getattr(referral, f)) for f in ("red_flags", "requested_priority")}
    reason = details.get("requested_priority_reason", referral.requested_priority_reason)
    check_requested_priority(**after, reason=reason)


def _results_acknowledged(referral, *, doing: str) -> None:
    """A case with a critical or urgent MRI result nobody has acknowledged may be neither concluded
    nor closed (docs/decisions.md, "An unacknowledged critical result blocks the end of the case"):
    the acknowledgement is the record that a neurologist has acted on it."""
    if imaging_reports.unacknowledged_alert_reports(referral_id=referral.pk):
        raise Blocked(
            f"This case has a critical or urgent MRI result that nobody has acknowledged yet. "
            f"A neurologist must acknowledge it (the red banner at the top of the case) before the case can be {doing}."
        )


def results_acknowledged_to_conclude(referral, data: dict) -> None:
    _results_acknowledged(referral, doing="concluded")


def results_acknowledged_to_close(referral, data: dict) -> None:
    _results_acknowledged(referral, doing="closed")


def imaging_waived_needs_reason(referral, data: dict) -> None:
    if referral.state == S.ASSESSED and not data.get("imaging_waived_reason", "").strip():
        raise InvalidData({"imaging_waived_reason": "To conclude without an MRI, say why imaging is not needed."})


def acknowledgement_window_passed(referral, data: dict) -> None:
    """The system closes the loop only once the referrer's window to acknowledge has passed."""
    if data["now"] < referral.concluded_at + timedelta(days=settings.OUTCOME_AUTO_CLOSE_DAYS):
        raise InvalidData("The referrer still has time to acknowledge the outcome.")
