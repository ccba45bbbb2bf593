"""The capacity pages (docs/capacity.md, docs/ui.md): the scanner's `.ics` feed."""

import secrets
from datetime import timedelta

from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from carepath.pathway import audit
from imaging.models import MRIRequest

from . import ics
from .models import Reservation, Scanner

FEED_PAST = timedelta(days=30)  # how far back the feed goes; forward, the booking horizon (imaging/rules.py)


def live(reservations: QuerySet[Reservation], now) -> QuerySet[Reservation]:
    """Bookings not released and holds not lapsed (overrides included: they take the scanner too)."""
    return reservations.filter(released_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


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
        live(Reservation.objects.filter(scanner=scanner), now)
        .filter(start__lt=now + BOOKING_HORIZON, busy_until__gt=now - FEED_PAST)
        .select_related("mri_request", "anaesthesia_list", "scanner__site")
        .order_by("start", "id")
    )
    audit.record_list(
        None, MRIRequest, sorted({r.mri_request_id for r in reservations}), query=f"calendar feed: {scanner}"
    )
    response = HttpResponse(ics.feed(scanner, reservations, now=now), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="scanner-{scanner.pk}.ics"'
    return response
