"""MDT pages (docs/ui.md, "MDT meetings"): the meetings, a meeting's list with its decisions, and its
printable list and outcome. Cases on a list are shown to a viewer only if they may see the case
(carepath/pathway/access.py); each page's read of the cases is audited."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from carepath.pathway import access, audit
from carepath.pathway.errors import DomainError, Forbidden, InvalidData
from carepath.pathway.roles import has_role
from carepath.web.formfields import int_or_none

from ..models import Referral
from . import services
from .forms import AddCaseForm, DecisionForm, MeetingForm
from .models import MDTCase, MDTMeeting


def _require_viewer(user) -> None:
    if not services.may_view(user):
        raise Forbidden("MDT meetings are for neurology, neurosurgery, neuroradiology and administrators.")


@login_required
def meetings(request: HttpRequest) -> HttpResponse:
    _require_viewer(request.user)
    form = MeetingForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                meeting = services.meeting_create(
                    actor=request.user,
                    starts_at=data["starts_at"],
                    site_id=data["site"].pk,
                    attendee_ids=[u.pk for u in data["attendees"]],
                )
            except InvalidData as exc:
                status = _form_errors(form, exc)
            else:
                messages.success(request, "MDT meeting planned.")
                return redirect("mdt_meeting", pk=meeting.pk)
        else:
            status = 400
    now = timezone.now()
    rows = list(MDTMeeting.objects.select_related("site").prefetch_related("cases", "attendees"))
    context = {
        "upcoming": sorted((m for m in rows if m.starts_at >= now), key=lambda m: m.starts_at),
        "past": [m for m in rows if m.starts_at < now],
        "form": form,
        "may_plan": has_role(request.user, *services.PLANNERS),
    }
    return render(request, "referrals/mdt/meetings.html", context, status=status)


@login_required
def meeting(request: HttpRequest, pk: int) -> HttpResponse:
    _require_viewer(request.user)
    item = _meeting(pk)
    forms, status = {}, 200
    if request.method == "POST":
        outcome = _act(request, item)
        if outcome is None:
            return redirect("mdt_meeting", pk=item.pk)
        forms, status = outcome
    return _render(request, item, "referrals/mdt/meeting.html", forms=forms, status=status)


@login_required
def meeting_print(request: HttpRequest, pk: int) -> HttpResponse:
    _require_viewer(request.user)
    return _render(request, _meeting(pk), "referrals/mdt/print.html", what="print: MDT list and outcome")


def _meeting(pk: int) -> MDTMeeting:
    try:
        return MDTMeeting.objects.select_related("site").prefetch_related("attendees").get(pk=pk)
    except MDTMeeting.DoesNotExist:
        raise Http404("No such MDT meeting") from None


def _entries(user, meeting: MDTMeeting) -> tuple[list[MDTCase], int]:
    """(the list's cases this user may see, with their decisions; how many others are on it)."""
    entries = meeting.cases.select_related("referral__patient", "added_by").prefetch_related("decisions__signed_by")
    visible = list(entries.filter(access.referral_q(user, prefix="referral__")))
    for entry in visible:
        entry.history = list(entry.decisions.all())
        entry.current = next((d for d in reversed(entry.history) if not _corrected(d, entry.history)), None)
    return visible, meeting.cases.count() - len(visible)


def _corrected(decision, history) -> bool:
    return any(d.corrects_id == decision.pk for d in history)


def _render(request, meeting, template: str, *, forms=None, status: int = 200, what: str = "MDT meeting page"):
    user = request.user
    entries, hidden = _entries(user, meeting)
    audit.record_list(user, Referral, [e.referral_id for e in entries], f"{what} {meeting.pk}")
    may_sign = services.may_sign(user, meeting) and meeting.starts_at <= timezone.now()
    forms = forms or {}
    for entry in entries:
        entry.form = forms.get(entry.pk) or DecisionForm(
            initial={"corrects": entry.current.pk if entry.current else None}
        )
    context = {
        "meeting": meeting,
        "entries": entries,
        "hidden": hidden,
        "may_add": has_role(user, *services.LISTERS),
        "may_sign": may_sign,
        "add_form": forms.get("add") or AddCaseForm(),
    }
    return render(request, template, context, status=status)


def _act(request, meeting: MDTMeeting):
    """None when done (redirect), else (the forms with their errors, status)."""
    if request.POST.get("action") == "add":
        form = AddCaseForm(request.POST)
        if not form.is_valid():
            return {"add": form}, 400
        referral_id = form.cleaned_data["case"]
        if not Referral.objects.filter(access.referral_q(request.user), pk=referral_id).exists():
            form.add_error("case", "No case with this reference that you may see.")
            return {"add": form}, 400
        try:
            services.meeting_add_case(
                meeting_id=meeting.pk,
                referral_id=referral_id,
                actor=request.user,
                question=form.cleaned_data["question"],
            )
        except Forbidden:
            raise
        except DomainError as exc:
            return {"add": form}, _form_errors(form, exc)
        messages.success(request, "Case added to the list.")
        return None
    return _sign(request, meeting)


def _sign(request, meeting: MDTMeeting):
    entry = meeting.cases.filter(pk=int_or_none(request.POST.get("entry"))).first()
    if entry is None or not Referral.objects.filter(access.referral_q(request.user), pk=entry.referral_id).exists():
        raise Http404("No such case on this meeting's list")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return {entry.pk: form}, 400
    data = form.cleaned_data
    try:
        services.decision_sign(
            mdt_case_id=entry.pk,
            actor=request.user,
            outcome=data["outcome"],
            other_text=data["other_text"],
            rationale=data["rationale"],
            corrects_id=data["corrects"],
        )
    except Forbidden:
        raise
    except DomainError as exc:
        return {entry.pk: form}, _form_errors(form, exc)
    messages.success(request, f"Decision signed for {entry.referral.reference}.")
    return None


def _form_errors(form, exc: DomainError) -> int:
    fields = getattr(exc, "errors", {}) or {"non_field_errors": [exc.detail]}
    for name, msgs in fields.items():
        for msg in msgs if isinstance(msgs, list) else [msgs]:
            form.add_error(name if name in form.fields else None, str(msg))
    return exc.status
