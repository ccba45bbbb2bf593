"""Web pages of the referral: the case page and the dashboard (docs/design.md §6). The
new-referral page is referrals/new_referral.py; the timeline's wording referrals/timeline.py.

The case page shows only the actions this user may take now (`Machine.allowed_for`); each action's
form is drawn from and validated by the transition's own input serializer (carepath/web/webforms.py).
"""

import csv
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from carepath.models import AuditLog, CaseEvent
from carepath.pathway import access, audit
from carepath.pathway.dates import age_in_months
from carepath.pathway.priority import Priority
from carepath.pathway.roles import Role, has_role
from carepath.pathway.workflow import SECONDARY
from carepath.web import handover, webforms
from carepath.web.formfields import int_or_none
from imaging import reports as imaging_reports
from imaging import rules as imaging_rules
from imaging.capacity import picker as slot_picker
from imaging.choices import ALERT_CATEGORIES, Sedation
from imaging.machine import MRI_MACHINE
from imaging.models import NeuroradiologyReport

from . import dashboard, letters, note_page, selectors, timeline
from .attachments import views as attachments
from .choices import Muscle, RedFlag, ReferralState
from .followup import views as followup_views
from .guards import DETAIL_FIELDS
from .inputs import ResubmitInput
from .machine import REFERRAL_MACHINE
from .models import Referral


# --- case page -----------------------------------------------------------------------------------
@login_required
def case(request: HttpRequest, pk: int) -> HttpResponse:
    referral = _visible(request.user, pk)
    if request.method == "POST":
        return _act(request, referral)
    audit.record_view(request.user, referral, "case page")
    return _render_case(request, referral)


def _visible(user, pk: int) -> Referral:
    try:
        return selectors.referral_detail(user, pk)
    except Referral.DoesNotExist:
        raise Http404("No such case") from None


def _act(request: HttpRequest, referral: Referral) -> HttpResponse:
    machine_key = request.POST.get("machine", "referral")
    name = request.POST.get("transition", "")
    if machine_key == "report_ack":
        return _acknowledge_report(request, referral)
    if machine_key == "note":
        failed = note_page.post(request, referral)
        if failed is None:
            messages.success(request, "Note added.")
            return redirect(f"{reverse('case', args=[referral.pk])}#notes")
        return _render_case(request, _visible(request.user, referral.pk), note_failed=failed, status=failed.status)
    if machine_key in handover.CASE_FORMS:  # give a step to a colleague, snooze it
        done = handover.post_on_case(request, referral.pk)
        if isinstance(done, str):
            messages.success(request, done)
            return redirect("case", pk=referral.pk)
        fresh = _visible(request.user, referral.pk)
        if not any(item.pk == done.item_id for item in fresh.open_work_items):  # finished meanwhile: no form
            gone = webforms.Outcome(ok=False, banner=done.message, status=done.status)
            return _render_case(request, fresh, failed=gone, status=done.status)
        return _render_case(request, fresh, handover_failed=done, status=done.status)
    if machine_key == "mri":
        target = next((m for m in referral.mri_requests.all() if m.pk == int_or_none(request.POST.get("object"))), None)
        if target is None:
            raise Http404("No such MRI request on this case")
        machine = MRI_MACHINE
    elif machine_key == "referral":
        target, machine = referral, REFERRAL_MACHINE
    else:
        raise Http404("No such action")
    post = slot_picker.translate(request.POST) if machine_key == "mri" else request.POST
    outcome = webforms.run_action(machine_key, machine, target, request.user, name, post)
    if outcome.ok:
        booked = slot_picker.booked_words(target.pk, name) if machine_key == "mri" else ""
        messages.success(request, f"Done: {machine.get(name).label}. {booked}".strip())
        return redirect("case", pk=referral.pk)
    fresh = _visible(request.user, referral.pk)  # after a refusal, show the case as it is now
    return _render_case(request, fresh, failed=outcome, status=outcome.status)


def _acknowledge_report(request: HttpRequest, referral: Referral) -> HttpResponse:
    report_id = int_or_none(request.POST.get("object"))
    if not any(getattr(m, "report", None) and m.report.pk == report_id for m in referral.mri_requests.all()):
        raise Http404("No such report on this case")
    imaging_reports.report_acknowledge(report_id=report_id, actor=request.user)  # Forbidden: the 403 page
    messages.success(request, "Result acknowledged.")
    return redirect("case", pk=referral.pk)


def _render_case(
    request,
    referral: Referral,
    *,
    failed: webforms.Outcome | None = None,
    note_failed=None,
    handover_failed: handover.StepFormFailed | None = None,
    status: int = 200,
):
    user = request.user
    initial = _conclude_initial(referral, user)
    if referral.red_flags:  # a red flag starts triage at asap (the service refuses another priority without a reason)
        initial["triage"] = {"priority": Priority.ASAP}
    initial["resubmit"] = _resubmit_initial(referral)
    forms = webforms.action_forms("referral", REFERRAL_MACHINE, referral, user, initial=initial)
    mri_requests = list(referral.mri_requests.all())
    current_mri = next((m for m in reversed(mri_requests) if m.state in MRI_MACHINE.open_states), None)
    if current_mri is not None:
        forms += webforms.action_forms(
            "mri", MRI_MACHINE, current_mri, user, initial=_mri_initial(current_mri, referral)
        )
    webforms.offer_take_over(forms, referral.open_work_items, user)
    if failed is not None and failed.form is not None:
        forms = [_replace(f, failed.form) for f in forms]
    if referral.state != ReferralState.ASSESSED:  # only concluding straight after the assessment asks why no MRI
        for form in (f for f in forms if f.name == "conclude"):
            form.fields = [spec for spec in form.fields if spec.name != "imaging_waived_reason"]
    if current_mri is not None:  # booking picks one of the finder's slots (docs/ui.md)
        links = {"url": reverse("case", args=[referral.pk]), "hidden": []}
        asked = slot_picker.Asked.from_query(request.GET)
        slot_picker.offer(forms, current_mri, user, load=True, asked=asked, links=lambda mri: links)
    events = list(CaseEvent.objects.filter(referral=referral).select_related("actor").order_by("-at", "-id")[:200])
    for event in events:
        event.label, event.states = timeline.event_label(event), timeline.event_states(event)
        event.detail = timeline.event_detail(event)
    # actions that end or divert a case are quieter buttons: their declaration's `group` says so
    primary = [f for f in forms if f.transition.group != SECONDARY]
    secondary = [f for f in forms if f.transition.group == SECONDARY]
    context = {
        "referral": referral,
        "patient": referral.patient,
        "show_family_contacts": access.can_see_family_contacts(user),  # phone and e-mail: docs/security.md
        "age": _age(referral.patient.birth_date),
        "red_flags": [RedFlag(c).label for c in referral.red_flags if c in RedFlag.values],
        "muscles": [Muscle(c).label for c in referral.muscles if c in Muscle.values],
        "primary_actions": primary,
        "secondary_actions": secondary,
        "work_items": _work_items(referral, user, handover_failed),
        "events": events,
        "mri_requests": mri_requests,
        "current_mri": current_mri,
        "sedation_note": _sedation_note(current_mri, referral) if current_mri else None,
        "alerts": _unacknowledged_alerts(mri_requests),
        "may_acknowledge_results": access.can_acknowledge_results(user),
        "banner": failed.banner if failed else "",
        "now": timezone.now(),
        **note_page.context(user, referral, note_failed),
        **followup_views.case_context(referral, user),  # MDT decisions, treatment and follow-up
        **attachments.case_context(referral, user),
    }
    return render(request, "referrals/case.html", context, status=status)


def _work_items(referral: Referral, user, handover_failed=None) -> list:
    """The open steps, the case's own first, each with who may give it on or snooze it (to whom, and
    the forms; a refused one as it was posted)."""
    items = sorted(referral.open_work_items, key=lambda w: (not w.is_primary, w.due_at or timezone.now()))
    handover.decorate_items(items, user, handover_failed)
    return items


def _conclude_initial(referral: Referral, user) -> dict:
    """The conclude form starts from the letter's draft and the working diagnosis (only when it is offered)."""
    if "conclude" not in REFERRAL_MACHINE.allowed_for(referral, user):
        return {}
    assessment = getattr(referral, "assessment", None)
    return {
        "conclude": {
            "letter": letters.outcome_letter_draft(referral, author=user),
            "diagnosis": assessment.working_diagnosis if assessment else None,
        }
    }


# What the referrer sent, shown in the answer form: a field left as drawn is posted as is, so an
# empty form would have erased the frequency, notes and spread they had given (docs/ui.md). The
# details the answer may change: the referral's details that the resubmit input takes.
RESUBMIT_DETAILS = tuple(name for name in DETAIL_FIELDS if name in ResubmitInput().fields)


def _resubmit_initial(referral: Referral) -> dict:
    return {name: getattr(referral, name) for name in RESUBMIT_DETAILS}


def _replace(form: webforms.ActionForm, failed: webforms.ActionForm) -> webforms.ActionForm:
    if form.machine == failed.machine and form.name == failed.name and form.object_id == failed.object_id:
        failed.version = form.version  # keep what was typed, but against the case as it is now
        return failed
    return form


def _age(birth: date) -> str:
    today = timezone.localdate()
    months = age_in_months(birth, today)
    if months < 24:
        return f"{months} months"
    return f"{months // 12} years {months % 12} months"


def _mri_initial(mri, referral) -> dict:
    return {"schedule": {"sedation": _default_sedation(mri, referral)}}


def _default_sedation(mri, referral) -> str:
    return imaging_rules.sedation_default(
        birth_date=referral.patient.birth_date,
        on=timezone.localdate(),
        mass_suspected=imaging_rules.mass_suspected(mri),
    )


def _sedation_note(mri, referral) -> dict:
    default = _default_sedation(mri, referral)
    if imaging_rules.mass_suspected(mri):
        why = "a posterior-fossa mass or raised intracranial pressure is suspected"
    else:
        why = f"the child is {_age(referral.patient.birth_date)} old"
    return {"default": Sedation(default).label, "why": why}


def _unacknowledged_alerts(mri_requests) -> list[NeuroradiologyReport]:
    reports = [getattr(m, "report", None) for m in mri_requests]
    return [r for r in reports if r and r.category in ALERT_CATEGORIES and r.acknowledged_at is None]


# --- dashboard -----------------------------------------------------------------------------------
DASHBOARD_ROLES = (Role.NEUROLOGIST, Role.IMAGING_COORDINATOR, Role.ADMIN)
CHART_VALUE = {
    "cases_per_step": "n",
    "time_in_step": "p90_h",
    "sla_breaches": "rate",
    "eighteen_weeks": "rate",
    "intervals": "p90_h",
    "loop_closure": "rate",
    "mri_utilisation": "rate",
}


def _bars(rows: list[dict], key: str) -> list[dict]:
    """Rows with a bar width (0-100) for the server-rendered SVG charts."""
    top = max((r.get(key) or 0 for r in rows), default=0) or 1
    return [{**r, "value": r.get(key) or 0, "width": round(100.0 * (r.get(key) or 0) / top, 1)} for r in rows]


@login_required
def dashboard_view(request: HttpRequest) -> HttpResponse:
    if not has_role(request.user, *DASHBOARD_ROLES):
        raise PermissionDenied("The dashboard is for neurology, imaging and administrators.")
    days = int_or_none(request.GET.get("days")) or 180
    days = min(max(days, 7), 730)
    figures = dashboard.figures(request.user, days=days)
    table = request.GET.get("csv", "")
    if table:
        response = _csv(table, figures)
        # a download leaves the service: who took which figures, when (docs/security.md)
        audit.record_event(
            request.user,
            AuditLog.Action.EXPORT,
            "dashboard",
            table,
            changes={"days": days, "rows": len(figures[table])},
        )
        return response
    tables = [
        {
            "key": key,
            "title": title,
            "columns": columns,
            "rows": _bars(figures[key], CHART_VALUE[key]),
            "chart_label": dict(columns).get(CHART_VALUE[key], ""),
            "grid": dashboard.utilisation_grid(figures[key]) if key == "mri_utilisation" else None,
        }
        for key, (title, columns) in dashboard.TABLES.items()
    ]
    return render(request, "referrals/dashboard.html", {"tables": tables, "days": days, "since": figures["since"]})


def _csv(table: str, figures: dict) -> HttpResponse:
    if table not in dashboard.TABLES:
        raise Http404("No such table")
    _title, columns = dashboard.TABLES[table]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="carepath-{table}.csv"'
    writer = csv.writer(response)
    writer.writerow([heading for _key, heading in columns])
    for row in figures[table]:
        writer.writerow(["" if row.get(key) is None else row.get(key) for key, _heading in columns])
    return response
