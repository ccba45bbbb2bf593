"""Interim: whether a time lies in a scanner's open session or an anaesthesia list, and how long a
slot is, for the booking service until imaging/capacity/calendar.py and finder.py provide them
(docs/capacity.md). One time is checked; nothing is expanded."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from carepath.models import Holiday

from .models import AnaesthesiaList, Closure, Scanner, SlotRule


def slot_length(mri, sedation: str) -> tuple[timedelta, timedelta]:
    """(scan, turnaround): the most specific slot rule, never shorter than the protocoled duration."""
    rules = {r.protocol: r for r in SlotRule.objects.filter(sedation=sedation, protocol__in=[mri.protocol, ""])}
    rule = rules.get(mri.protocol) or rules.get("")
    minutes = max(rule.minutes if rule else 0, mri.duration_minutes or 0) or 45
    return timedelta(minutes=minutes), timedelta(minutes=rule.turnaround_minutes if rule else 0)


def _local(site, start: datetime, until: datetime):
    zone = ZoneInfo(site.time_zone or settings.TIME_ZONE)
    a, b = timezone.localtime(start, zone), timezone.localtime(until, zone)
    return (a, b) if a.date() == b.date() else (None, None)  # sessions do not run over midnight


def _weekly(rows, day, a, b):
    rows = rows.filter(weekday=day.weekday(), start_time__lte=a.time(), valid_from__lte=day)
    rows = rows.filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
    return [r for r in rows if b.time() <= r.end_time]


def scanner_open(scanner: Scanner, start: datetime, until: datetime) -> bool:
    a, b = _local(scanner.site, start, until)
    if a is None:
        return False
    day = a.date()
    if not scanner.open_on_holidays and Holiday.objects.filter(date=day).exists():
        return False
    if not _weekly(scanner.sessions.all(), day, a, b):
        return False
    closed = Closure.objects.filter(site=scanner.site, start__lt=until, end__gt=start)
    return not closed.filter(Q(scanner=scanner) | Q(scanner__isnull=True, anaesthesia_list__isnull=True)).exists()


def anaesthesia_lists(site, start: datetime, until: datetime) -> list[AnaesthesiaList]:
    a, b = _local(site, start, until)
    if a is None or Holiday.objects.filter(date=a.date()).exists():
        return []
    lists = _weekly(AnaesthesiaList.objects.filter(site=site, active=True), a.date(), a, b)
    closed = Closure.objects.filter(site=site, start__lt=until, end__gt=start)
    shut = set(closed.values_list("anaesthesia_list_id", flat=True))
    if None in shut and closed.filter(scanner__isnull=True, anaesthesia_list__isnull=True).exists():
        return []
    return [lst for lst in lists if lst.pk not in shut]
