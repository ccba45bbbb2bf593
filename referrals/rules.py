"""Clinical rules on a referral's dates and priority, checked by the services before anything is
written, so a refusal changes nothing (docs/decisions.md, "Clinical rules"). Each raises
`RuleBroken` (422 in the API, an error beside its field on a page) naming the field to fix."""

from datetime import date

from carepath.pathway.errors import RuleBroken
from carepath.pathway.priority import Priority

ADULT_AGE = 18  # paediatric services see children up to the 18th birthday


def age_in_years(birth_date: date, on: date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def check_birth_date(birth_date: date, *, today: date) -> None:
    if birth_date > today:
        raise RuleBroken({"birth_date": "The date of birth cannot be in the future."})


def check_age_at_referral(birth_date: date, *, on: date, reason: str) -> None:
    """A pathway for children: someone 18 or over at referral is most often a mistyped date of
    birth; a real exception (a young adult still under paediatric care) is referred with a reason."""
    age = age_in_years(birth_date, on)
    if age >= ADULT_AGE and not reason.strip():
        raise RuleBroken(
            {
                "over_18_reason": f"The patient would be {age} years old at referral, and this pathway is for "
                "children. Check the date of birth, or say why someone aged 18 or over is referred here."
            }
        )


def check_onset(symptom_onset: date, *, birth_date: date) -> None:
    if symptom_onset < birth_date:
        raise RuleBroken({"symptom_onset": "Symptom onset cannot be before the child's date of birth."})


def check_requested_priority(*, red_flags, requested_priority: str, reason: str) -> None:
    """Any red flag asks for asap (seen within 48 hours); a lower priority needs a reason, as at triage."""
    if red_flags and requested_priority != Priority.ASAP and not reason.strip():
        raise RuleBroken(
            {
                "requested_priority": "A red flag is ticked, so this referral is ASAP (seen within 48 hours). "
                "Choose ASAP, or give a reason for a lower priority."
            }
        )


def check_triage_priority(*, red_flags, priority: str, override_reason: str) -> None:
    if red_flags and priority != Priority.ASAP and not override_reason.strip():
        raise RuleBroken(
            {
                "priority": "This referral has a red flag: triage it as ASAP (seen within 48 hours), "
                "or give a reason for a lower priority."
            }
        )
