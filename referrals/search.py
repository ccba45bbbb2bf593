"""Search for staff (issue 13 item 10): one box in every page's header finds a case by its case
number, or a child by MRN or name, among the cases the user may see (carepath/pathway/access.py).
Every search is audited with its words and who searched (docs/decisions.md, "Search").

Who: the clinical roles and admins. Pediatricians too, but the access rules keep them to their own
referrals and the children they registered (or share). API clients have no search: an integration
knows its own identifiers and reads by id or `?mrn=`.

Indexed: a case number is the referral's primary key; an MRN is the unique `mrn_key`; a name is a
prefix of the indexed `name_key` ("family given", normalised: carepath/pathway/identity.py), tried in both
orders when several words are typed ("Robin Hale" and "Hale Robin" both find HALE, Robin).
"""

import re
from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from carepath.models import AuditLog
from carepath.pathway import access, audit, identity
from carepath.pathway.roles import Role, has_role

from . import selectors
from .models import Patient, Referral

SEARCH_ROLES = (
    Role.PEDIATRICIAN,
    Role.NEUROLOGIST,
    Role.IMAGING_COORDINATOR,
    Role.NEURORADIOLOGIST,
    Role.NEUROSURGEON,
    Role.ADMIN,
)
LIMIT = 50
MAX_QUERY = 100
MIN_NAME = 2  # one letter would list a fifth of the children
CASE_NUMBER = re.compile(r"^(?:cp)?[\s-]*0*(\d{1,12})$", re.IGNORECASE)


def may_search(user) -> bool:
    return has_role(user, *SEARCH_ROLES)


@dataclass
class Results:
    query: str
    cases: list[Referral] = field(default_factory=list)
    children: list[Patient] = field(default_factory=list)  # matched, without a case you may see
    too_short: bool = False

    @property
    def count(self) -> int:
        return len(self.cases) + len(self.children)


def _patient_match(query: str) -> Q | None:
    """Children whose MRN is the query, or whose name starts with it (either word order)."""
    match = Q(mrn_key=identity.mrn_key(query))
    words = identity.search_key(query)
    if len(words) >= MIN_NAME:
        match |= Q(name_key__startswith=words)
        parts = words.split(" ")
        if len(parts) > 1:  # "robin hale" → "hale robin"
            match |= Q(name_key__startswith=" ".join([*parts[1:], parts[0]]))
    return match


def search(user, query: str) -> Results:
    """Cases and children matching `query` that `user` may see (carepath/pathway/access.py)."""
    query = identity.clean(query)[:MAX_QUERY]
    results = Results(query=query)
    if not query:
        return results
    patients = Patient.objects.filter(_patient_match(query))
    # the ids first (a few, from the two indexes), so the cases are read by `patient_id` and `id`
    # alone: an `IN (subquery) OR id = …` made PostgreSQL scan every case
    patient_ids = list(patients.values_list("pk", flat=True)[: LIMIT * 4])
    match = Q(patient_id__in=patient_ids)
    number = CASE_NUMBER.match(query)
    if number:
        match |= Q(pk=int(number.group(1)))
    results.cases = list(selectors.referrals_visible_to(user).filter(match).order_by("-submitted_at", "-id")[:LIMIT])
    with_case = {r.patient_id for r in results.cases}
    visible = Patient.objects.filter(access.patient_q(user), pk__in=patient_ids).order_by("family_name", "given_name")
    results.children = [p for p in visible[:LIMIT] if p.pk not in with_case]
    results.too_short = len(identity.search_key(query)) < MIN_NAME and not number and not results.count
    return results


def _audit(user, results: Results) -> None:
    """Every search, found or not: who, the words typed, what was shown."""
    children = {r.patient_id for r in results.cases} | {p.pk for p in results.children}
    audit.record_event(
        user,
        AuditLog.Action.LIST,
        "search",
        patient_id=next(iter(children)) if len(children) == 1 else None,
        changes={
            "query": results.query,
            "cases": [r.pk for r in results.cases],
            "patients": sorted(children),
        },
    )


@login_required
def search_view(request: HttpRequest) -> HttpResponse:
    if not may_search(request.user):
        raise PermissionDenied("Search is for clinical staff.")
    results = search(request.user, request.GET.get("q", ""))
    if results.query:
        _audit(request.user, results)
    context = {
        "results": results,
        "search_query": results.query,
        "may_refer": access.can_create_referral(request.user),
        "limit": LIMIT,
    }
    return render(request, "referrals/search.html", context)
