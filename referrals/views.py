"""Web pages of the referral: the new-referral form and the case page (docs/design.md §6).

The case page shows only the actions this user may take now (`Machine.allowed_for`); each action's
form is drawn from and validated by the transition's own input serializer (carepath/web/webforms.py).
"""

import csv
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from carepath.models import AuditLog, CaseEvent
from carepath.pathway import access, audit, identity
from carepath.pathway.dates import age_in_months
from carepath.pathway.errors import InvalidData, TransitionNotAllowed
from carepath.pathway.priority import Priority
from carepath.pathway.roles import Role, has_role
from carepath.pathway.workflow import SECONDARY
from carepath.web import formfields, webforms
from carepath.web.formfields import int_or_none
from imaging import reports as imaging_reports
from imaging import rules as imaging_rules
from imaging.choices import ALERT_CATEGORIES, ReportCategory, Sedation
from imaging.machine import MRI_MACHINE
from imaging.models import NeuroradiologyReport

from . import dashboard, intake, letters, rules, selectors
from .choices import Muscle, RedFlag
from .forms import FindPatientForm, GuardianFormSet, PatientForm, first_muscle_choices, muscles_from_post
from .guards import DETAIL_FIELDS
from .inputs import ReferralDetailsInput, ResubmitInput
from .machine import REFERRAL_MACHINE
from .models import Referral
from .patients import PossibleDuplicatePatient


# --- new referral --------------------------------------------------------------------------------
def _referral_fields(data=None, errors=None):
    """The serializer's fields, minus muscles (drawn by hand: the first muscle, then the others)."""
    specs = formfields.fields_for(ReferralDetailsInput, data=data, errors=errors)
    return {s.name: s for s in specs}


@login_required
def referral_new(request: HttpRequest) -> HttpResponse:
    if not access.can_create_referral(request.user):
        raise PermissionDenied("Only referring clinicians write referrals here.")
    if request.method == "POST":
        return _referral_create(request)
    find = FindPatientForm(request.GET or None)
    patient, patient_form = None, None
    if find.is_bound and find.is_valid():
        mrn = identity.clean_mrn(find.cleaned_data["mrn"])
        patient = selectors.patients_visible_to(request.user).filter(mrn_key=identity.mrn_key(mrn)).first()
        if patient is not None:
            audit.record_view(request.user, patient, "new referral: patient found by MRN")
        else:
            patient_form = PatientForm(initial={"mrn": mrn})
    return _render_new(
        request,
        find=find,
        patient=patient,
        patient_form=patient_form,
        guardians=GuardianFormSet(prefix="guardian") if patient_form else None,
    )


def _render_new(
    request, *, find, patient, patient_form, guardians, data=None, errors=None, status=200, duplicate=False
):
    errors = errors or {}
    fields = _referral_fields(data, errors)
    other_errors = formfields.unclaimed_errors(
        {k: v for k, v in errors.items() if k not in ("muscles", "patient")}, list(fields.values())
    )
    summary = _new_referral_summary(patient_form, guardians, fields, errors, other_errors)
    return render(
        request,
        "referrals/new_referral.html",
        {
            "summary": summary,
            "find": find,
            "patient": patient,
            "patient_form": patient_form,
            "guardians": guardians,
            "f": fields,
            "first_muscle_choices": first_muscle_choices(),
            "muscle_choices": Muscle.choices,
            "first_muscle": data.get("first_muscle", "") if data is not None else "",
            "other_muscles": data.getlist("muscles") if data is not None else [],
            "muscle_errors": errors.get("muscles", []),
            "patient_errors": errors.get("patient", []),
            "other_errors": other_errors,
            "red_flag_choices": RedFlag.choices,
            "duplicate": duplicate,  # a patient with the same name and birth date exists: confirm
            "has_red_flag": bool(data.getlist("red_flags")) if data is not None else False,
            "patient_is_adult": patient is not None
            and rules.age_in_years(patient.birth_date, timezone.localdate()) >= rules.ADULT_AGE,
        },
        status=status,
    )


def _new_referral_summary(patient_form, guardians, fields, errors, other_errors) -> list[formfields.SummaryItem]:
    """Every error of the new-referral page in page order, each linking to its field."""
    items = formfields.django_form_items(patient_form)
    if guardians is not None and guardians.is_bound:
        for i, form in enumerate(guardians.forms):
            items += formfields.django_form_items(
                form, label_prefix=f"Parent or carer {i + 1}: ", anchor=f"guardian-{i}"
            )
        items += [formfields.SummaryItem("Parents or carers", m, "guardians") for m in guardians.non_form_errors()]
    items += [formfields.SummaryItem("Child", m) for m in errors.get("patient", [])]
    for spec in fields.values():
        if spec.name == "muscles":  # drawn by hand: the first muscle's select, then the others
            items += [
                formfields.SummaryItem("Where did it start?", m, "f-first-muscle") for m in errors.get("muscles", [])
            ]
        else:
            items += formfields.summary_items([spec])
    return items + [formfields.SummaryItem("", m) for m in other_errors]


def _referral_create(request: HttpRequest) -> HttpResponse:
    post = request.POST
    data = formfields.without_blanks(ReferralDetailsInput, post)
    data.setlist("muscles", muscles_from_post(post))
    patient = None
    patient_form = guardians = None
    if post.get("patient"):
        patient = selectors.patients_visible_to(request.user).filter(pk=int_or_none(post.get("patient"))).first()
        if patient is None:
            raise Http404("No such patient")
    else:
        patient_form = PatientForm(post)
        guardians = GuardianFormSet(post, prefix="guardian")
    serializer = ReferralDetailsInput(data=data)
    errors = {} if serializer.is_valid() else formfields.flatten_errors(serializer.errors)
    forms_ok = patient is not None or (patient_form.is_valid() and guardians.is_valid())
    duplicate, status = False, 400
    if not errors and forms_ok:
        confirmed = post.get("confirm_new_patient") == "1"
        try:
            referral, shared = _create(
                request.user, patient, patient_form, guardians, serializer.validated_data, confirmed
            )
        except PossibleDuplicatePatient:  # the confirm step: nothing was written
            duplicate, status = True, 409
        except InvalidData as exc:
            errors = formfields.flatten_errors(exc.errors)
            if patient_form is not None:
                for name in ("mrn", "birth_date"):
                    for message in errors.pop(name, []):
                        patient_form.add_error(name, message)
        else:
            messages.success(request, f"Referral {referral.reference} sent to neurology.")
            if shared:
                messages.info(request, SHARED_RECORD)
            return redirect("case", pk=referral.pk)
    find = FindPatientForm(initial={"mrn": patient.mrn if patient else post.get("mrn", "")})
    return _render_new(
        request,
        find=find,
        patient=patient,
        patient_form=patient_form,
        guardians=guardians,
        data=post,
        errors=errors,
        status=status,
        duplicate=duplicate,
    )


SHARED_RECORD = (
    "This child was already registered with CarePath: your referral uses the shared record "
    "(the parents or carers already on it are kept). Only you see your referrals."
)


@transaction.atomic
def _create(actor, patient, patient_form, guardians, details, confirmed: bool) -> tuple[Referral, bool]:
    """Patient (when new, or shared: referrals/patients.py) and referral together: an error in
    either leaves nothing half-made. Returns the referral and whether the record was shared."""
    shared = False
    if patient is None:
        rows = [{k: v for k, v in f.cleaned_data.items()} for f in guardians.forms if f.cleaned_data.get("name")]
        patient = intake.patient_create(
            actor=actor, guardians=rows, confirm_new_patient=confirmed, **patient_form.cleaned_data
        )
        shared = patient.shared
    return intake.referral_create(actor=actor, patient_id=patient.pk, **details), shared


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
    if machine_key == "mri":
        target = next((m for m in referral.mri_requests.all() if m.pk == int_or_none(request.POST.get("object"))), None)
        if target is None:
            raise Http404("No such MRI request on this case")
        machine = MRI_MACHINE
    elif machine_key == "referral":
        target, machine = referral, REFERRAL_MACHINE
    else:
        raise Http404("No such action")
    outcome = webforms.run_action(machine_key, machine, target, request.user, name, request.POST)
    if outcome.ok:
        messages.success(request, f"Done: {machine.get(name).label}.")
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


def _render_case(request, referral: Referral, *, failed: webforms.Outcome | None = None, status: int = 200):
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
    events = list(CaseEvent.objects.filter(referral=referral).select_related("actor").order_by("-at", "-id")[:200])
    for event in events:
        event.label, event.states = _event_label(event), _event_states(event)
        event.detail = _event_detail(event)
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
        "work_items": sorted(referral.open_work_items, key=lambda w: (not w.is_primary, w.due_at or timezone.now())),
        "events": events,
        "mri_requests": mri_requests,
        "current_mri": current_mri,
        "sedation_note": _sedation_note(current_mri, referral) if current_mri else None,
        "alerts": _unacknowledged_alerts(mri_requests),
        "may_acknowledge_results": access.can_acknowledge_results(user),
        "banner": failed.banner if failed else "",
        "now": timezone.now(),
    }
    return render(request, "referrals/case.html", context, status=status)


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


def _event_label(event: CaseEvent) -> str:
    if event.kind == CaseEvent.Kind.TAKE_OVER:  # both names: who holds the step now, and who held it
        data = event.data
        return f"{data.get('to')} took over “{data.get('step')}” from {data.get('from')}"
    step = event.data.get("step") if event.kind in (CaseEvent.Kind.REMINDER, CaseEvent.Kind.ESCALATION) else None
    if step:  # a step's reminder or escalation, or the case clock's: say which ("Escalation: Triage the referral")
        return f"{event.get_kind_display()}: {step}"
    if event.transition == "alert":  # a critical/urgent result's alert (carepath/notify/effects.py), not a transition
        return f"Alert: {event.data['step']}" if event.data.get("step") else "Alert"
    if not event.transition:
        return "Referral received" if event.kind == CaseEvent.Kind.CREATED else event.get_kind_display()
    machine = MRI_MACHINE if event.machine == "mri" else REFERRAL_MACHINE
    try:
        return machine.get(event.transition).label
    except TransitionNotAllowed:  # a transition since renamed: show its code
        return event.transition


def _event_states(event: CaseEvent) -> str:
    """ "Imaging → Results review": the states' labels, not their codes."""
    if not event.from_state:
        return ""
    states = (MRI_MACHINE if event.machine == "mri" else REFERRAL_MACHINE).states
    labels = [states(s).label if s in states.values else s for s in (event.from_state, event.to_state)]
    return " → ".join(labels)


def _event_detail(event: CaseEvent) -> str:
    """An amended report on the timeline says what it said before and after (docs/ui.md)."""
    if event.transition != "amend_report":
        return ""
    parts = [_short(event.data.get("addendum", ""))]
    changes = event.data.get("changes") or {}
    if "category" in changes:
        before, after = (_category_label(changes["category"][k]) for k in ("before", "after"))
        parts.append(f"category before: {before}, now: {after}")
    if "impression" in changes:
        parts.append(
            f"impression before: “{_short(changes['impression']['before'])}”, "
            f"now: “{_short(changes['impression']['after'])}”"
        )
    return " · ".join(p for p in parts if p)


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _category_label(code: str) -> str:
    return ReportCategory(code).label if code in ReportCategory.values else code


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
