"""The MDT pages' forms (docs/ui.md, "MDT meetings"). Validation of the rules is the services'
(referrals/mdt/services.py); these only turn the posted text into typed values."""

from django import forms
from django.contrib.auth import get_user_model

from carepath.pathway.roles import Role
from carepath.pathway.text import TEXT, TextGuardForm
from imaging.capacity.models import Site

from .models import DecisionOutcome

CLINICAL_GROUPS = [Role.NEUROLOGIST, Role.NEUROSURGEON, Role.NEURORADIOLOGIST, Role.PEDIATRICIAN]


class AttendeeField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        roles = ", ".join(Role(g.name).label for g in user.groups.all() if g.name in Role.values)
        return f"{user.get_full_name() or user.username} ({roles})"


class MeetingForm(TextGuardForm, forms.Form):
    starts_at = forms.DateTimeField(
        label="Date and time", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    site = forms.ModelChoiceField(queryset=Site.objects.all(), label="Site")
    attendees = AttendeeField(
        queryset=get_user_model()
        .objects.filter(is_active=True, groups__name__in=CLINICAL_GROUPS)
        .distinct()
        .prefetch_related("groups")
        .order_by("last_name", "username"),
        widget=forms.CheckboxSelectMultiple,
        label="Attendees",
    )


class AddCaseForm(TextGuardForm, forms.Form):
    case = forms.CharField(label="Case reference", max_length=20, help_text="CP-000123, or the number alone.")
    question = forms.CharField(
        label="Neurology's question for the meeting", max_length=TEXT, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_case(self):
        digits = self.cleaned_data["case"].upper().removeprefix("CP-").lstrip("0")
        if not digits.isdigit():
            raise forms.ValidationError("Give the case's reference, e.g. CP-000123.")
        return int(digits)


class DecisionForm(TextGuardForm, forms.Form):
    outcome = forms.ChoiceField(choices=DecisionOutcome.choices, widget=forms.RadioSelect, label="Decision")
    other_text = forms.CharField(
        label="What was decided (for “Other”)", required=False, max_length=TEXT, widget=forms.TextInput()
    )
    rationale = forms.CharField(
        label="Reasons and discussion", required=False, max_length=TEXT, widget=forms.Textarea(attrs={"rows": 2})
    )
    corrects = forms.IntegerField(required=False, widget=forms.HiddenInput)
