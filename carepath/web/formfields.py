"""Form fields drawn from a serializer, and the errors beside them (docs/design.md §6, docs/ui.md).

The web UI renders a form from an input serializer's fields (`fields_for`: the same serializer that
validates the POST, so the UI has no second copy of the rules). Nested serializers
(`severity{scale,score}`, the report's `findings{nvc{…},lesion{…}}`) are posted as dotted names
(`severity.scale`), which DRF parses from a QueryDict. Labels and help text come from
`carepath.web.wording` (a clinician's words, not field names); DRF's nested errors are flattened to
dotted names (`flatten_errors`) and drawn beside their field, or in an error summary
(`SummaryItem`, drawn by includes/error_summary.html) whose links go to each field's input
(`FieldSpec.anchor`). The transitions' action forms built from these are in
carepath/web/webforms.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from rest_framework import serializers

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
        if self.widget in ("radios", "checkboxes", "slots"):  # slots: imaging/capacity/picker.py
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
    if widget == "checkboxes" and f.style.get("ordered"):
        spec.choices = _chosen_first(spec.choices, spec.values)
    return spec


def _chosen_first(choices: list[tuple[str, str]], chosen: list[str]) -> list[tuple[str, str]]:
    """An ordered list's checkboxes: the chosen ones first, in their order, then the rest. A browser
    posts checkboxes in page order, so the order survives a post (the first muscle affected stays
    first), and one ticked later is added last."""
    labels = dict(choices)
    return [(v, labels[v]) for v in chosen if v in labels] + [(v, lbl) for v, lbl in choices if v not in chosen]


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


def int_or_none(raw) -> int | None:
    """A posted or queried id or number; anything else is None (the page then finds nothing: a 404)."""
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None
