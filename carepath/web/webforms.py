"""HTML forms drawn from the transitions' input serializers (docs/design.md §3, §6).

The machine table names, per transition, the DRF serializer that validates its data. The web UI
renders a form from that serializer's fields and validates the POST with the same serializer, so
the UI has no second copy of the rules. Nested serializers (`severity{scale,score}`, the report's
`findings{nvc{…},lesion{…}}`) are posted as dotted names (`severity.scale`), which DRF parses from
a QueryDict.

`run_action` takes a posted form into `workflow.perform` (the one way into a transition, shared
with the API and the tasks: preflight with `Machine.check`, validate, call the service) and is the
one place a DomainError becomes something a page shows beside the fields or above the form
(`Forbidden` and a damaged form become the 403 and 400 pages in carepath/web/middleware.py).

Labels and help text come from `carepath.web.wording` (a clinician's words, not field names); a form
with errors carries an error summary (`ActionForm.summary`, drawn by includes/error_summary.html)
whose links go to each field's input (`FieldSpec.anchor`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.handlers.exception import response_for_exception
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import render
from rest_framework import serializers

from carepath.pathway import ownership, workflow
from carepath.pathway.errors import DomainError, Forbidden, InvalidData, StaleVersion, StepTaken, TransitionNotAllowed
from carepath.pathway.workflow import Machine, Transition
from carepath.web import wording

LONG_TEXT = 300  # CharFields longer than this are textareas
NON_FIELD = "non_field_errors"


@dataclass
class FieldSpec:
    name: str  # dotted, as posted
    label: str
    widget: str  # text, textarea, number, date, datetime, select, radios, checkboxes, checkbox, tristate, group
    required: bool = False
    help_text: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    value: Any = ""
    values: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    children: list[FieldSpec] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-").replace("_", "-")

    @property
    def anchor(self) -> str:
        """The id of the element an error summary links to: the input itself, or a group's first one."""
        if self.widget == "group":
            return self.children[0].anchor if self.children else self.id
        if self.widget == "tristate":
            return f"{self.id}-yes"
        if self.widget in ("radios", "checkboxes"):
            return f"{self.id}-1"
        return self.id


@dataclass
class SummaryItem:
    """One line of an error summary: "Label: message", linking to `anchor` (empty: no field to link)."""

    label: str
    message: str
    anchor: str = ""


def django_form_items(form, *, label_prefix: str = "", anchor: str = "") -> list[SummaryItem]:
    """A Django form's errors as summary lines: each field's to its input, the form's own to `anchor`."""
    if form is None or not form.is_bound:
        return []
    items = []
    for name, messages in form.errors.items():
        if name == "__all__":
            items += [SummaryItem(label_prefix.rstrip(": "), m, anchor) for m in messages]
        else:
            bound = form[name]
            items += [SummaryItem(label_prefix + str(bound.label), m, bound.id_for_label) for m in messages]
    return items


def summary_items(specs: list[FieldSpec], prefix: str = "") -> list[SummaryItem]:
    """Every field error of a form, in the form's order, each linking to its field (ids get `prefix`)."""
    items: list[SummaryItem] = []
    for spec in specs:
        items += [SummaryItem(spec.label, message, prefix + spec.anchor) for message in spec.errors]
        items += summary_items(spec.children, prefix)
    return items


def _widget(f: serializers.Field) -> str:
    if isinstance(f, serializers.Serializer):
        return "group"
    if isinstance(f, serializers.ListField) and isinstance(f.child, serializers.ChoiceField):
        return "checkboxes"
    if isinstance(f, serializers.BooleanField):
        return "tristate" if f.allow_null else "checkbox"
    if isinstance(f, serializers.ChoiceField):
        return "radios" if len(f.choices) <= 4 else "select"
    if isinstance(f, serializers.DateTimeField):
        return "datetime"
    if isinstance(f, serializers.DateField):
        return "date"
    if isinstance(f, serializers.IntegerField):
        return "number"
    if isinstance(f, serializers.CharField) and (f.max_length or 0) > LONG_TEXT:
        return "textarea"
    return "text"


def _attrs(f: serializers.Field) -> dict:
    attrs = {}
    for name in ("min_value", "max_value", "max_length"):
        value = getattr(f, name, None)
        if value is not None:
            attrs[name] = value
    return attrs


def _choices(f: serializers.Field) -> list[tuple[str, str]]:
    source = f.child if isinstance(f, serializers.ListField) else f
    return [(str(k), str(v)) for k, v in getattr(source, "choices", {}).items()]


def _initial(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _spec(name: str, f: serializers.Field, data: QueryDict | None, initial: dict, errors: dict) -> FieldSpec:
    widget = _widget(f)
    spec = FieldSpec(
        name=name,
        label=wording.label_for(name, f),
        widget=widget,
        required=bool(f.required),
        help_text=wording.help_for(name, f),
        choices=_choices(f),
        attrs=_attrs(f),
        errors=errors.get(name, []),
    )
    if widget == "group":
        spec.children = [_spec(f"{name}.{n}", c, data, initial, errors) for n, c in f.fields.items() if not c.read_only]
        spec.errors = errors.get(name, []) + errors.get(f"{name}.{NON_FIELD}", [])
        return spec
    if data is not None:  # redisplay exactly what was typed
        spec.values = data.getlist(name) if widget == "checkboxes" else []
        spec.value = data.get(name, "")
    else:
        start = initial.get(name, f.default if f.default is not serializers.empty else None)
        spec.values = [str(v) for v in start] if isinstance(start, list | tuple) else []
        spec.value = _initial(start) if widget != "checkbox" else bool(start)
    if widget == "checkbox" and data is not None:
        spec.value = data.get(name) in ("true", "on", "1")
    return spec


def _guardian_choices(obj) -> tuple[list[tuple[str, str]], str]:
    """The child's parents and carers by name for the schedule form's `guardian` (an id in the API),
    starting at the one the service would pick: the first with parental responsibility."""
    patient = obj.referral.patient if hasattr(obj, "referral") else obj.patient
    rows = list(patient.guardians.all())
    default = next((g for g in rows if g.has_parental_responsibility), rows[0] if rows else None)
    return [(str(g.pk), f"{g.name} ({g.relationship})") for g in rows], str(default.pk) if default else ""


# Fields whose options depend on the case, not on the serializer: a person picked by name, not by id.
OBJECT_CHOICES = {"guardian": _guardian_choices}


def fields_for(
    serializer_class,
    *,
    data: QueryDict | None = None,
    initial: dict | None = None,
    errors: dict | None = None,
    obj=None,
) -> list[FieldSpec]:
    if serializer_class is None:
        return []
    fields = serializer_class().fields
    specs = [_spec(n, f, data, initial or {}, errors or {}) for n, f in fields.items() if not f.read_only]
    for spec in specs:
        if obj is not None and spec.name in OBJECT_CHOICES:
            spec.choices, default = OBJECT_CHOICES[spec.name](obj)
            spec.widget, spec.attrs = "select", {}
            if data is None and spec.value == "":
                spec.value = default
    return specs


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error dicts as {dotted name: [messages]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int) and prefix:  # a list's item ("muscles" → {0: [...]}): the list's field
                name = prefix
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            for k, v in flatten_errors(value, name).items():
                flat.setdefault(k, []).extend(v)
    elif isinstance(detail, list | tuple):
        for item in detail:
            if isinstance(item, dict | list):
                for k, v in flatten_errors(item, prefix).items():
                    flat.setdefault(k, []).extend(v)
            else:
                flat.setdefault(_field_of(prefix) or NON_FIELD, []).append(str(item))
    else:
        flat.setdefault(_field_of(prefix) or NON_FIELD, []).append(str(detail))
    return flat


def _field_of(name: str) -> str:
    """A list item's error ("muscles.0", as `Machine.validate` names it for the API) belongs to
    the list's field on a form ("muscles")."""
    return ".".join(part for part in name.split(".") if not part.isdigit())


def unclaimed_errors(errors: dict[str, list[str]], specs: list[FieldSpec]) -> list[str]:
    """Messages whose field is not on the form (e.g. non_field_errors): shown above it."""
    shown: set[str] = set()

    def walk(items):
        for s in items:
            shown.add(s.name)
            shown.add(f"{s.name}.{NON_FIELD}")
            walk(s.children)

    walk(specs)
    return [m for k, msgs in errors.items() if k not in shown for m in msgs]


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


def without_blanks(serializer_class, post: QueryDict) -> QueryDict:
    """The posted data without the empty values that mean "not given".

    An empty select ("Choose…", "(default)"), date, time or number input posts "": as a value it
    is no answer at all (DRF said `"" is not a valid choice` or "Datetime has wrong format");
    absent, an optional field takes its default and a required one says it is required. Text
    keeps its "" (DRF reads it as blank), and so does a field that accepts null ("Not tested").
    """
    data = post.copy()

    def walk(fields, prefix):
        for name, f in fields.items():
            dotted = prefix + name
            if isinstance(f, serializers.Serializer):
                walk(f.fields, dotted + ".")
            elif isinstance(f, serializers.CharField) or f.allow_null or getattr(f, "allow_blank", False):
                continue
            elif data.get(dotted, None) == "":
                data.pop(dotted)

    walk(serializer_class().fields, "")
    return data


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
