"""Hand-built JSON for hot list pages: the same keys and values as the DRF serializers, from `.values()`
rows instead of model instances and serializer fields.

Why: on a page of 50 referrals DRF spent ~1 ms per object walking ~40 field objects (attribute
lookup, the current time zone fetched per datetime, `get_FOO_display` per work item), several times
the cost of the SQL (docs/benchmarks.md). The serializers stay the contract and the OpenAPI schema;
tests compare these rows with them field for field (tests/api/test_list_rows.py).
"""

from collections import defaultdict
from datetime import date, datetime

from django.db import models
from django.utils import timezone

from carepath.models import WorkItem, WorkItemStatus
from carepath.notify.notifications import step
from carepath.pathway.dates import is_overdue

DATETIME, DATE, PLAIN = "datetime", "date", "plain"


def datetime_json(value: datetime | None, tz) -> str | None:
    """DRF's DateTimeField output: in the current time zone, ISO 8601, UTC written as Z."""
    if not value:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def columns(model, names: list[str]) -> list[tuple[str, str]]:
    """(name, kind) per column, so each row converts only its dates and times."""
    kinds = []
    for name in names:
        field = model._meta.get_field(name)
        if isinstance(field, models.DateTimeField):
            kinds.append((name, DATETIME))
        elif isinstance(field, models.DateField):
            kinds.append((name, DATE))
        else:
            kinds.append((name, PLAIN))
    return kinds


def convert(row: dict, cols: list[tuple[str, str]], tz, prefix: str = "") -> dict:
    """The JSON of one `.values()` row, for the given columns (read as `prefix + name`)."""
    out = {}
    for name, kind in cols:
        value = row[prefix + name] if prefix else row[name]
        if value is not None and kind is not PLAIN:  # most columns are plain: one test, not two
            value = datetime_json(value, tz) if kind is DATETIME else value.isoformat()
        out[name] = value
    return out


DEADLINE_COLUMNS = ["id", "kind", "queue", "assigned_to_id", "priority", "due_at"]


def deadline_from_row(item: dict, now: datetime) -> dict:
    """carepath.api.common.deadline, from a `.values()` row."""
    due = item["due_at"]
    return {
        "work_item": item["id"],
        "kind": item["kind"],
        "label": step(item["kind"]),
        "queue": item["queue"],
        "assigned_to": item["assigned_to_id"],
        "priority": item["priority"],
        "due_at": due.isoformat().replace("+00:00", "Z") if due else None,
        "overdue": is_overdue(due, now),
    }


def open_deadlines(owner_field: str, ids: list[int], now: datetime) -> dict[int, list[dict]]:
    """Open work items of a page's objects, grouped by owner id, soonest due first: one query."""
    grouped = defaultdict(list)
    items = (
        WorkItem.objects.filter(**{f"{owner_field}__in": ids}, status=WorkItemStatus.OPEN)
        .order_by("due_at", "id")
        .values(owner_field, *DEADLINE_COLUMNS)
    )
    for item in items:
        grouped[item[owner_field]].append(deadline_from_row(item, now))
    return grouped


def open_deadlines_subquery(owner_field: str):
    """PostgreSQL only: the open work items of each row as a JSON array in the page's own query (the
    page and its deadlines in one round trip, as the hand-written baseline does). Read with
    `deadlines_from_json`."""
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models import OuterRef
    from django.db.models.functions import JSONObject

    items = WorkItem.objects.filter(**{owner_field: OuterRef("pk")}, status=WorkItemStatus.OPEN).order_by(
        "due_at", "id"
    )
    return ArraySubquery(items.values(json=JSONObject(**{name: name for name in DEADLINE_COLUMNS})))


def deadlines_from_json(items: list[dict], now: datetime) -> list[dict]:
    """PostgreSQL writes times in JSON with trimmed fractions ("…:48.1+00:00"): parse, then format as Python does."""
    return [deadline_from_row({**item, "due_at": _parsed(item["due_at"], DATETIME)}, now) for item in items]


def json_rows(items: list[dict], cols: list[tuple[str, str]], tz) -> list[dict]:
    """Rows PostgreSQL wrote as JSON (`JSONObject`): dates and times are text there; parse, then convert."""
    return [convert({name: _parsed(item[name], kind) for name, kind in cols}, cols, tz) for item in items]


def _parsed(text: str | None, kind: str):
    if text is None or kind is PLAIN:
        return text
    return datetime.fromisoformat(text) if kind is DATETIME else date.fromisoformat(text)


def in_order(found: list[dict], ids: list[int]) -> list[dict]:
    """A page's rows in the order the paginator gave their ids (one that vanished meanwhile is skipped)."""
    by_id = {row["id"]: row for row in found}
    return [by_id[pk] for pk in ids if pk in by_id]


def current_timezone():
    return timezone.get_current_timezone()
