"""The capacity pages (docs/capacity.md, docs/ui.md): the coordinator's calendar and the scanner's
`.ics` feed."""

import secrets
from datetime import date, timedelta

from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from carepath.pathway import audit
from carepath.pathway.dates import age_in_months
from carepath.pathway.roles import Role, has_role
from imaging import selectors
from imaging.models import MRIRequest

from . import agenda, calendar, calendar_booking, ics, waiting
from .models import Reservation, Scanner

FEED_PAST = timedelta(days=30)  # how far back the feed goes; forward, the booking horizon (imaging/rules.py)
CALENDAR_ROLES = (Role.IMAGING_COORDINATOR, Role.NEURORADIOLOGIST, Role.ADMIN)
FEED_ROLES = (Role.IMAGING_COORDINATOR, Role.ADMIN)  # who is shown the feed's secret address


def _date(raw: str | None) -> date:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        return timezone.localdate()


@login_required
@require_GET
def mri_calendar(request: HttpRequest) -> HttpResponse:
    """One scanner's day or week: booked, held and free time, closures, anaesthesia lists."""
    user = request.user
    if not has_role(user, *CALENDAR_ROLES):
        raise PermissionDenied("The MRI calendar is for imaging staff.")
    scanners = list(Scanner.objects.filter(active=True).select_related("site"))
    if not scanners:
        return render(request, "imaging/calendar.html", {"scanners": []})
    booking = calendar_booking.for_request(user, request.GET.get("book"))
    chosen = request.GET.get("scanner", "")
    first_scanner, first_day = calendar_booking.start_for(booking, scanners, chosen or request.GET.get("date", ""))
    scanner = next((s for s in scanners if str(s.pk) == chosen), None) if chosen else first_scanner or scanners[0]
    if scanner is None:
        raise Http404("No such scanner")
    view = "day" if request.GET.get("view") == "day" else "week"
    on = first_day or _date(request.GET.get("date"))
    if view == "week" and not (first_day or request.GET.get("date")) and on.weekday() >= 5:
        on += timedelta(days=7 - on.weekday())  # at the weekend, the week a coordinator books into is the next
    first = on if view == "day" else on - timedelta(days=on.weekday())
    dates = [first + timedelta(days=n) for n in range(1 if view == "day" else 7)]
    now = timezone.now()
    reservations = list(
        calendar.live_reservations(*agenda.span(scanner, first, dates[-1]), now=now)
        .filter(scanner=scanner)
        .select_related("mri_request__referral__patient", "appointment", "anaesthesia_list")
    )
    visible = set(
        selectors.mri_requests_visible_to(user)
        .filter(pk__in=[r.mri_request_id for r in reservations])
        .values_list("pk", flat=True)
    )
    for r in reservations:  # a child's name and age only on a case this user may see
        r.named, r.child_age = r.mri_request_id in visible, _age(r, on)
    days = agenda.days(scanner, dates, reservations)
    if view == "week":  # a weekend with nothing on it is left out
        days = [d for d in days if d.date.weekday() < 5 or d.has_anything]
    calendar_booking.place_times(booking, scanner, days)
    shown = sorted(
        {b.reservation.mri_request.referral_id for d in days for b in d.blocks if b.reservation and b.reservation.named}
    )
    audit.record_list(user, apps.get_model("referrals", "Referral"), shown, query=f"mri calendar {scanner} {first}")
    step = timedelta(days=1 if view == "day" else 7)
    context = {
        "scanners": scanners,
        "scanner": scanner,
        "view": view,
        "on": on,
        "days": days,
        "previous": on - step,
        "next": on + step,
        "today": timezone.localdate(),
        "open_minutes": sum(d.open_minutes for d in days),
        "booked_minutes": sum(d.booked_minutes for d in days),
        "feed": _feed_url(request, scanner) if has_role(user, *FEED_ROLES) else "",
        "booking": booking,
        "keep": booking.keep if booking else "",
        "may_book": has_role(user, *calendar_booking.BOOKERS),
    }
    return render(request, "imaging/calendar.html", context)


WAITING_ROLES = (Role.IMAGING_COORDINATOR, Role.NEURORADIOLOGIST, Role.NEUROLOGIST, Role.ADMIN)  # the board's


@login_required
@require_GET
def waiting_list(request: HttpRequest) -> HttpResponse:
    """Requests awaiting a booking, most due first, with the free slots before each due time."""
    user = request.user
    if not has_role(user, *WAITING_ROLES):
        raise PermissionDenied("The waiting list is for imaging and neurology staff.")
    rows, total = waiting.rows(selectors.mri_requests_visible_to(user))
    today = timezone.localdate()
    for row in rows:
        months = age_in_months(row.mri.referral.patient.birth_date, today)
        row.age = f"{months} mo" if months < 24 else f"{months // 12} y"
    shown = sorted({row.mri.referral_id for row in rows})
    audit.record_list(user, apps.get_model("referrals", "Referral"), shown, query="mri waiting list")
    context = {
        "rows": rows,
        "total": total,
        "more": total - len(rows),
        "cap": waiting.finder.COUNT_CAP,
        "may_book": has_role(user, *calendar_booking.BOOKERS),
    }
    return render(request, "imaging/waiting_list.html", context)


def _age(reservation: Reservation, on: date) -> str:
    months = age_in_months(reservation.mri_request.referral.patient.birth_date, on)
    return f"{months} mo" if months < 24 else f"{months // 12} y"


def _feed_url(request: HttpRequest, scanner: Scanner) -> str:
    path = reverse("scanner_feed", args=[scanner.pk])
    return request.build_absolute_uri(f"{path}?token={scanner.calendar_token}")


@require_GET
def scanner_feed(request: HttpRequest, pk: int) -> HttpResponse:
    """The scanner's live reservations as an `.ics` calendar. No sign-in: a calendar program fetches
    it with the secret token of the scanner's address; a wrong or missing token is a 404, as is an
    unknown scanner. Each fetch is audited (the MRI requests it listed)."""
    from imaging.rules import BOOKING_HORIZON

    scanner = Scanner.objects.select_related("site").filter(pk=pk).first()
    token = request.GET.get("token", "")
    if scanner is None or not secrets.compare_digest(token.encode(), scanner.calendar_token.encode()):
        raise Http404("No such calendar")
    now = timezone.now()
    reservations = list(
        calendar.live_reservations(now - FEED_PAST, now + BOOKING_HORIZON, now=now)
        .filter(scanner=scanner)
        .select_related("mri_request", "anaesthesia_list", "scanner__site")
        .order_by("start", "id")
    )
    audit.record_list(
        None, MRIRequest, sorted({r.mri_request_id for r in reservations}), query=f"calendar feed: {scanner}"
    )
    response = HttpResponse(ics.feed(scanner, reservations, now=now), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="scanner-{scanner.pk}.ics"'
    return response
