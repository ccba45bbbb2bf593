"""The worklist's page as JSON, built from `.values()` rows read in one prepared query (carepath/db/
compiled.py) instead of DRF serializing model instances: the same keys and values as
`WorkItemSerializer` (carepath/api/views.py), which stays the contract and the schema
(tests/api/test_worklist_api.py compares the two field for field). Measured against plain Django and
DRF in docs/benchmarks.md ("Run 10": the lists without the compiled code)."""

from django.db import connection
from django.db.models import F

from carepath.db.compiled import AnyOf, CompiledValues
from carepath.models import WorkItem, case_reference, initials
from carepath.notify.notifications import step
from carepath.pathway import access, selectors
from carepath.pathway.dates import is_overdue

from . import rows
from .common import link

ITEM_FIELDS = [
    "id",
    "kind",
    "label",
    "machine",
    "is_primary",
    "queue",
    "assigned_to",
    "status",
    "priority",
    "due_at",
    "overdue",
    "created_at",
    "note",
    "snoozed_until",
    "follows",
    "referral",
    "mri_request",
    "allowed_actions",
    "links",
]

# DRF cost ~0.5 ms an item, several times the page's SQL (docs/benchmarks.md).
_ITEM_COLUMNS = rows.columns(
    WorkItem,
    ["id", "kind", "machine", "is_primary", "queue", "assigned_to", "status", "priority", "due_at"]
    + ["created_at", "note", "mri_request", "snoozed_until", "follows"],
)
_ITEM_VALUES = [name for name, _ in _ITEM_COLUMNS] + [
    "referral_id",
    "referral__state",
    "referral__patient__given_name",
    "referral__patient__family_name",
]
_WORKLIST_PAGE = CompiledValues(
    lambda user, ids: selectors.worklist_for(user).filter(AnyOf(F("pk"), ids)).order_by().values(*_ITEM_VALUES)
)


def worklist_rows(user, ids: list[int], *, along: tuple[str, list] | None = None) -> list[dict]:
    """The page's items in this order: on PostgreSQL one prepared query; the access rules apply again.
    `along`: a statement run with the read (the page's audit row, `audit.list_along`)."""
    if connection.vendor == "postgresql":
        found = _WORKLIST_PAGE.rows(access.plan_key(user), along=along, user=user, ids=ids) if ids else []
    else:
        found = list(selectors.worklist_for(user).filter(pk__in=ids).values(*_ITEM_VALUES))
    return rows.in_order(found, ids)


def worklist_json(page: list[dict], *, user, now) -> list[dict]:
    tz = rows.current_timezone()
    out = []
    for row in page:
        pk, referral_id, mri = row["id"], row["referral_id"], row["mri_request"]
        computed = {
            "label": step(row["kind"]),
            "overdue": is_overdue(row["due_at"], now),
            "referral": {
                "id": referral_id,
                "reference": case_reference(referral_id),
                "state": row["referral__state"],
                "patient_initials": initials(
                    row["referral__patient__given_name"], row["referral__patient__family_name"]
                ),
            },
            "allowed_actions": item_actions(row["assigned_to"], user),
            "links": {
                "self": link("api-worklist-detail", pk),
                "referral": link("api-referral-detail", referral_id),
                "mri_request": link("api-mri-request-detail", mri) if mri else None,
            },
        }
        plain = rows.convert(row, _ITEM_COLUMNS, tz)
        out.append({name: computed[name] if name in computed else plain[name] for name in ITEM_FIELDS})
    return out


def item_actions(assigned_to: int | None, user) -> list[str]:
    """What the worklist's reader may do to an item of their worklist: an unclaimed one of their
    queue, one they hold, or one a colleague away delegated to them (which they may give on)."""
    if assigned_to is None:
        return ["claim", "reassign", "snooze"]
    return ["release", "reassign", "snooze"] if assigned_to == user.pk else ["reassign"]
