"""Message texts rendered once per shape and filled in per message (used by carepath.notify.notifications
and carepath.notify.family).

A sweep writes hundreds of messages that differ only in names, references, links and times. Each
template is rendered once per *shape* (template, language, time zone, the `fixed` values, which
`varying` values are empty) with placeholders for the varying values, then filled in per message
with plain string work (a render costs ~0.2 ms; a fill is mostly the cost of formatting its dates).
Varying values may be printed, escaped or formatted with `date`; the first fill of each shape is
checked against a full render, and a template the placeholders cannot stand in for (say `|upper` on
a varying value) is always rendered in full.
"""

import logging
import re
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.dispatch import receiver
from django.template.base import VariableNode
from django.template.context import make_context
from django.template.defaultfilters import date as date_filter
from django.template.loader import get_template, render_to_string
from django.utils import dateformat, dates, timezone, translation
from django.utils.autoreload import file_changed
from django.utils.formats import localize
from django.utils.html import conditional_escape

log = logging.getLogger(__name__)


class _Slot:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __str__(self) -> str:
        return f"\x00{self.name}\x00"

    def __html__(self) -> str:  # autoescaped output: escape the value when filling in
        return f"\x00{self.name}\x02\x00"

    def __format__(self, spec: str) -> str:  # the `date` filter falls back to format() for non-dates
        return f"\x00{self.name}\x01{spec}\x00"


def _date_or_slot(value, arg=None):
    return format(value, arg) if isinstance(value, _Slot) else date_filter(value, arg)


_date_or_slot.expects_localtime = True


@lru_cache(maxsize=64)
def _shape_template(template_name: str):
    """The template compiled once more, its `date` filters leaving a placeholder for a `_Slot`."""
    compiled = get_template(template_name).template
    template = compiled.engine.from_string(compiled.source)
    for node in template.nodelist.get_nodes_by_type(VariableNode):
        expression = node.filter_expression
        expression.filters = [(_date_or_slot if f is date_filter else f, args) for f, args in expression.filters]
    return template


# Django's `date` costs ~40 µs a call, most of it looking up the day and month names through the
# lazy translation machinery each time, and a sweep prints two dates per message. The format
# characters our templates use are done here with the names looked up once per language; a spec with
# any other character (or an escape) goes to Django.
_DATE_CHARS = {
    "D": lambda d, names: names["D"][d.weekday()],
    "l": lambda d, names: names["l"][d.weekday()],
    "M": lambda d, names: names["M"][d.month - 1],
    "F": lambda d, names: names["F"][d.month - 1],
    "j": lambda d, names: str(d.day),
    "Y": lambda d, names: f"{d.year:04d}",
    "H": lambda d, names: f"{d.hour:02d}",
    "i": lambda d, names: f"{d.minute:02d}",
}


@lru_cache(maxsize=16)
def _date_names(language: str | None) -> dict[str, tuple[str, ...]]:
    return {
        "D": tuple(str(dates.WEEKDAYS_ABBR[day]) for day in range(7)),
        "l": tuple(str(dates.WEEKDAYS[day]) for day in range(7)),
        "M": tuple(str(dates.MONTHS_3[month]).title() for month in range(1, 13)),
        "F": tuple(str(dates.MONTHS[month]) for month in range(1, 13)),
    }


@lru_cache(maxsize=64)
def _date_pieces(spec: str) -> tuple[str, ...] | None:
    """Literal text and format characters alternating, or None when Django should do this spec."""
    pieces = tuple(dateformat.re_formatchars.split(spec))
    if "\\" in spec or any(char not in _DATE_CHARS for char in pieces[1::2]):
        return None
    return pieces


def format_date(value, spec: str, language: str | None = None) -> str:
    """`django.utils.dateformat.format(value, spec)` for a datetime, faster for the specs we use."""
    pieces = _date_pieces(spec)
    if pieces is None:
        return dateformat.format(value, spec)
    names = _date_names(language or translation.get_language())
    return "".join(_DATE_CHARS[piece](value, names) if i % 2 else piece for i, piece in enumerate(pieces))


_SLOT = re.compile("\x00([^\x00\x01\x02]+)(?:(\x02)|\x01([^\x00]*))?\x00")
_FULL_RENDER = object()
_shapes: dict[tuple, object] = {}


def _slots(varying: dict) -> tuple[dict, tuple]:
    """Context with placeholders for the non-empty varying values, and the part of the shape key they give."""
    context, key = {}, []
    for name, value in varying.items():
        if isinstance(value, dict) and value:
            context[name] = {k: _Slot(f"{name}.{k}") if v else v for k, v in value.items()}
            key.append((name, tuple((k, bool(v)) for k, v in value.items())))
        else:
            context[name] = _Slot(name) if value else value
            key.append((name, bool(value)))
    return context, tuple(key)


def _fill(text: str, varying: dict, zone, language: str | None) -> str:
    """The shape with the message's values; its dates in the zone and language of the render (looked
    up once per message, not once per date: each lookup goes through a context-local)."""

    def value(match: re.Match) -> str:
        name, escaped, spec = match.groups()
        head, _, tail = name.partition(".")
        v = _local(varying[head][tail] if tail else varying[head], zone)
        if spec is not None:
            return format_date(v, spec, language)
        text = v if isinstance(v, str) else str(localize(v))
        return conditional_escape(text) if escaped else text

    return _SLOT.sub(value, text)


def _local(value, zone):
    """`timezone.template_localtime(value)` in a zone already looked up."""
    convert = isinstance(value, datetime) and timezone.is_aware(value) and getattr(value, "convert_to_local_time", True)
    return value.astimezone(zone) if convert and settings.USE_TZ else value


@receiver(file_changed)
def _forget_shapes(sender, **kwargs) -> None:
    """runserver reloads templates without restarting: drop the shapes rendered from the old ones."""
    _shapes.clear()
    _shape_template.cache_clear()


def render_text(template_name: str, *, fixed: dict, varying: dict) -> str:
    """`render_to_string(template_name, fixed | varying).strip()`, cheaply (see above)."""
    context, slot_key = _slots(varying)
    language, zone = translation.get_language(), timezone.get_current_timezone()
    key = (template_name, language, zone, tuple(sorted(fixed.items())), slot_key)
    shape = _shapes.get(key)
    if shape is _FULL_RENDER:
        return render_to_string(template_name, fixed | varying).strip()
    if shape is not None:
        return _fill(shape, varying, zone, language)
    template = _shape_template(template_name)
    shape = template.render(make_context(fixed | context, autoescape=template.engine.autoescape)).strip()
    full = render_to_string(template_name, fixed | varying).strip()
    if len(_shapes) > 1000:  # a bound, not an expected size: shapes are few
        _shapes.clear()
    try:
        fits = _fill(shape, varying, zone, language) == full
    except KeyError:  # a filter changed a placeholder (e.g. |upper)
        fits = False
    if not fits:
        log.warning("template %s cannot be filled in per message; rendering it in full", template_name)
        shape = _FULL_RENDER
    _shapes[key] = shape
    return full


# --- how long, in words ----------------------------------------------------------------------------
def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def duration_words(delta) -> str:
    """A time span as a clinician says it: "1 hour", "3 hours", "1 day and 4 hours", "5 days",
    "2 weeks". Rounded to the unit shown (never below 1 minute), so "about" reads true in front of it.
    Reminders compute it when they are sent, from the deadline and the sending time (docs/timers.md)."""
    minutes = max(1, round(abs(delta.total_seconds()) / 60))
    if minutes < 60:
        return _count(minutes, "minute")
    hours = round(minutes / 60)
    if hours < 24:
        return _count(hours, "hour")
    days, rest = divmod(hours, 24)
    if days == 1:
        return _count(1, "day") + (f" and {_count(rest, 'hour')}" if rest else "")
    if days < 14:
        return _count(round(hours / 24), "day")
    return _count(round(hours / 24 / 7), "week")
