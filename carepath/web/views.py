"""Web pages shared by every role (docs/design.md §6): My work, notifications, error pages (sign-in:
carepath/web/signin.py).

Views are thin: reads through selectors (which apply carepath.pathway.access), writes through services,
and every page that shows children's records leaves an audit row.
"""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from carepath.models import WorkItem, WorkItemKind
from carepath.notify import inbox
from carepath.pathway import access, audit, registry, selectors, workitems
from carepath.pathway.dates import is_due_soon, is_overdue
from carepath.pathway.errors import DomainError
from carepath.pathway.priority import PRIORITY_WORDS, Priority
from carepath.pathway.roles import Role, user_roles
from carepath.web import away, webforms

# --- My work -------------------------------------------------------------------------------------
WORKLIST_LIMIT = 200


def _worklist(request: HttpRequest):
    items = selectors.worklist_for(request.user)
    priority = request.GET.get("priority", "")
    kind = request.GET.get("step", "")
    if priority in Priority.values:
        items = items.filter(priority=priority)
    if kind in WorkItemKind.values:
        items = items.filter(kind=kind)
    if request.GET.get("mine") == "1":
        items = items.filter(assigned_to=request.user)
    return list(items[:WORKLIST_LIMIT]), {"priority": priority, "step": kind, "mine": request.GET.get("mine", "")}


def _group(items: list[WorkItem], now) -> list[tuple[str, str, list[WorkItem]]]:
    overdue = [i for i in items if is_overdue(i.due_at, now)]
    soon = [i for i in items if is_due_soon(i.due_at, now)]
    later = [i for i in items if not is_overdue(i.due_at, now) and not is_due_soon(i.due_at, now)]
    groups = [("overdue", "Overdue", overdue), ("soon", "Due in the next 24 hours", soon), ("later", "Later", later)]
    return [(key, title, _red_flags_first(rows)) for key, title, rows in groups]


def _red_flags_first(items: list[WorkItem]) -> list[WorkItem]:
    """Red-flag cases first within a due group, each part still soonest due first (a stable sort)."""
    return sorted(items, key=lambda item: not item.referral.red_flags)


@login_required
def my_work(request: HttpRequest) -> HttpResponse:
    return my_work_page(request)


def my_work_page(request: HttpRequest, *, delegation_form=None, status: int = 200) -> HttpResponse:
    """My work; after a refused delegation (carepath/web/handover.py), with its form as posted."""
    items, filters = _worklist(request)
    audit.record_list(
        request.user, _case_model(), sorted({i.referral_id for i in items}), query=request.GET.urlencode()
    )
    now = timezone.now()
    context = {
        "groups": _group(items, now),
        "count": len(items),
        "limited": len(items) >= WORKLIST_LIMIT,
        "filters": filters,
        "steps": _steps_for(request.user),
        "priorities": list(PRIORITY_WORDS.items()),
        "now": now,
        "refresh_url": reverse("my_work") + (f"?{request.GET.urlencode()}" if request.GET else ""),
    }
    context.update(away.my_work_context(request.user, items, delegation_form))  # delegations, snoozed, delegated
    template = "carepath/_worklist.html" if request.htmx else "carepath/my_work.html"
    return render(request, template, context, status=status)


def _steps_for(user) -> list[tuple[str, str]]:
    roles = user_roles(user)
    queue_of = registry.STEP_QUEUES  # kind → queue, registered by the apps (read, not copied)
    everyone = Role.ADMIN in roles
    return [(k, label) for k, label in WorkItemKind.choices if everyone or queue_of.get(k, Role.NEUROLOGIST) in roles]


def _case_model():
    """The case model, as carepath's own work item names it (carepath does not import the apps)."""
    return WorkItem._meta.get_field("referral").related_model


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


@require_POST
@login_required
def work_item_claim(request: HttpRequest, pk: int) -> HttpResponse:
    take_over = request.POST.get("take_over") == "1"  # a colleague's item, taken over on purpose
    claim = functools.partial(workitems.work_item_claim, take_over=take_over)
    return _work_item_action(request, pk, claim, "You have taken this item.")


@require_POST
@login_required
def work_item_release(request: HttpRequest, pk: int) -> HttpResponse:
    return _work_item_action(request, pk, workitems.work_item_release, "The item is back in its queue.")


def _work_item_action(request, pk, service, success: str) -> HttpResponse:
    # Only items on cases this user may see; anything else is a 404, never a hint that it exists.
    if not WorkItem.objects.filter(access.referral_q(request.user, prefix="referral__"), pk=pk).exists():
        return render(request, "404.html", status=404)
    try:
        service(work_item_id=pk, actor=request.user)
        messages.success(request, success)
    except DomainError as exc:
        messages.error(request, webforms.message_for(exc))
    return redirect(_back(request, reverse("my_work")))


# --- notifications -------------------------------------------------------------------------------
NOTIFICATION_PAGE = 100


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.notifications_for(request.user)[:NOTIFICATION_PAGE])
    audit.record_list(
        request.user, _case_model(), sorted({n.referral_id for n in rows if n.referral_id}), "notifications"
    )
    return render(request, "carepath/notifications.html", {"notifications": rows})


@require_POST
@login_required
def notification_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        inbox.notification_acknowledge(notification_id=pk, actor=request.user)
    except DomainError:
        return render(request, "404.html", status=404)
    return redirect(_back(request, reverse("notifications")))


def unread_notification_count(user) -> int:
    return selectors.notifications_for(user).filter(Q(acknowledged_at__isnull=True)).count()
