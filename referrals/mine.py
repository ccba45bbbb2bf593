"""My referrals (issue 13, item 2): every referral the signed-in clinician sent, where it is in
plain words, who holds it, when that step is due, when it last changed, and whether it waits on
them. Filtered by state and sorted by a column in SQL; numbered pages of 50 (docs/ui.md).

A referrer's own list is small (tens to a few hundred cases, read through the `referral_referrer`
index), so a page's offset costs nothing worth a cursor; the API's keyset cursor serves the same
list to EHR clients (`GET /api/v1/referrals/?referred_by=me`)."""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import dateformat, timezone

from carepath.models import WorkItem, WorkItemKind, WorkItemStatus
from carepath.pathway import access, audit
from carepath.pathway.roles import Role
from imaging.machine import MRI_MACHINE
from imaging.models import MRIRequest

from . import selectors
from .choices import ReferralState as S
from .models import Referral

PAGE_SIZE = 50
# Steps that wait on the referrer: the item is theirs by name (referrals.machine.REFERRER_STEPS).
AWAITING_REFERRER = {
    WorkItemKind.ANSWER_QUERY: "Awaiting your answer",
    WorkItemKind.ACKNOWLEDGE_OUTCOME: "Awaiting your acknowledgement",
}
# What each open step means to the referrer (the work item labels are written for whoever does it).
STEP_WORDS = {
    WorkItemKind.TRIAGE: "Waiting for neurology to triage it",
    WorkItemKind.ANSWER_QUERY: "Neurology asked you a question",
    WorkItemKind.FIRST_ASSESSMENT: "Triaged; waiting for the first neurology visit",
    WorkItemKind.DECIDE_NEXT_STEP: "Seen by neurology; deciding on an MRI or the outcome",
    WorkItemKind.PROTOCOL_MRI: "MRI requested; the radiologist is planning the scan",
    WorkItemKind.SCHEDULE_MRI: "MRI waiting to be booked",
    WorkItemKind.REBOOK_MRI: "MRI to be booked again",
    WorkItemKind.PERFORM_MRI: "MRI booked",
    WorkItemKind.REPORT_MRI: "MRI done; waiting for the report",
    WorkItemKind.RESULTS_REVIEW: "MRI reported; neurology is reviewing the result",
    WorkItemKind.NEUROSURGERY_CONSULT: "With neurosurgery for an opinion",
    WorkItemKind.ACKNOWLEDGE_OUTCOME: "Outcome letter ready for you",
}
FINISHED_WORDS = {
    S.CLOSED: "Closed: outcome acknowledged",
    S.DECLINED: "Declined by neurology",
    S.CANCELLED: "Cancelled",
}
TEAMS = {
    Role.NEUROLOGIST: "Neurology",
    Role.IMAGING_COORDINATOR: "Imaging coordinators",
    Role.NEURORADIOLOGIST: "Neuroradiology",
    Role.NEUROSURGEON: "Neurosurgery",
    Role.PEDIATRICIAN: "Referring pediatrician",
}
# ?state= values besides the states themselves
OPEN, AWAITING = "open", "awaiting"


def _state_order():
    return Case(*(When(state=s, then=Value(i)) for i, s in enumerate(S.values)), output_field=IntegerField())


# ?sort= column → SQL order (ascending); "-column" descends. Each ends with the id so pages are stable.
SORTS = {
    "case": (F("submitted_at"),),
    "child": (F("patient__family_name"), F("patient__given_name")),
    "step": (_state_order(),),
    "due": (F("due_at"),),
    "updated": (F("updated_at"),),
}
DEFAULT_SORT = "-updated"


def sent_by(user) -> QuerySet[Referral]:
    """Referrals this user sent (as the referrer, or as the EHR client that sent them), within what
    they may see. The API's `referred_by=me` filters the same way."""
    return Referral.objects.filter(access.referral_q(user)).filter(selectors.sent_by_q(user))


def _current_step():
    return WorkItem.objects.filter(referral=OuterRef("pk"), status=WorkItemStatus.OPEN, is_primary=True).order_by(
        "due_at", "id"
    )


def _awaiting(user) -> Exists:
    return Exists(
        WorkItem.objects.filter(
            referral=OuterRef("pk"), status=WorkItemStatus.OPEN, assigned_to=user, kind__in=list(AWAITING_REFERRER)
        )
    )


def listing(user, *, state: str = "", sort: str = DEFAULT_SORT) -> QuerySet[Referral]:
    rows = sent_by(user).annotate(due_at=Subquery(_current_step().values("due_at")[:1]), awaiting=_awaiting(user))
    if state == OPEN:
        rows = rows.exclude(state__in=FINISHED_WORDS)
    elif state == AWAITING:
        rows = rows.filter(awaiting=True)
    elif state in S.values:
        rows = rows.filter(state=state)
    column = sort.lstrip("-")
    descending = sort.startswith("-")
    order = [
        e.desc(nulls_last=True) if descending else e.asc(nulls_last=True) for e in SORTS.get(column, SORTS["updated"])
    ]
    order.append(F("id").desc() if descending else F("id").asc())
    steps = WorkItem.objects.filter(status=WorkItemStatus.OPEN, is_primary=True).select_related("assigned_to")
    mris = MRIRequest.objects.filter(state__in=MRI_MACHINE.open_states).select_related("appointment")
    return (
        rows.select_related("patient")
        .prefetch_related(
            Prefetch("work_items", queryset=steps, to_attr="open_steps"),
            Prefetch("mri_requests", queryset=mris, to_attr="open_mris"),
        )
        .order_by(*order)
    )


@dataclass
class Row:
    referral: Referral
    step: str
    held_by: str
    due_at: object
    awaiting: str


def _row(referral: Referral, user) -> Row:
    item = min(referral.open_steps, key=lambda i: (i.due_at is None, i.due_at, i.pk), default=None)
    if item is None:
        step = FINISHED_WORDS.get(referral.state, referral.get_state_display())
        if referral.state == S.CLOSED and referral.loop_closed_unacknowledged:
            step = "Closed without your acknowledgement"
        return Row(referral, step, "—", None, "")
    step = STEP_WORDS.get(item.kind, item.get_kind_display())
    appointment = next((m.appointment for m in referral.open_mris if m.appointment_id), None)
    if item.kind == WorkItemKind.PERFORM_MRI and appointment is not None:
        step = f"MRI booked for {dateformat.format(timezone.localtime(appointment.start), 'D j M Y H:i')}"
    if item.assigned_to_id == user.pk:
        held_by = "You"
    elif item.assigned_to_id:
        held_by = item.assigned_to.get_full_name() or item.assigned_to.get_username()
    else:
        held_by = f"{TEAMS.get(item.queue, item.get_queue_display())} (queue)"
    awaiting = AWAITING_REFERRER.get(item.kind, "") if referral.awaiting else ""
    return Row(referral, step, held_by, item.due_at, awaiting)


def state_choices() -> list[tuple[str, str]]:
    return [("", "All referrals"), (OPEN, "Open"), (AWAITING, "Awaiting you"), *S.choices]


@login_required
def my_referrals(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not access.can_create_referral(user):
        raise PermissionDenied("My referrals lists the referrals you sent; your role does not refer.")
    state = request.GET.get("state", "")
    state = state if state in dict(state_choices()) else ""
    sort = request.GET.get("sort", DEFAULT_SORT)
    sort = sort if sort.lstrip("-") in SORTS else DEFAULT_SORT
    page = Paginator(listing(user, state=state, sort=sort), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [_row(r, user) for r in page.object_list]
    audit.record_list(user, Referral, sorted(r.referral.pk for r in rows), query=request.GET.urlencode())
    columns = [
        ("case", "Case"),
        ("child", "Child"),
        ("step", "Where it is"),
        (None, "Held by"),
        ("due", "Step due"),
        ("updated", "Last change"),
    ]
    headers = [
        {"key": key, "label": label, "sort": _next_sort(key, sort), "current": _direction(key, sort)}
        for key, label in columns
    ]
    context = {
        "rows": rows,
        "page": page,
        "state": state,
        "sort": sort,
        "headers": headers,
        "states": state_choices(),
        "now": timezone.now(),
    }
    return render(request, "referrals/my_referrals.html", context)


def _next_sort(key: str | None, sort: str) -> str:
    """The sort a column's heading links to: ascending, or descending if it is already ascending."""
    if key is None:
        return ""
    return f"-{key}" if sort == key else key


def _direction(key: str | None, sort: str) -> str:
    """aria-sort for a column heading."""
    if key is None or sort.lstrip("-") != key:
        return ""
    return "descending" if sort.startswith("-") else "ascending"
