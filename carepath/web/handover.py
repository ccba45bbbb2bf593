"""The pages' side of reassigning and snoozing a step and delegating while away (issue 18 item 3;
docs/ui.md, "Reassign, delegate, snooze, reopen"): the forms on the case page's Next step card and
on My work post here; the services (carepath/pathway/workitems_handover.py,
carepath/pathway/delegation.py) decide. A refusal comes back as a message naming the reason (a
`Forbidden` is the 403 page), and the page shows the case as it is."""

from datetime import date, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from carepath.models import WorkItem
from carepath.pathway import access, delegation, workitems_handover
from carepath.pathway.errors import DomainError
from carepath.pathway.ownership import display_name
from carepath.web import webforms
from carepath.web.views import _back


def _visible_item(request, pk: int) -> WorkItem | None:
    return WorkItem.objects.filter(access.referral_q(request.user, prefix="referral__"), pk=pk).first()


def _run(request, pk: int, action, success: str) -> HttpResponse:
    """Only items on cases this user may see (anything else 404, never a hint that it exists)."""
    item = _visible_item(request, pk)
    if item is None:
        return render(request, "404.html", status=404)
    try:
        action(item)
        messages.success(request, success)
    except DomainError as refused:
        messages.error(request, _words(refused))
    return redirect(_back(request, reverse("my_work")))


def _words(refused: DomainError) -> str:
    text = webforms.message_for(refused)  # Forbidden: re-raised, the 403 page
    fields = [m for msgs in refused.errors.values() for m in msgs]
    return " ".join(fields) if fields else text


@require_POST
@login_required
def work_item_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    to, reason = request.POST.get("to", "").strip(), request.POST.get("reason", "").strip()

    def give(item):
        if not reason:
            raise DomainError("Say why you give this step to a colleague: the reason goes on the timeline.")
        workitems_handover.work_item_reassign(work_item_id=item.pk, actor=request.user, to=to, reason=reason)

    return _run(request, pk, give, "The step has been given to your colleague, who has been told.")


@require_POST
@login_required
def work_item_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    until = local_datetime(request.POST.get("until", ""))

    def snooze(item):
        if until is None:
            raise DomainError("Give the date and time the step should come back.")
        workitems_handover.work_item_snooze(
            work_item_id=item.pk, actor=request.user, until=until, reason=request.POST.get("reason", "").strip()
        )

    return _run(request, pk, snooze, "Snoozed: the step comes back to My work at the time you chose.")


def local_datetime(value: str) -> datetime | None:
    """A `datetime-local` input (the service's local time) as an aware time, or None."""
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return naive if timezone.is_aware(naive) else timezone.make_aware(naive)


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


@require_POST
@login_required
def delegation_create(request: HttpRequest) -> HttpResponse:
    starts_on, ends_on = _date(request.POST.get("starts_on", "")), _date(request.POST.get("ends_on", ""))
    try:
        if starts_on is None or ends_on is None:
            raise DomainError("Give your first and last day away.")
        made = delegation.delegation_create(
            actor=request.user,
            to=request.POST.get("to", "").strip(),
            starts_on=starts_on,
            ends_on=ends_on,
            reason=request.POST.get("reason", "").strip(),
        )
        messages.success(
            request,
            f"From {made.starts_on:%a %-d %b} to {made.ends_on:%a %-d %b} the steps you hold show in "
            f"{display_name(made.delegate)}'s My work.",
        )
    except DomainError as refused:
        messages.error(request, _words(refused))
    return redirect(reverse("my_work"))


@require_POST
@login_required
def delegation_end(request: HttpRequest, pk: int) -> HttpResponse:
    if not delegation.delegations_of(request.user).filter(pk=pk).exists():
        return render(request, "404.html", status=404)
    delegation.delegation_end(delegation_id=pk, actor=request.user)  # Forbidden: the 403 page
    messages.success(request, "The delegation has ended.")
    return redirect(reverse("my_work"))


def decorate_items(items: list[WorkItem], user) -> None:
    """For the case page: who may give each step on or snooze it, and to whom."""
    for item in items:
        item.may_hand_on = workitems_handover.may_hand_on(user, item)
        item.may_snooze = workitems_handover.may_snooze(user, item)
        item.colleagues = workitems_handover.colleagues_for(item) if item.may_hand_on else []
