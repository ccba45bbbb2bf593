"""The case page's follow-up actions (docs/ui.md, "Treatment and follow-up"): record a treatment's
date, record a visit. The section itself is drawn by `case_context`, for referrals/views.py."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from carepath.pathway.errors import DomainError, Forbidden
from carepath.pathway.roles import has_role
from carepath.pathway.text import TEXT, TextGuardForm
from imaging.capacity.models import Site

from .. import selectors
from ..mdt import services as mdt_services
from ..mdt.models import MDTCase
from ..models import Referral
from . import services
from .models import FollowUpVisit, TreatmentKind


class TreatmentForm(TextGuardForm, forms.Form):
    kind = forms.ChoiceField(choices=TreatmentKind.choices, label="Treatment")
    treated_on = forms.DateField(label="Date given", widget=forms.DateInput(attrs={"type": "date"}))
    site = forms.ModelChoiceField(
        queryset=Site.objects.all(),
        required=False,
        label="Site (its follow-up template)",
        empty_label="None: the default intervals",
    )
    note = forms.CharField(required=False, max_length=TEXT, label="Note", widget=forms.TextInput())


class VisitForm(TextGuardForm, forms.Form):
    attended = forms.TypedChoiceField(
        choices=[("true", "Attended"), ("false", "Not attended")], coerce=lambda v: v == "true", label="Outcome"
    )
    note = forms.CharField(required=False, max_length=TEXT, label="Note")


def case_context(referral, user) -> dict:
    """What the case page shows of MDT decisions and follow-up, and whether this user may act on it."""
    mdt = list(
        MDTCase.objects.filter(referral=referral)
        .select_related("meeting__site")
        .prefetch_related("decisions__signed_by")
        .order_by("meeting__starts_at")
    )
    for entry in mdt:
        history = list(entry.decisions.all())
        entry.current = next((d for d in reversed(history) if not any(x.corrects_id == d.pk for x in history)), None)
    treatments = list(referral.treatments.prefetch_related("visits").select_related("recorded_by"))
    may_record = has_role(user, *services.RECORDERS)
    return {
        "mdt_entries": mdt,
        "may_view_mdt": mdt_services.may_view(user),
        "treatments": treatments,
        "may_record_treatment": may_record,
        "treatment_form": TreatmentForm() if may_record else None,  # the date given is typed, never assumed
    }


def _in_words(form: forms.Form) -> str:
    """The errors by field label ("Date given: This field is required."), not by code (treated_on)."""
    return "; ".join(
        f"{form.fields[k].label if k in form.fields else ''}: {' '.join(v)}".lstrip(": ")
        for k, v in form.errors.items()
    )


@login_required
def treatment_new(request: HttpRequest, pk: int) -> HttpResponse:
    referral = _visible(request.user, pk)
    if request.method != "POST":
        return redirect("case", pk=referral.pk)
    form = TreatmentForm(request.POST)
    if not form.is_valid():
        return _refused(request, referral.pk, _in_words(form))
    data = form.cleaned_data
    try:
        services.treatment_record(
            referral_id=referral.pk,
            actor=request.user,
            kind=data["kind"],
            treated_on=data["treated_on"],
            site_id=data["site"].pk if data["site"] else None,
            note=data["note"],
        )
    except Forbidden:
        raise
    except DomainError as exc:
        return _refused(request, referral.pk, exc.detail)
    messages.success(request, "Treatment recorded; its follow-up visits are planned.")
    return redirect("case", pk=referral.pk)


@login_required
def visit_record(request: HttpRequest, pk: int) -> HttpResponse:
    visit = FollowUpVisit.objects.select_related("treatment").filter(pk=pk).first()
    if visit is None:
        raise Http404("No such follow-up visit")
    referral = _visible(request.user, visit.treatment.referral_id)
    form = VisitForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return _refused(request, referral.pk, "Choose whether the child attended.")
    try:
        services.visit_record(visit_id=visit.pk, actor=request.user, **form.cleaned_data)
    except Forbidden:
        raise
    except DomainError as exc:
        return _refused(request, referral.pk, exc.detail)
    messages.success(request, f"Follow-up visit recorded: {visit.label}.")
    return redirect("case", pk=referral.pk)


def _visible(user, pk: int) -> Referral:
    """The case page's access rule: a case this user may not see is 404."""
    try:
        return selectors.referral_detail(user, pk)
    except Referral.DoesNotExist:
        raise Http404("No such case") from None


def _refused(request, referral_id: int, detail: str) -> HttpResponse:
    messages.error(request, f"Not recorded: {detail}")
    return redirect("case", pk=referral_id)
