"""The referral list's page and a referral's detail as JSON, built from `.values()` rows in one prepared
query each (carepath/db/compiled.py) instead of DRF serializing model instances: the same keys and values
as `ReferralSerializer` and `ReferralDetailSerializer`, which stay the contract and the schema
(tests/api/test_list_rows.py, tests/api/test_detail_rows.py compare them field for field)."""

from collections import defaultdict

from django.db import connection
from django.db.models import F, OuterRef

from carepath.api import rows
from carepath.api.common import link
from carepath.db.compiled import AnyOf, CompiledValues
from carepath.models import case_reference
from carepath.pathway import access, audit
from imaging.models import MRIRequest

from . import selectors
from .machine import REFERRAL_MACHINE
from .models import Assessment, NeurosurgeryConsult, Outcome, Patient, Referral
from .serializers import (
    AssessmentSerializer,
    ConsultSerializer,
    OutcomeSerializer,
    PatientSummarySerializer,
    ReferralSerializer,
)

# --- the list page, hand-built ---------------------------------------------------------------------
# Same keys and values as ReferralSerializer (it stays the contract and the schema; a test compares the
# two field for field), built from `.values()` rows: DRF cost ~1 ms per object on a page of 50.
_COMPUTED = {"reference", "patient", "allowed_transitions", "deadlines", "mri_requests", "links"}
_LIST_FIELDS = ReferralSerializer.Meta.fields
_REFERRAL_COLUMNS = rows.columns(Referral, [name for name in _LIST_FIELDS if name not in _COMPUTED])
_PATIENT_COLUMNS = rows.columns(Patient, PatientSummarySerializer.Meta.fields)
LIST_VALUES = [name for name, _ in _REFERRAL_COLUMNS] + [f"patient__{name}" for name, _ in _PATIENT_COLUMNS]


class _Case:
    """What the machine's role and relation checks read of a case (see referrals.machine.is_referrer)."""

    __slots__ = ("pk", "state", "referred_by_id", "created_by_id")

    def __init__(self, row: dict):
        self.pk, self.state = row["id"], row["state"]
        self.referred_by_id, self.created_by_id = row["referred_by"], row["created_by"]


def list_values(queryset, *more, **more_expressions):
    """The list's columns; on PostgreSQL with each case's open work items and MRI ids as arrays."""
    if connection.vendor != "postgresql":
        return queryset.values(*LIST_VALUES, *more)
    from django.contrib.postgres.expressions import ArraySubquery

    mris = MRIRequest.objects.filter(referral=OuterRef("pk")).order_by("requested_at").values("id")
    return queryset.values(
        *LIST_VALUES,
        *more,
        open_items=rows.open_deadlines_subquery("referral"),
        mri_ids=ArraySubquery(mris),
        **more_expressions,
    )


_PAGE = CompiledValues(lambda user, ids: list_values(selectors.referrals_visible_to(user).filter(AnyOf(F("pk"), ids))))


def page_rows(user, ids: list[int], *, along: tuple[str, list] | None = None) -> list[dict]:
    """The `list_values` rows of these cases, in this order: on PostgreSQL one prepared query, the
    same for every page (`AnyOf`); the access rules apply again. `along`: a statement run with the
    read (the page's audit row, `audit.list_along`)."""
    if connection.vendor == "postgresql":
        found = _PAGE.rows(access.plan_key(user), along=along, user=user, ids=ids) if ids else []
    else:
        found = list(list_values(selectors.referrals_visible_to(user).filter(pk__in=ids)))
    return rows.in_order(found, ids)


def _page_relations(ids: list[int], now) -> tuple[dict, dict]:
    """Elsewhere (SQLite): two queries for the page's open work items and MRI ids."""
    mri_ids = defaultdict(list)
    for referral_id, mri_id in (
        MRIRequest.objects.filter(referral_id__in=ids).order_by("requested_at").values_list("referral_id", "id")
    ):
        mri_ids[referral_id].append(mri_id)
    return rows.open_deadlines("referral_id", ids, now), mri_ids


def referral_list_page(page: list[dict], *, user, now) -> list[dict]:
    """The JSON of a page of `LIST_VALUES` rows: two queries (open work items, MRI ids) for the page."""
    if page and "open_items" in page[0]:  # PostgreSQL: fetched with the page (list_values)
        deadlines = {row["id"]: rows.deadlines_from_json(row["open_items"], now) for row in page}
        mri_ids = {row["id"]: row["mri_ids"] for row in page}
    else:
        deadlines, mri_ids = _page_relations([row["id"] for row in page], now)
    tz = rows.current_timezone()
    allowed = {}
    out = []
    for row in page:
        pk = row["id"]
        key = (row["state"], row["referred_by"], row["created_by"])
        if key not in allowed:
            allowed[key] = REFERRAL_MACHINE.allowed_for(_Case(row), user)
        mris = mri_ids.get(pk, [])
        computed = {
            "reference": case_reference(pk),
            "patient": rows.convert(row, _PATIENT_COLUMNS, tz, prefix="patient__"),
            "allowed_transitions": list(allowed[key]),
            "deadlines": deadlines.get(pk, []),
            "mri_requests": mris,
            "links": {
                "self": link("api-referral-detail", pk),
                "patient": link("api-patient-detail", row["patient__id"]),
                "events": link("api-referral-events", pk),
                "fhir": link("api-referral-fhir", pk),
                "transitions": link("api-referral-transitions", pk),
                "mri_requests": [link("api-mri-request-detail", mri) for mri in mris],
            },
        }
        plain = rows.convert(row, _REFERRAL_COLUMNS, tz)
        out.append({name: computed[name] if name in computed else plain[name] for name in _LIST_FIELDS})
    return out


# --- the detail, hand-built ------------------------------------------------------------------------
# The list's row plus the assessment, outcome and consults, in one query on PostgreSQL, compiled once per
# role set (carepath/db/compiled.py); same keys and values as ReferralDetailSerializer (tests compare them).
_ASSESSMENT_COLUMNS = rows.columns(Assessment, AssessmentSerializer.Meta.fields)
_OUTCOME_COLUMNS = rows.columns(Outcome, OutcomeSerializer.Meta.fields)
_CONSULT_COLUMNS = rows.columns(NeurosurgeryConsult, ConsultSerializer.Meta.fields)
_ONE_TO_ONE = {"assessment": _ASSESSMENT_COLUMNS, "outcome": _OUTCOME_COLUMNS}
DETAIL_VALUES = [f"{part}__{name}" for part, cols in _ONE_TO_ONE.items() for name, _ in [("id", ""), *cols]]


def _consults(owner):
    return NeurosurgeryConsult.objects.filter(referral=owner).order_by("requested_at", "id")


def detail_values(queryset):
    if connection.vendor != "postgresql":
        return list_values(queryset, *DETAIL_VALUES)
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models.functions import JSONObject

    consults = _consults(OuterRef("pk")).values(json=JSONObject(**{name: name for name, _ in _CONSULT_COLUMNS}))
    return list_values(queryset, *DETAIL_VALUES, consult_rows=ArraySubquery(consults))


_DETAIL = CompiledValues(lambda user, pk: detail_values(selectors.referrals_visible_to(user)).filter(pk=pk))


def view_along(user) -> tuple[str, list] | None:
    """The API detail's audit row, to send with `referral_detail_json(along=…)`: written in the same
    statement as the read, from the row it returns, so only for a case the caller may see, with its
    patient (`audit.view_along`). None when it cannot ride along (SQLite, inside a transaction): the
    caller records the view after the read."""
    return audit.view_along(user, Referral, "api", patient_column="patient__id")


def referral_detail_json(user, pk: int, *, now, along: tuple[str, list] | None = None) -> dict | None:
    """The case as `ReferralDetailSerializer` writes it, or None if `user` may not see it. `along`:
    a statement run with the read, on its row (the view's audit row, `view_along`)."""
    found = _DETAIL.rows(access.plan_key(user), along=along, user=user, pk=int(pk))
    if not found:
        return None
    row, tz = found[0], rows.current_timezone()
    out = referral_list_page([row], user=user, now=now)[0]
    out["assessment"] = _one_to_one(row, "assessment", tz)
    if "consult_rows" in row:  # PostgreSQL: fetched with the case
        out["consults"] = rows.json_rows(row["consult_rows"], _CONSULT_COLUMNS, tz)
    else:
        consults = _consults(row["id"]).values(*(name for name, _ in _CONSULT_COLUMNS))
        out["consults"] = [rows.convert(c, _CONSULT_COLUMNS, tz) for c in consults]
    out["outcome"] = _one_to_one(row, "outcome", tz)
    return out


def _one_to_one(row: dict, part: str, tz) -> dict | None:
    if row[f"{part}__id"] is None:
        return None
    return rows.convert(row, _ONE_TO_ONE[part], tz, prefix=f"{part}__")
