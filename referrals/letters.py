"""The outcome letter's first draft: the case's facts in a template the neurologist edits (docs/ui.md).

The conclude form's letter starts from `templates/referrals/letters/outcome_letter.txt` filled
with this case's facts (the child, the working diagnosis, the MRI result in words, neurosurgery's
recommendation); the neurologist edits it, and what they send is what is saved. The wording is in
that one template file, so a site changes it there (or puts its own copy earlier on the template
path). Parts only the neurologist can write are marked `[to complete: …]`; those the conclude form's
fields answer (diagnosis, plan, follow-up, why no MRI: `MARKS`) are filled in from them, and a letter
that still has a mark is refused (`referrals.inputs.ConcludeInput`), so no half-written letter
reaches a referrer.
"""

from __future__ import annotations

from datetime import date

from django.template.loader import render_to_string
from django.utils import timezone

from carepath.pathway.dates import age_in_months
from imaging.choices import MRIState

from .models import Referral

LETTER_TEMPLATE = "referrals/letters/outcome_letter.txt"
# Places in the draft that the conclude form's own fields answer: the neurologist chooses the
# diagnosis and plan and writes the follow-up (and why no MRI) once, in the form, and `fill_in`
# writes them into the letter when concluding (the template names them as `marks.<field>`).
MARKS = {
    "diagnosis": "[to complete: the diagnosis]",
    "imaging_waived_reason": "[to complete: why imaging was not needed]",
    "plan": "[to complete: the plan agreed with the family]",
    "follow_up": "[to complete: the follow-up, and what should prompt an earlier review]",
}


def fill_in(letter: str, answers: dict[str, str]) -> str:
    """The letter with each field's mark replaced by the form's answer (an empty answer leaves it)."""
    for name, mark in MARKS.items():
        if (answers.get(name) or "").strip():
            letter = letter.replace(mark, answers[name].strip())
    return letter


def age_in_words(birth: date, on: date | None = None) -> str:
    """ "18 months" under two, then "7 years 3 months" (how paediatric letters give an age)."""
    on = on or timezone.localdate()
    months = age_in_months(birth, on)
    if months < 24:
        return f"{months} month{'s' if months != 1 else ''}"
    years, rest = divmod(months, 12)
    return f"{years} years" + (f" {rest} month{'s' if rest != 1 else ''}" if rest else "")


def person_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def mri_results(referral: Referral) -> list[dict]:
    """Each signed report of the case in words: date, category, impression, findings, addenda."""
    results = []
    for mri in referral.mri_requests.all():
        report = getattr(mri, "report", None) if mri.state == MRIState.REPORTED else None
        if report is None:
            continue
        results.append(
            {
                "mri": mri,
                "report": report,
                "performed_at": mri.performed_at,
                "category": report.get_category_display(),
                "impression": report.impression,
                "findings": report.findings_summary(),
                "addenda": [a.text for a in report.addenda.all()],
            }
        )
    return results


def letter_facts(referral: Referral, *, author) -> dict:
    patient = referral.patient
    assessment = getattr(referral, "assessment", None)
    consults = [c for c in referral.consults.all() if c.answered_at]
    return {
        "referral": referral,
        "referrer": person_name(referral.referred_by or referral.created_by),
        "child": f"{patient.given_name} {patient.family_name}",
        "given_name": patient.given_name,
        "birth_date": patient.birth_date,
        "age": age_in_words(patient.birth_date),
        "mrn": patient.mrn,
        "side": referral.get_side_display().lower(),
        "onset": referral.symptom_onset,
        "working_diagnosis": assessment.get_working_diagnosis_display() if assessment else "",
        "mri_results": mri_results(referral),
        "consults": [{"recommendation": c.get_recommendation_display(), "note": c.note} for c in consults],
        "author": person_name(author),
        "today": timezone.localdate(),
        "marks": MARKS,
    }


def outcome_letter_draft(referral: Referral, *, author) -> str:
    """The letter as the conclude form first shows it."""
    text = render_to_string(LETTER_TEMPLATE, letter_facts(referral, author=author))
    # the template's tags leave blank lines behind: at most one empty line between paragraphs
    lines, out = [line.rstrip() for line in text.strip().splitlines()], []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out)
