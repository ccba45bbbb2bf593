"""The data each referral action requires (docs/design.md §5 keys), declared once and read by the
machine table, the API, the UI and `GET /api/v1/pathway/`."""

from django.utils import timezone
from rest_framework import serializers

from carepath.pathway.priority import Priority
from carepath.pathway.text import TEXT, Input, optional_text  # refuses control characters in text (docs/security.md)
from imaging.choices import Side

from . import letters
from .choices import (
    SEVERITY_MAX,
    ConsultRecommendation,
    Diagnosis,
    Frequency,
    Muscle,
    Plan,
    RedFlag,
    SeverityScale,
)

LETTER = 20000
TO_COMPLETE = "[to complete:"  # a placeholder in the outcome letter's draft (templates/referrals/letters/)


class UniqueChoicesField(serializers.ListField):
    """A list of codes, each at most once, order kept (the first muscle is the first affected)."""

    def __init__(self, choices, *, ordered: bool = False, **kwargs):
        kwargs.setdefault("max_length", len(choices))
        if ordered:  # the web form lists the chosen ones first, in order, so posting them keeps it
            kwargs["style"] = {**kwargs.get("style", {}), "ordered": True}
        super().__init__(child=serializers.ChoiceField(choices=choices), **kwargs)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if len(set(values)) != len(values):
            raise serializers.ValidationError("Choose each option only once.")
        return values


class ReferralDetailsInput(Input):
    """What the referrer writes; shared by create and resubmit."""

    reason = serializers.CharField(max_length=TEXT)
    symptom_onset = serializers.DateField(help_text="When the twitching started.")
    side = serializers.ChoiceField(choices=Side.choices)
    muscles = UniqueChoicesField(
        Muscle.choices, ordered=True, min_length=1, help_text="Muscles affected, the first one first."
    )
    spread = serializers.BooleanField(required=False, default=False, help_text="Spread from the eye to mouth or cheek.")
    frequency = serializers.ChoiceField(choices=Frequency.choices, required=False, allow_blank=True, default="")
    red_flags = UniqueChoicesField(RedFlag.choices, required=False, default=list)
    requested_priority = serializers.ChoiceField(choices=Priority.choices)
    requested_priority_reason = optional_text(
        label="Reason for a priority below ASAP",
        help_text="Needed when a red flag is ticked but you ask for urgent or routine.",
    )
    clinical_notes = optional_text()
    over_18_reason = optional_text(
        label="Reason for referring someone aged 18 or over",
        help_text="Needed only when the patient is 18 or over on the day of referral.",
    )

    def validate_symptom_onset(self, value):
        if value > timezone.localdate():
            raise serializers.ValidationError("Symptom onset cannot be in the future.")
        return value


class TriageInput(Input):
    priority = serializers.ChoiceField(choices=Priority.choices)
    override_reason = optional_text(
        help_text="Needed to give a red-flag referral a priority other than asap.",
    )


class ReasonInput(Input):
    reason = serializers.CharField(max_length=TEXT)


class DeclineInput(Input):
    reason = serializers.CharField(max_length=TEXT)
    advice = serializers.CharField(max_length=TEXT, help_text="Advice to the referrer.")


class ResubmitInput(Input):
    response = serializers.CharField(max_length=TEXT, help_text="The answer to neurology's question.")
    reason = serializers.CharField(max_length=TEXT, required=False)
    symptom_onset = serializers.DateField(required=False)
    side = serializers.ChoiceField(choices=Side.choices, required=False)
    muscles = UniqueChoicesField(
        Muscle.choices,
        ordered=True,
        min_length=1,
        required=False,
        help_text="In the order they were affected, the first one first; a muscle you tick is added last.",
    )
    spread = serializers.BooleanField(required=False)
    frequency = serializers.ChoiceField(choices=Frequency.choices, required=False, allow_blank=True)
    red_flags = UniqueChoicesField(RedFlag.choices, required=False)
    requested_priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    requested_priority_reason = serializers.CharField(max_length=TEXT, required=False, allow_blank=True)
    clinical_notes = serializers.CharField(max_length=TEXT, required=False, allow_blank=True)

    def validate_symptom_onset(self, value):
        return ReferralDetailsInput.validate_symptom_onset(self, value)


class SeverityInput(Input):
    scale = serializers.ChoiceField(choices=SeverityScale.choices)
    score = serializers.IntegerField(min_value=0, max_value=8)

    def validate(self, attrs):
        top = SEVERITY_MAX[attrs["scale"]]
        if attrs["score"] > top:
            name = SeverityScale(attrs["scale"]).label.split(" (")[0]  # the scale's name, not its code
            raise serializers.ValidationError({"score": f"The {name} scale runs from 0 to {top}."})
        return attrs


class AssessmentInput(Input):
    findings = serializers.CharField(max_length=TEXT)
    working_diagnosis = serializers.ChoiceField(choices=Diagnosis.choices)
    brow_lift_sign = serializers.BooleanField(allow_null=True, help_text="Babinski's other sign; null if not tested.")
    severity = SeverityInput()
    mri_indicated = serializers.BooleanField()


class NoteInput(Input):
    note = optional_text()


class RequestMRIInput(Input):
    clinical_question = serializers.CharField(max_length=TEXT)
    suspected_lesion = serializers.BooleanField(help_text="A CPA or posterior-fossa mass is suspected.")


class ReferNeurosurgeryInput(Input):
    question = serializers.CharField(max_length=TEXT)


class ConsultInput(Input):
    recommendation = serializers.ChoiceField(choices=ConsultRecommendation.choices)
    note = serializers.CharField(max_length=TEXT)


class ConcludeInput(Input):
    diagnosis = serializers.ChoiceField(choices=Diagnosis.choices)
    plan = serializers.ChoiceField(choices=Plan.choices)
    follow_up = serializers.CharField(max_length=TEXT, allow_blank=True)
    letter = serializers.CharField(max_length=LETTER, help_text="The outcome letter to the referrer.")
    imaging_waived_reason = optional_text(
        help_text="Required to conclude without imaging (from assessed).",
    )

    def validate(self, data):
        # the web form's draft marks what only the neurologist can write (referrals/letters.py); the
        # marks this form's own fields answer are filled in from them first
        answers = {**data, "plan": Plan(data["plan"]).label if data["plan"] != Plan.OTHER else ""}
        answers["diagnosis"] = Diagnosis(data["diagnosis"]).label
        data["letter"] = letters.fill_in(data["letter"], answers)
        if TO_COMPLETE in data["letter"]:
            raise serializers.ValidationError(
                {
                    "letter": "The letter still has parts marked [to complete: …]: write them or delete them "
                    "before concluding."
                }
            )
        return data


class CaseNoteInput(Input):
    """A clinical note, or an amendment of one (referrals/notes.py)."""

    text = serializers.CharField(max_length=TEXT, help_text="The note. Name a colleague with @username to tell them.")
    amends = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=2**62, help_text="The note it corrects."
    )
