"""The transitions' action forms on the pages (docs/design.md §3, §6).

The machine table names, per transition, the DRF serializer that validates its data; an action's
form is drawn from that serializer's fields (carepath/web/formfields.py) and the POST validated
with the same serializer, so the UI has no second copy of the rules.

`run_action` takes a posted form into `workflow.perform` (the one way into a transition, shared
with the API and the tasks: preflight with `Machine.check`, validate, call the service) and is the
one place a DomainError becomes something a page shows beside the fields or above the form
(`Forbidden` and a damaged form become the 403 and 400 pages in carepath/web/middleware.py).
A form with errors carries an error summary (`ActionForm.summary`, drawn by
includes/error_summary.html) whose links go to each field's input (`FieldSpec.anchor`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.handlers.exception import response_for_exception
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import render

from carepath.pathway import ownership, workflow
from carepath.pathway.errors import DomainError, Forbidden, InvalidData, StaleVersion, StepTaken, TransitionNotAllowed
from carepath.pathway.workflow import Machine, Transition
from carepath.web import wording
from carepath.web.formfields import (
    FieldSpec,
    SummaryItem,
    fields_for,
    flatten_errors,
    summary_items,
    unclaimed_errors,
    without_blanks,
)


@dataclass
class ActionForm:
    """One allowed action on one object, ready to render."""

    machine: str  # "referral" or "mri"
    object_id: int
    version: int
    transition: Transition
    fields: list[FieldSpec]
    errors: list[str] = field(default_factory=list)
    is_open: bool = False
    take_over_from: str = ""  # someone else holds the step: the form offers to take it over
    take_over: bool = False  # posted from the take-over prompt: sent again with the form
    confirm: str = ""  # the statement a required "I confirm" checkbox makes (`Transition.confirm`)
    confirm_errors: list[str] = field(default_factory=list)
    draft: bool = False  # the page offers "Save draft" (the reading page's report form)
    picker: dict | None = None  # a booking form's slot choice: its "later slots" form (imaging/capacity/picker.py)

    @property
    def name(self) -> str:
        return self.transition.name

    @property
    def description(self) -> str:
        return wording.description_for(self.transition)

    @property
    def summary(self) -> list[SummaryItem]:
        """The error summary: field errors linked to their inputs, then those with no field."""
        confirmation = [SummaryItem("Confirmation", m, f"{self.dom_id}-confirm") for m in self.confirm_errors]
        return summary_items(self.fields, f"{self.dom_id}-") + confirmation + [SummaryItem("", m) for m in self.errors]

    @property
    def dom_id(self) -> str:
        return f"action-{self.machine}-{self.object_id}-{self.name.replace('_', '-')}"


# An action that cannot be undone, only amended, asks for a deliberate confirmation on the page: a
# required checkbox next to the button (not a JavaScript confirm(): the pages run no inline script).
# Its statement is the declaration's `confirm`; before asking again for a missing confirmation the
# declaration's `precheck` (the data's own rules, the same function the service runs) is run, so one
# refusal lists every problem; the service still checks everything itself.
CONFIRM_FIELD = "confirm"


def action_forms(machine_key: str, machine: Machine, obj, user, *, initial: dict | None = None) -> list[ActionForm]:
    """The forms of the actions this user may take on `obj` now (and only those)."""
    initial = initial or {}
    return [
        ActionForm(
            machine=machine_key,
            object_id=obj.pk,
            version=obj.version,
            transition=t,
            fields=fields_for(t.input_serializer, initial=initial.get(t.name), obj=obj),
            confirm=t.confirm,
        )
        for t in (machine.get(name) for name in machine.allowed_for(obj, user))
    ]


def offer_take_over(forms: list[ActionForm], open_items, user) -> None:
    """Mark the forms whose step someone else holds (from the case's open items, already read):
    their button says whose step it takes over, so the take-over is one deliberate click."""
    held = {}
    for item in open_items:
        if item.is_primary and ownership.stands_in_for(user, item):
            key = ("mri", item.mri_request_id) if item.machine == "mri" else ("referral", item.referral_id)
            held[key] = ownership.display_name(item.assigned_to)
    for form in forms:
        form.take_over_from = form.take_over_from or held.get((form.machine, form.object_id), "")


@dataclass
class Outcome:
    ok: bool
    form: ActionForm | None = None
    banner: str = ""  # why nothing happened (stale, state moved on)
    status: int = 200
    result: Any = None


def parse_version(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise InvalidData({"version": "The form is damaged: reload the page."}) from None
    if value < 0:
        raise InvalidData({"version": "The form is damaged: reload the page."})
    return value


def run_action(machine_key: str, machine: Machine, obj, user, name: str, post: QueryDict) -> Outcome:
    """Validate and perform action `name` on `obj` for `user` from a posted form.

    Raises Http404 for an unknown action and Forbidden for one the user's role may never take;
    the caller's error pages turn those into clean 404/403 pages.
    """
    try:
        transition = machine.get(name)
    except TransitionNotAllowed:
        raise Http404("No such action") from None
    if transition.is_system or not machine.may_perform(transition, obj, user):
        raise Forbidden(f"Your role may not {transition.label.lower()} on this case.")
    version = parse_version(post.get("version"))
    form = ActionForm(
        machine=machine_key,
        object_id=obj.pk,
        version=obj.version,
        transition=transition,
        fields=fields_for(transition.input_serializer, data=post, obj=obj),
        is_open=True,
        take_over=post.get("take_over") == "1",
        confirm=transition.confirm,
    )
    data = without_blanks(transition.input, post) if transition.input else {}
    try:
        result = workflow.perform(
            machine,
            obj.pk,
            name,
            user,
            data,
            version,
            # the take-over prompt's one click posts the form again with take_over (carepath/pathway/ownership.py)
            take_over=post.get("take_over") == "1",
            preflight=obj,
            confirm=lambda validated: _require_confirmation(form, post, validated),
        )
    except StepTaken as exc:  # keep what was typed; the form now offers the take-over
        form.take_over_from = exc.holder_name
        form.errors = [exc.detail]
        return Outcome(ok=False, form=form, status=409)
    except InvalidData as exc:
        errors = flatten_errors(exc.errors)
        form.confirm_errors = errors.pop(CONFIRM_FIELD, [])
        form.fields = fields_for(transition.input_serializer, data=post, errors=errors, obj=obj)
        form.errors = unclaimed_errors(errors, form.fields)
        return Outcome(ok=False, form=form, status=400)
    except (StaleVersion, TransitionNotAllowed) as exc:
        return Outcome(ok=False, form=form, banner=exc.detail, status=409)
    except Forbidden:
        raise
    except DomainError as exc:  # any other refusal: say why, keep the input
        form.errors = [exc.detail]
        return Outcome(ok=False, form=form, status=exc.status)
    return Outcome(ok=True, result=result)


def _require_confirmation(form: ActionForm, post: QueryDict, data: dict) -> None:
    """A confirmation is asked afresh after any refusal: the box is never shown ticked again."""
    if not form.confirm or post.get(CONFIRM_FIELD) == "yes":
        return
    if form.transition.precheck is not None:
        form.transition.precheck(data)
    raise InvalidData({CONFIRM_FIELD: "Tick the box to confirm, then sign. Nothing was signed."})


# --- the pages' one mapping of a refusal that leaves a view (carepath/web/middleware.py) --------------
def page_for(request, exc: Exception) -> HttpResponse | None:
    """A refusal no form could show: `Forbidden` is the 403 page with its reason (the access rule
    lives in carepath/pathway/access.py and is checked by the service), invalid data that reached no form
    (a damaged hidden field) the 400 page. Anything else is not ours to map (None)."""
    if isinstance(exc, Forbidden):
        return response_for_exception(request, PermissionDenied(exc.detail))
    if isinstance(exc, InvalidData):
        return render(request, "400.html", {"detail": exc.detail}, status=400)
    return None


def message_for(exc: DomainError) -> str:
    """A refusal a page shows as a message and carries on; a `Forbidden` goes on to the 403 page."""
    if isinstance(exc, Forbidden):
        raise exc
    return exc.detail
