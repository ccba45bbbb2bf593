"""Imaging pages (docs/design.md §6): the coordinators' MRI board and the neuroradiology reading queue.

Both act through the same generic action forms as the case page (carepath/web/webforms.py), so a card on
the board offers exactly the actions the MRI machine allows this user now.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, F, FilteredRelation, IntegerField, Q, QuerySet, Subquery, Value, When, Window
from django.db.models.functions import RowNumber
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from carepath.models import Machine, WorkItemStatus
from carepath.pathway import audit
from carepath.pathway.dates import DUE_SOON, age_in_months, is_overdue
from carepath.pathway.errors import DomainError
from carepath.pathway.identity import mrn_key
from carepath.pathway.priority import priority_rank
from carepath.pathway.roles import Role, has_role
from carepath.web import formfields, webforms
from carepath.web.formfields import int_or_none

from . import drafts, rules, selectors
from .capacity import picker
from .choices import ALERT_CATEGORIES, FASTING_SEDATION, OPEN_MRI_STATES, MRIState, Sedation
from .machine import MRI_MACHINE
from .models import MRIRequest, ReportDraft

BOARD_ROLES = (Role.IMAGING_COORDINATOR, Role.NEURORADIOLOGIST, Role.NEUROLOGIST, Role.ADMIN)
READING_ROLES = (Role.NEURORADIOLOGIST, Role.ADMIN)
COLUMN_LIMIT = 25  # cards per column (most due first); the column says how many more. Each card carries its
# action forms, so 60 per column made a ~900 KiB board taking ~0.7 s to render (bench/pages.py)


def _with_due(queryset: QuerySet[MRIRequest]) -> QuerySet[MRIRequest]:
    """Each request's `due_at`: its open step's, joined (one at most: a case has one open primary
    MRI step). A join, not a subquery per request: the board ranks every open request by it."""
    step = FilteredRelation(
        "work_items",
        condition=Q(
            work_items__machine=Machine.MRI, work_items__is_primary=True, work_items__status=WorkItemStatus.OPEN
        ),
    )
    return queryset.annotate(open_step=step).annotate(due_at=F("open_step__due_at"))


def _card(mri: MRIRequest, user, now, today) -> dict:
    appointment = mri.appointment if mri.state == MRIState.SCHEDULED else None
    months = age_in_months(mri.referral.patient.birth_date, today)
    return {
        "mri": mri,
        "age": f"{months} mo" if months < 24 else f"{months // 12} y",
        "overdue": is_overdue(mri.due_at, now),
        "appointment": appointment,
        "sedation": Sedation(appointment.sedation).label if appointment else "",
        "fasting": appointment is not None and appointment.sedation in FASTING_SEDATION,
        "actions": webforms.action_forms("mri", MRI_MACHINE, mri, user, initial=_initial(mri, today)),
    }


def _initial(mri: MRIRequest, today) -> dict:
    """The schedule form starts at the sedation default for this child (age, suspected mass)."""
    if mri.state not in MRI_MACHINE.get("schedule").sources:
        return {}
    default = rules.sedation_default(
        birth_date=mri.referral.patient.birth_date, on=today, mass_suspected=rules.mass_suspected(mri)
    )
    return {"schedule": {"sedation": default}}


def _board_columns(request: HttpRequest, failed: webforms.Outcome | None = None) -> dict:
    user = request.user
    mrn = request.GET.get("mrn", "").strip()[:64]
    visible = selectors.mri_requests_visible_to(user).filter(state__in=OPEN_MRI_STATES)
    if mrn:  # compared normalised, as every MRN look-up (carepath/pathway/identity.py)
        visible = visible.filter(referral__patient__mrn_key=mrn_key(mrn))
    now, today = timezone.now(), timezone.localdate()
    by_state = _board_cards(visible, now)
    totals = dict(visible.order_by().values_list("state").annotate(n=Count("id")))
    columns, shown = [], []
    booking = _Booking(request, mrn, failed)
    for state in OPEN_MRI_STATES:
        cards = by_state.get(state, [])
        shown += [c.referral_id for c in cards]
        built = [_card(c, user, now, today) for c in cards]
        for card in built:
            if failed is not None and failed.form is not None:
                card["actions"] = [_swap(a, failed.form) for a in card["actions"]]
            booking.offer(card, user)
        more = totals.get(state, 0) - len(cards)
        columns.append({"state": state, "label": MRIState(state).label, "cards": built, "more": more})
    from django.apps import apps

    audit.record_list(user, apps.get_model("referrals", "Referral"), sorted(set(shown)), query=f"mri board {mrn}")
    return {"columns": columns, "mrn": mrn}


class _Booking:
    """The board's booking forms pick a slot (imaging/capacity/picker.py). Finding slots costs a search
    per request, so only the card asked for (`?book=<id>`, or the one whose booking was just refused)
    has its slots found; the others' forms link to the board asking for theirs."""

    def __init__(self, request: HttpRequest, mrn: str, failed: webforms.Outcome | None):
        self.asked = picker.Asked.from_query(request.GET)
        self.book = int_or_none(request.GET.get("book"))
        if failed is not None and failed.form is not None:
            self.book = failed.form.object_id
        self.mrn, self.setup = mrn, None

    def links(self, mri: MRIRequest) -> dict:
        hidden = [("book", mri.pk)] + ([("mrn", self.mrn)] if self.mrn else [])
        return {"url": reverse("mri_board"), "hidden": hidden, "load": f"{reverse('mri_board')}?{urlencode(hidden)}"}

    def offer(self, card: dict, user) -> None:
        if not any(a.name in picker.BOOKING for a in card["actions"]):
            return
        if self.setup is None:
            self.setup = picker.scanners_set_up()
        mri = card["mri"]
        load = mri.pk == self.book
        asked = self.asked if load else None
        picker.offer(card["actions"], mri, user, load=load, asked=asked, links=self.links, setup=self.setup)
        for form in card["actions"]:  # the card asked for opens its booking form ("Show the free slots")
            form.is_open = form.is_open or (load and form.name in picker.BOOKING)


def _due_group(now) -> Case:
    """0 overdue, 1 due in the next 24 hours, 2 later or no due time (as My work groups them)."""
    return Case(
        When(due_at__lt=now, then=Value(0)),
        When(due_at__lt=now + DUE_SOON, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def _board_cards(visible: QuerySet[MRIRequest], now) -> dict[str, list[MRIRequest]]:
    """The COLUMN_LIMIT first requests of each state in one query: a row number per state over
    narrow rows picks their ids, then only those rows are read with their patient, appointment and
    report. (A sorted query per column over full rows took ~140 ms a column at 100k cases.)
    First means: by due group, red-flag cases first within a group (the request's own copy of the
    flag, so no case is read to rank), then most due."""
    most_due = [F("due_group"), F("red_flag").desc(), F("due_at").asc(nulls_last=True), F("id")]
    ranked = (
        _with_due(visible.select_related(None))
        .annotate(due_group=_due_group(now))
        .annotate(rank=Window(RowNumber(), partition_by=F("state"), order_by=most_due))
        .filter(rank__lte=COLUMN_LIMIT)
        .values("id")
        # at most this many anyway (`visible` holds the open states); the LIMIT tells the planner
        # so, which then reads those rows' cases by key rather than hashing every case
        .order_by()[: COLUMN_LIMIT * len(OPEN_MRI_STATES)]
    )
    by_state: dict[str, list[MRIRequest]] = {}
    cards = (
        _with_due(visible.filter(pk__in=Subquery(ranked)))
        .annotate(due_group=_due_group(now))
        .order_by("state", *most_due)
        .prefetch_related("referral__patient__guardians")  # the schedule form names the parent or carer
    )
    for mri in cards:
        by_state.setdefault(mri.state, []).append(mri)
    return by_state


def _swap(form: webforms.ActionForm, failed: webforms.ActionForm) -> webforms.ActionForm:
    if form.name == failed.name and form.object_id == failed.object_id:
        failed.version = form.version
        return failed
    return form


@login_required
def mri_board(request: HttpRequest) -> HttpResponse:
    if not has_role(request.user, *BOARD_ROLES):
        raise PermissionDenied("The MRI board is for imaging and neurology staff.")
    if request.method == "POST":
        return _act(request, "mri_board", "imaging/board.html", _board_columns)
    return render(request, "imaging/board.html", _board_columns(request))


def _act(request: HttpRequest, url_name: str, template: str, build) -> HttpResponse:
    """Perform an MRI action posted from a list page; on a refusal show the page again with the
    card's form open, its input kept and the reason beside it."""
    mri = selectors.mri_requests_visible_to(request.user).filter(pk=int_or_none(request.POST.get("object"))).first()
    if mri is None:
        raise Http404("No such MRI request")
    name = request.POST.get("transition", "")
    outcome = webforms.run_action("mri", MRI_MACHINE, mri, request.user, name, picker.translate(request.POST))
    if outcome.ok:
        booked = picker.booked_words(mri.pk, name)
        messages.success(request, f"{mri}: {MRI_MACHINE.get(name).label.lower()} — done. {booked}".strip())
        return redirect(reverse(url_name) + (f"?mrn={request.GET['mrn']}" if request.GET.get("mrn") else ""))
    if outcome.banner:
        messages.error(request, f"{mri}: {outcome.banner}")
    context = build(request, outcome)
    context["failed_id"] = outcome.form.dom_id if outcome.form else ""
    return render(request, template, context, status=outcome.status)


# --- reading queue -------------------------------------------------------------------------------
READING_LIMIT = 100


def _reading(request: HttpRequest, failed: webforms.Outcome | None = None) -> dict:
    user = request.user
    visible = _with_due(selectors.mri_requests_visible_to(user))
    to_report = list(visible.filter(state=MRIState.PERFORMED).order_by("performed_at", "id")[:READING_LIMIT])
    # most urgent first, red-flag cases first within a priority, then the oldest
    to_report.sort(key=lambda m: (priority_rank(m.priority), not m.red_flag, m.performed_at or timezone.now()))
    to_protocol = list(visible.filter(state=MRIState.REQUESTED).order_by("requested_at", "id")[:READING_LIMIT])
    to_protocol.sort(key=lambda m: (priority_rank(m.priority), not m.red_flag, m.requested_at))
    unacknowledged = list(
        selectors.reports_visible_to(user)
        .filter(category__in=ALERT_CATEGORIES, acknowledged_at__isnull=True)
        .order_by("signed_at")[:READING_LIMIT]
    )
    now, today = timezone.now(), timezone.localdate()
    ids = {m.referral_id for m in [*to_report, *to_protocol]}
    from django.apps import apps

    audit.record_list(user, apps.get_model("referrals", "Referral"), sorted(ids), query="reading queue")
    return {
        "to_report": [_card(m, user, now, today) for m in to_report],
        "to_protocol": [_card(m, user, now, today) for m in to_protocol],
        "unacknowledged": unacknowledged,
        # the user's own unsigned drafts among the studies to report (nobody else's)
        "my_drafts": set(
            ReportDraft.objects.filter(author=user, mri_request__in=[m.pk for m in to_report]).values_list(
                "mri_request_id", flat=True
            )
        ),
    }


@login_required
def reading_queue(request: HttpRequest) -> HttpResponse:
    if not has_role(request.user, *READING_ROLES):
        raise PermissionDenied("The reading queue is for neuroradiologists.")
    if request.method == "POST":
        return _act(request, "reading_queue", "imaging/reading_queue.html", _reading)
    return render(request, "imaging/reading_queue.html", _reading(request))


# What the reading page's message says happened, in the radiologist's words (was "MRI-000006: done.").
READING_DONE = {
    "protocol": "protocol saved; the scan can be booked now.",
    "sign_report": "report signed; neurology has it now.",
    "amend_report": "amendment signed; the case shows the report before and after.",
}


@login_required
def reading(request: HttpRequest, pk: int) -> HttpResponse:
    """One study with the structured report form (or the protocol form) beside its request."""
    if not has_role(request.user, *READING_ROLES):
        raise PermissionDenied("Reporting is for neuroradiologists.")
    mri = _with_due(selectors.mri_requests_visible_to(request.user)).filter(pk=pk).first()
    if mri is None:
        raise Http404("No such MRI request")
    failed = None
    if request.method == "POST" and request.POST.get("transition") == "sign_report" and request.POST.get("save_draft"):
        return _save_draft(request, mri)
    if request.method == "POST":
        name = request.POST.get("transition", "")
        outcome = webforms.run_action("mri", MRI_MACHINE, mri, request.user, name, request.POST)
        if outcome.ok:
            name = request.POST.get("transition", "")
            done = READING_DONE.get(name) or f"{MRI_MACHINE.get(name).label.lower()} — done."
            messages.success(request, f"{mri} ({mri.referral.patient.family_name.upper()}): {done}")
            return redirect("reading_queue")
        failed = outcome
        mri = _with_due(selectors.mri_requests_visible_to(request.user)).get(pk=pk)
    audit.record_view(request.user, mri, "reading")
    actions = webforms.action_forms("mri", MRI_MACHINE, mri, request.user)
    draft = drafts.report_draft_for(mri_request_id=mri.pk, user=request.user)
    if failed is not None and failed.form is not None:
        actions = [_swap(a, failed.form) for a in actions]
    _offer_drafts(actions, draft, resume=failed is None)
    if failed is None:
        _start_amendment_at_the_report(actions, mri)
    context = {
        "mri": mri,
        "referral": mri.referral,
        "patient": mri.referral.patient,
        "actions": actions,
        "banner": failed.banner if failed else "",
        "age": _card(mri, request.user, timezone.now(), timezone.localdate())["age"],
        "mass_suspected": rules.mass_suspected(mri),
        # after a refused post the form shows what was just typed, not the draft: no "filled in below"
        "draft": draft if failed is None and any(a.name == "sign_report" for a in actions) else None,
    }
    return render(request, "imaging/reading.html", context, status=failed.status if failed else 200)


def _offer_drafts(actions: list[webforms.ActionForm], draft, *, resume: bool) -> None:
    """The report form offers "Save draft"; the user's own draft, if any, fills it in (not after a
    refused post, which shows what was just typed)."""
    for form in actions:
        if form.name != "sign_report":
            continue
        form.draft = True
        if draft is not None and resume:
            form.fields = formfields.fields_for(form.transition.input_serializer, data=drafts.as_post(draft.data))
            form.is_open = True


def _start_amendment_at_the_report(actions: list[webforms.ActionForm], mri: MRIRequest) -> None:
    """The addendum form's findings start as the signed report's, so correcting one finding is one
    change and posting them untouched changes nothing."""
    for form in actions:
        if form.name == "amend_report" and hasattr(mri, "report"):
            posted = drafts.as_post({"findings": mri.report.findings or {}})
            form.fields = formfields.fields_for(form.transition.input_serializer, data=posted)


def _save_draft(request: HttpRequest, mri: MRIRequest) -> HttpResponse:
    """Keep the report as far as written, unchecked and unsigned, for this neuroradiologist only."""
    try:
        drafts.report_draft_save(mri_request_id=mri.pk, actor=request.user, data=drafts.from_post(request.POST))
    except DomainError as exc:  # the study moved on (signed meanwhile), or a colleague holds the step
        messages.error(request, f"{mri}: the draft was not saved. {webforms.message_for(exc)}")
        return redirect("reading", pk=mri.pk)
    messages.success(request, f"{mri}: draft saved, not signed. Only you see it; it is here when you come back.")
    return redirect("reading", pk=mri.pk)
