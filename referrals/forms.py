"""Web forms for a new referral: the patient (found by MRN or added with guardians).

The referral's own fields are validated by `referrals.inputs.ReferralDetailsInput`, the serializer
the API uses too, so both channels accept exactly the same referral.
"""

from django import forms

from carepath.pathway.identity import MRNFormField
from carepath.pathway.text import TextGuardForm  # refuses control characters (docs/security.md)

from .choices import Muscle, Sex


class FindPatientForm(forms.Form):
    """A look-up, never stored: pasted invisible characters are dropped by the MRN key
    (carepath/pathway/identity.py)."""

    mrn = MRNFormField(label="MRN", max_length=64, help_text="The child's medical record number.")


class PatientForm(TextGuardForm, forms.Form):
    mrn = MRNFormField(label="MRN", max_length=32)  # invisible characters removed, not refused
    given_name = forms.CharField(label="Given name", max_length=100)
    family_name = forms.CharField(label="Family name", max_length=100)
    birth_date = forms.DateField(label="Date of birth", widget=forms.DateInput(attrs={"type": "date"}))
    sex = forms.ChoiceField(label="Sex", choices=Sex.choices, initial=Sex.UNKNOWN)
    # a date of birth in the future is refused by `intake.patient_create` (referrals/rules.py),
    # shown beside this field like any other error


class GuardianForm(TextGuardForm, forms.Form):
    # Not required field by field: the second row may stay empty; `clean` asks for what a filled row needs.
    name = forms.CharField(label="Name", max_length=200, required=False)
    relationship = forms.CharField(
        label="Relationship", max_length=50, required=False, help_text="e.g. mother, father, foster carer"
    )
    phone = forms.CharField(label="Phone", max_length=32, required=False)
    email = forms.EmailField(label="E-mail", required=False)
    has_parental_responsibility = forms.BooleanField(label="Has parental responsibility", required=False, initial=True)

    def clean(self):
        data = super().clean()
        if not any(data.get(f) for f in ("name", "relationship", "phone", "email")):
            return data  # an empty row
        for required in ("name", "relationship"):
            if not data.get(required):
                self.add_error(required, "This field is required.")
        if not (data.get("phone") or data.get("email")):
            raise forms.ValidationError("Give a phone number or an e-mail address so the family gets reminders.")
        return data


class BaseGuardianFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index):
        """The second carer (a grandparent, a foster carer…) starts without parental responsibility:
        it decides who may consent to sedation, so it is ticked on purpose, never by default."""
        kwargs = super().get_form_kwargs(index)
        if index:
            kwargs["initial"] = {"has_parental_responsibility": False}
        return kwargs

    def clean(self):
        if any(self.errors):
            return
        if not any(f.cleaned_data.get("name") for f in self.forms):
            raise forms.ValidationError("Add at least one parent or carer.")


GuardianFormSet = forms.formset_factory(
    GuardianForm, formset=BaseGuardianFormSet, extra=2, max_num=2, validate_max=True
)


def first_muscle_choices():
    return [("", "Choose the first muscle…"), *Muscle.choices]


def muscles_from_post(post) -> list[str]:
    """The first muscle first, then the others it spread to (the order is clinical: eye-first
    twitching that spreads down the face suggests hemifacial spasm)."""
    first = post.get("first_muscle", "")
    others = [m for m in post.getlist("muscles") if m != first]
    return [first, *others] if first else others
