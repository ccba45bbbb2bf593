"""The forms of giving a step to a colleague, snoozing it and delegating while away (carepath/web/handover.py
posts them; docs/ui.md, "Reassign, delegate, snooze, reopen"). They only turn what was typed into typed
values; the rules are the services' (carepath/pathway/workitems_handover.py, carepath/pathway/delegation.py),
whose refusals `add_refusal` puts beside the field they name."""

from django import forms
from django.utils import timezone

from carepath.models import WorkItem
from carepath.pathway.errors import DomainError
from carepath.pathway.text import TEXT, TextGuardForm

SHORT = 300  # a snooze's or a delegation's reason: one line


def _people(users) -> list[tuple[str, str]]:
    return [
        ("", "Choose a colleague"),
        *((u.username, f"{u.get_full_name() or u.username} ({u.username})") for u in users),
    ]


class ReassignForm(TextGuardForm, forms.Form):
    to = forms.CharField(
        label="Colleague", widget=forms.Select, error_messages={"required": "Choose the colleague to give the step to."}
    )
    reason = forms.CharField(
        label="Why",
        max_length=TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="On the timeline, and told to your colleague.",
        error_messages={"required": "Say why you give this step to a colleague: the reason goes on the timeline."},
    )

    def __init__(self, *args, item: WorkItem, **kwargs):
        super().__init__(*args, auto_id=f"give-{item.pk}-%s", **kwargs)
        self.fields["to"].label = f"Colleague ({item.get_queue_display().lower()})"
        self.fields["to"].widget.choices = _people(item.colleagues)


class SnoozeForm(TextGuardForm, forms.Form):
    until = forms.DateTimeField(
        label="Back in My work at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={
            "required": "Give the date and time the step should come back.",
            "invalid": "Give the date and time the step should come back (day, month, year, hour and minute).",
        },
    )
    reason = forms.CharField(label="Reason (optional)", required=False, max_length=SHORT)

    def __init__(self, *args, item: WorkItem, **kwargs):
        super().__init__(*args, auto_id=f"snooze-{item.pk}-%s", **kwargs)


class DelegationForm(TextGuardForm, forms.Form):
    to = forms.CharField(
        label="Colleague", widget=forms.Select, error_messages={"required": "Choose the colleague to delegate to."}
    )
    starts_on = forms.DateField(
        label="First day away",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Give your first day away.", "invalid": "Give your first day away as a date."},
    )
    ends_on = forms.DateField(
        label="Last day away",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Give your last day away.", "invalid": "Give your last day away as a date."},
    )
    reason = forms.CharField(label="Reason (optional)", required=False, max_length=SHORT)

    def __init__(self, *args, colleagues, **kwargs):
        super().__init__(*args, auto_id="away-%s", initial={"starts_on": timezone.localdate()}, **kwargs)
        self.fields["to"].widget.choices = _people(colleagues)


def add_refusal(form: forms.Form, refused: DomainError) -> None:
    """The service's refusal on the form: beside the field it names, else above the form."""
    for name, msgs in (refused.errors or {"__all__": [refused.detail]}).items():
        for message in msgs if isinstance(msgs, list) else [msgs]:
            form.add_error(name if name in form.fields else None, str(message))
