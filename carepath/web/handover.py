"""The pages' side of reassigning and snoozing a step and delegating while away (issue 18 item 3;
docs/ui.md, "Reassign, delegate, snooze, reopen"): the forms on the case page's Next step card (posted
to the case page, like its other forms: `post_on_case`) and My work's delegation form (posted to
`delegation_create`). The services (carepath/pathway/workitems_handover.py,
carepath/pathway/delegation.py) decide; a refusal comes back as the same page with the form as typed,
each error beside its field and in the summary above the form, and nothing changed (a `Forbidden` is
the 403 page)."""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from carepath.models import WorkItem
from carepath.pathway import delegation, workitems_handover
from carepath.pathway.errors import DomainError, Forbidden
from carepath.pathway.ownership import display_name
from carepath.web import away, views
from carepath.web.formfields import django_form_items, int_or_none
from carepath.web.handover_forms import DelegationForm, ReassignForm, SnoozeForm, add_refusal


# --- the case page's forms --------------------------------------------------------------------------
@dataclass
class StepFormFailed:
    """A Give or Snooze form refused: which item's, which form (with what was typed and why)."""

    item_id: int
    action: str  # "reassign" or "snooze"
    form: forms.Form
    status: int = 400

    @property
    def summary(self):
        return django_form_items(self.form)

    @property
    def message(self) -> str:
        """What the refusal said of the form as a whole (a step finished meanwhile)."""
        return " ".join(self.form.non_field_errors())

    @property
    def dom_id(self) -> str:
        return f"{self.action}-{self.item_id}-errors"


def _reassign(item, data: dict, user) -> str:
    workitems_handover.work_item_reassign(work_item_id=item.pk, actor=user, to=data["to"], reason=data["reason"])
    return "The step has been given to your colleague, who has been told."


def _snooze(item, data: dict, user) -> str:
    workitems_handover.work_item_snooze(work_item_id=item.pk, actor=user, until=data["until"], reason=data["reason"])
    return "Snoozed: the step comes back to My work at the time you chose."


CASE_FORMS = {"reassign": (ReassignForm, _reassign), "snooze": (SnoozeForm, _snooze)}


def post_on_case(request: HttpRequest, referral_id: int) -> str | StepFormFailed:
    """A Give or Snooze form posted to the case page (`machine` names which; `work_item` the step, one
    of this case's, else 404): the success message, or what to show again."""
    item = WorkItem.objects.filter(referral_id=referral_id, pk=int_or_none(request.POST.get("work_item"))).first()
    if item is None:
        raise Http404("No such step on this case")
    action = request.POST["machine"]
    form_class, act = CASE_FORMS[action]
    decorate_items([item], request.user)
    form = form_class(request.POST, item=item)
    if not form.is_valid():
        return StepFormFailed(item.pk, action, form)
    try:
        return act(item, form.cleaned_data, request.user)
    except Forbidden:
        raise
    except DomainError as refused:
        add_refusal(form, refused)
        return StepFormFailed(item.pk, action, form, refused.status)


def decorate_items(items: list[WorkItem], user, failed: StepFormFailed | None = None) -> None:
    """For the case page: who may give each step on or snooze it, to whom, and the forms to do it
    (the refused one as it was posted, its disclosure open)."""
    for item in items:
        item.may_hand_on = workitems_handover.may_hand_on(user, item)
        item.may_snooze = workitems_handover.may_snooze(user, item)
        item.colleagues = workitems_handover.colleagues_for(item) if item.may_hand_on else []
        mine = failed if failed is not None and failed.item_id == item.pk else None
        item.handover_failed = mine
        item.give_form = _form_for(item, "reassign", mine) if item.may_hand_on else None
        item.snooze_form = _form_for(item, "snooze", mine) if item.may_snooze else None


def _form_for(item, action: str, failed: StepFormFailed | None) -> forms.Form:
    if failed is not None and failed.action == action:
        return failed.form
    return CASE_FORMS[action][0](item=item)


# --- My work's delegation --------------------------------------------------------------------------
@require_POST
@login_required
def delegation_create(request: HttpRequest) -> HttpResponse:
    form = DelegationForm(request.POST, colleagues=away.delegation_colleagues(request.user))
    status = 400
    if form.is_valid():
        try:
            made = delegation.delegation_create(actor=request.user, **form.cleaned_data)
        except Forbidden:
            raise
        except DomainError as refused:
            add_refusal(form, refused)
            status = refused.status
        else:
            messages.success(
                request,
                f"From {made.starts_on:%a %-d %b} to {made.ends_on:%a %-d %b} the steps you hold show in "
                f"{display_name(made.delegate)}'s My work.",
            )
            return redirect(reverse("my_work"))
    return views.my_work_page(request, delegation_form=form, status=status)


@require_POST
@login_required
def delegation_end(request: HttpRequest, pk: int) -> HttpResponse:
    if not delegation.delegations_of(request.user).filter(pk=pk).exists():
        return render(request, "404.html", status=404)
    delegation.delegation_end(delegation_id=pk, actor=request.user)  # Forbidden: the 403 page
    messages.success(request, "The delegation has ended.")
    return redirect(reverse("my_work"))
