"""The words users read on forms: field labels and error messages in a clinician's words (docs/ui.md).

Two things live here, both applied centrally rather than form by form:

* `install()` (called once from `CarepathConfig.ready`) replaces the stock DRF and Django validation
  messages (`"" is not a valid choice.`, `This field may not be null.`, `Must be a valid boolean.`,
  `Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]]…`)
  with plain sentences. Fields copy their class's messages when they are built, and every
  serializer deep-copies (rebuilds) its declared fields, so one change here reaches the web forms
  and the API's problem+json `errors` alike.
* `label_for()` / `help_for()` give the web form label and help text of a transition's field. DRF
  makes a label from the field's name ("nvc" → "Nvc", "mri_indicated" → "Mri indicated"); a label
  a developer wrote on the field is kept, otherwise the table below (by dotted name, then by name)
  and last an acronym-aware tidy of the name.
"""

from __future__ import annotations

import re

from django import forms
from rest_framework import fields as drf_fields
from rest_framework import serializers


class ByInput(str):
    """A message for `{input}` errors that reads differently when nothing was given.

    DRF formats `invalid_choice` with the value sent, so an empty select or radio group produced
    `"" is not a valid choice.`; here an empty value asks for a choice instead.
    """

    blank: str

    def __new__(cls, given: str, blank: str):
        message = super().__new__(cls, given)
        message.blank = blank
        return message

    def format(self, *args, **kwargs) -> str:
        if kwargs.get("input") in ("", None):
            return self.blank
        return str.format(self, *args, **kwargs)


CHOOSE = ByInput("“{input}” is not one of the options.", "Choose one of the options.")

# class → {error key: message}. Keys not listed keep DRF's wording (already plain, or API-only).
DRF_MESSAGES: dict[type, dict[str, str]] = {
    drf_fields.Field: {"required": "This field is required.", "null": "This field is required."},
    drf_fields.CharField: {
        "invalid": "Enter text.",
        "blank": "This field is required.",
        "max_length": "Keep this to {max_length} characters or fewer.",
        "min_length": "Write at least {min_length} characters.",
    },
    drf_fields.BooleanField: {"invalid": "Answer yes or no."},
    drf_fields.ChoiceField: {"invalid_choice": CHOOSE},
    drf_fields.MultipleChoiceField: {
        "invalid_choice": CHOOSE,
        "not_a_list": "Choose from the options.",
        "empty": "Choose at least one.",
    },
    drf_fields.ListField: {
        "not_a_list": "Choose from the options.",
        "empty": "Choose at least one.",
        "min_length": "Choose at least {min_length}.",
        "max_length": "Choose no more than {max_length}.",
    },
    drf_fields.IntegerField: {
        "invalid": "Enter a whole number.",
        "max_value": "Enter {max_value} or less.",
        "min_value": "Enter {min_value} or more.",
        "max_string_length": "Enter a smaller number.",
    },
    drf_fields.DateField: {
        "invalid": "Enter a date as year-month-day, for example 2026-03-31.",
        "datetime": "Enter a date without a time.",
    },
    drf_fields.DateTimeField: {
        "invalid": "Enter a date and time, for example 2026-03-31T09:30.",
        "date": "Enter a time as well as the date.",
        "make_aware": "This time does not exist in the local time zone (the clocks change): choose another.",
        "overflow": "Enter a date and time within the next few years.",
    },
    drf_fields.RegexField: {"invalid": "Use only letters, digits and . _ / - characters."},
    drf_fields.EmailField: {"invalid": "Enter an e-mail address like name@example.org."},
}

DJANGO_MESSAGES: dict[type, dict[str, str]] = {
    forms.ChoiceField: {"invalid_choice": "Choose one of the options."},
    forms.DateField: {"invalid": "Enter a real date."},
    forms.EmailField: {"invalid": "Enter an e-mail address like name@example.org."},
}


def install() -> None:
    """Put the plain messages on the field classes (idempotent). Called from `CarepathConfig.ready`."""
    for table in (DRF_MESSAGES, DJANGO_MESSAGES):
        for cls, messages in table.items():
            # a class's own dict: assigning a copy keeps a subclass from writing into its parent's
            cls.default_error_messages = {**cls.__dict__.get("default_error_messages", {}), **messages}


# --- labels --------------------------------------------------------------------------------------
# By dotted name first (the report's nested findings), then by the last part of the name.
LABELS = {
    "symptom_onset": "Onset of the twitching",
    "spread": "Spread from the eye to the mouth or cheek",
    "requested_priority": "Priority you request",
    "clinical_notes": "Other clinical notes",
    "override_reason": "Reason for a priority other than ASAP",
    "requested_priority_reason": "Reason for a priority below ASAP",
    "over_18_reason": "Reason for referring someone aged 18 or over",
    "early_scan_reason": "Early-scan reason",
    "response": "Your answer to neurology",
    "advice": "Advice to the referrer",
    "brow_lift_sign": "Brow-lift sign (Babinski's other sign)",
    "severity.scale": "Severity scale",
    "severity.score": "Severity score",
    "mri_indicated": "MRI indicated",
    "clinical_question": "Clinical question for imaging",
    "suspected_lesion": "Lesion suspected",
    "question": "Question for neurosurgery",
    "recommendation": "Neurosurgical recommendation",
    "follow_up": "Follow-up",
    "letter": "Outcome letter to the referrer",
    "imaging_waived_reason": "Reason for concluding without an MRI",
    "protocol": "MRI protocol",
    "contrast": "Gadolinium contrast",
    "duration_minutes": "Duration (minutes)",
    "scheduled_start": "Appointment date and time",
    "sedation": "Sedation plan",
    "sedation_override_reason": "Reason for a different sedation plan",
    "guardian": "Parent or carer to remind",
    "outcome": "What happened",
    "performed_at": "Date and time of the scan",
    "findings.nvc": "Neurovascular compression (NVC)",
    "findings.nvc.status": "Compression of the facial nerve",
    "findings.nvc.vessel": "Compressing vessel",
    "findings.nvc.segment": "Nerve segment",
    "findings.nvc.severity": "Degree of compression",
    "findings.nvc.multiple": "More than one vessel",
    "findings.lesion.present": "Lesion present",
    "findings.lesion.location": "Lesion location",
    "findings.lesion.kind": "Type of lesion",
    "findings.adhesions": "Arachnoid adhesions",
    "findings.other": "Other findings",
    "category": "Report category",
}

# Web help text where the API's (written for integrators: "null if not tested") does not fit a form.
# An empty string drops the help (the label or the choices already say it).
HELP = {
    "brow_lift_sign": "",
    "spread": "",
    "advice": "",
    "override_reason": "Needed when a referral with a red flag is given a lower priority than ASAP.",
    "requested_priority_reason": "Needed when a red flag is ticked but you ask for urgent or routine.",
    "early_scan_reason": "Needed only when the scan was done on a day before its appointment.",
    "letter": (
        "Filled in from the case: check and edit it before you conclude. The diagnosis, plan and follow-up "
        "(and why no MRI) you give above are written into their places when you conclude; anything else "
        "marked [to complete: …] is yours to write. It is sent to the referrer as written."
    ),
    "imaging_waived_reason": "Needed when you conclude straight after the assessment, without an MRI.",
    "contrast": "Needed when a lesion is suspected.",
    "sedation": (
        "Starts at the default for the child's age today and the suspicion of a mass; "
        "the booking checks it against the age on the scan day."
    ),
    "guardian": "Appointment and fasting reminders go to this parent or carer.",
}

# Web wording of a transition's description where the machine's (also read by API clients at
# GET /api/v1/pathway/) names codes.
DESCRIPTIONS = {
    "triage": "Any red flag means ASAP (seen within 48 hours) unless you give a reason for a lower priority.",
    "conclude": "Sends the outcome letter to the referrer. Concluding without an MRI needs a reason.",
    "sign_report": "Sends the case to neurology's results review; critical and urgent results alert neurology at once.",
    "amend_report": (
        "Say what changed and why. The findings below start as signed: change only what the second look "
        "corrects. Corrected findings, impression or category replace the ones shown, and the case keeps what "
        "the report said before. Whoever read the report is told."
    ),
}


ACRONYMS = {"mri": "MRI", "nvc": "NVC", "mrn": "MRN", "cpa": "CPA", "id": "ID", "sla": "SLA", "gp": "GP"}


def _lookup(table: dict, name: str):
    if name in table:
        return table[name]
    return table.get(name.rsplit(".", 1)[-1])


def tidy(name: str) -> str:
    """`mri_indicated` → "MRI indicated": a field name as words, acronyms in capitals."""
    words = [ACRONYMS.get(w, w) for w in re.split(r"[_\s]+", name.rsplit(".", 1)[-1]) if w]
    if not words:
        return name
    first = words[0] if words[0].isupper() else words[0].capitalize()
    return " ".join([first, *words[1:]])


def label_for(name: str, field: serializers.Field) -> str:
    written = getattr(field, "_kwargs", {}).get("label")  # a label set on the field by a developer
    if written:
        return str(written)
    return _lookup(LABELS, name) or tidy(name)


def description_for(transition) -> str:
    return DESCRIPTIONS.get(transition.name, transition.description)


def help_for(name: str, field: serializers.Field) -> str:
    override = _lookup(HELP, name)
    if override is not None:
        return override
    return str(field.help_text or "")
