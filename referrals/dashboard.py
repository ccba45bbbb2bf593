"""Service figures for the dashboard (docs/design.md §6): read-only aggregates over the cases a user may see.

Every figure covers a bounded window (default 180 days) so the page costs the same with 10k or
100k cases. Percentiles run in the database on PostgreSQL (`percentile_cont`); on SQLite, the
zero-setup demo database, the durations are fetched and ranked in Python.
"""

from datetime import date, timedelta

from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Func, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from carepath.models import Timer, TimerKind, WorkItem, WorkItemKind, WorkItemStatus
from carepath.pathway import access
from carepath.pathway.priority import Priority
from imaging.models import MRIRequest, NeuroradiologyReport

from .choices import ReferralState
from .models import OPEN_STATES, Outcome, Referral

HOUR = 3600.0


class _Seconds(Func):
    """end - start in seconds (PostgreSQL)."""

    template = "EXTRACT(EPOCH FROM (%(expressions)s))"
    arg_joiner = " - "


class _Percentile(Aggregate):
    """An ordered-set aggregate (PostgreSQL). An `Aggregate`, not a `Func` marked as containing
    one: Django put a `Func`'s argument in the GROUP BY, one group per distinct duration."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def duration_stats(queryset: QuerySet, start: str, end: str, group: str | None = None) -> list[dict]:
    """[{group, n, p50_h, p90_h}] of (end - start) in hours."""
    queryset = queryset.filter(**{f"{start}__isnull": False, f"{end}__isnull": False})
    if connection.vendor == "postgresql":
        seconds = _Seconds(F(end), F(start))
        rows = (
            queryset.values(*([group] if group else []))
            .annotate(n=Count("pk"), p50=_Percentile(seconds, fraction=0.5), p90=_Percentile(seconds, fraction=0.9))
            .order_by()
        )
        if not group:
            rows = [
                queryset.aggregate(
                    n=Count("pk"), p50=_Percentile(seconds, fraction=0.5), p90=_Percentile(seconds, fraction=0.9)
                )
            ]
        return [
            {"group": r.get(group, ""), "n": r["n"], "p50_h": _hours(r["p50"]), "p90_h": _hours(r["p90"])}
            for r in rows
            if r["n"]
        ]
    buckets: dict[str, list[float]] = {}
    for key, a, b in queryset.values_list(group or "pk", start, end):
        buckets.setdefault(key if group else "", []).append((b - a).total_seconds())
    return [
        {"group": k, "n": len(v), "p50_h": _hours(_percentile(v, 0.5)), "p90_h": _hours(_percentile(v, 0.9))}
        for k, v in sorted(buckets.items())
    ]


def _hours(seconds) -> float | None:
    return None if seconds is None else round(float(seconds) / HOUR, 1)


def cases_per_step(user) -> list[dict]:
    rows = dict(
        Referral.objects.filter(access.referral_q(user), state__in=OPEN_STATES)
        .values_list("state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [{"group": s, "label": ReferralState(s).label, "n": rows.get(s, 0)} for s in OPEN_STATES]


def _items(user, since):
    return WorkItem.objects.filter(access.referral_q(user, prefix="referral__"), created_at__gte=since)


def time_in_step(user, since) -> list[dict]:
    items = _items(user, since).filter(is_primary=True, status=WorkItemStatus.DONE)
    return _labelled(duration_stats(items, "created_at", "closed_at", group="kind"))


def sla_breaches(user, since, now) -> list[dict]:
    late = Q(closed_at__isnull=False, due_at__isnull=False, closed_at__gt=F("due_at")) | Q(
        status=WorkItemStatus.OPEN, due_at__lt=now
    )
    rows = (
        _items(user, since)
        .exclude(status=WorkItemStatus.CANCELLED)
        .values("kind")
        .annotate(total=Count("pk"), breached=Count("pk", filter=late))
        .order_by()
    )
    return _labelled(
        [
            {
                "group": r["kind"],
                "n": r["total"],
                "breached": r["breached"],
                "rate": round(100.0 * r["breached"] / r["total"], 1) if r["total"] else 0.0,
            }
            for r in rows
        ]
    )


def eighteen_weeks(user, since, now) -> list[dict]:
    """Referral to conclusion against the 18-week standard (docs/design.md §4, the case clock), per
    priority, for the cases received in the window whose clock started (at triage): concluded in
    time, concluded late, and still open past the deadline. The deadline is the clock's first
    escalation (`carepath.pathway.case_clock`, working days and holidays already counted); declined and
    cancelled cases leave the pathway and are not counted."""
    first_escalations = (
        Timer.objects.filter(
            access.referral_q(user, prefix="referral__"),
            kind=TimerKind.CLOCK_ESCALATION,
            key__endswith=":escalate:1",
            referral__submitted_at__gte=since,
        )
        .exclude(referral__state__in=[ReferralState.DECLINED, ReferralState.CANCELLED])
        .values("referral__priority")
        .annotate(
            n=Count("pk"),
            in_time=Count("pk", filter=Q(referral__concluded_at__lte=F("due_at"))),
            late=Count("pk", filter=Q(referral__concluded_at__gt=F("due_at"))),
            overdue=Count("pk", filter=Q(referral__concluded_at__isnull=True, due_at__lt=now)),
        )
        .order_by()
    )
    labels = dict(Priority.choices)
    rows = [
        {
            "group": r["referral__priority"],
            "label": labels.get(r["referral__priority"], r["referral__priority"] or "Not set"),
            "n": r["n"],
            "in_time": r["in_time"],
            "late": r["late"],
            "overdue": r["overdue"],
            "rate": round(100.0 * (r["late"] + r["overdue"]) / r["n"], 1) if r["n"] else 0.0,
        }
        for r in first_escalations
    ]
    order = {p: i for i, p in enumerate(labels)}
    return sorted(rows, key=lambda r: order.get(r["group"], len(order)))


def _labelled(rows: list[dict]) -> list[dict]:
    labels = dict(WorkItemKind.choices)
    for row in rows:
        row["label"] = labels.get(row["group"], row["group"])
    return sorted(rows, key=lambda r: r["label"])


def imaging_intervals(user, since) -> list[dict]:
    mris = MRIRequest.objects.filter(access.mri_request_q(user), performed_at__gte=since)
    reports = NeuroradiologyReport.objects.filter(
        access.mri_request_q(user, prefix="mri_request__"), signed_at__gte=since
    )
    referral_to_mri = duration_stats(mris, "referral__submitted_at", "performed_at")
    mri_to_report = duration_stats(reports, "mri_request__performed_at", "signed_at")
    out = []
    pairs = (("Referral → MRI performed", referral_to_mri), ("MRI performed → report signed", mri_to_report))
    for label, rows in pairs:
        row = rows[0] if rows else {"n": 0, "p50_h": None, "p90_h": None}
        out.append({"group": label, "label": label, **{k: row[k] for k in ("n", "p50_h", "p90_h")}})
    return out


def loop_closure(user, since) -> list[dict]:
    rows = (
        Outcome.objects.filter(access.referral_q(user, prefix="referral__"), concluded_at__gte=since)
        .annotate(month=TruncMonth("concluded_at"))
        .values("month")
        .annotate(total=Count("pk"), acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)))
        .order_by("month")
    )
    return [
        {
            "group": r["month"].strftime("%Y-%m"),
            "label": r["month"].strftime("%b %Y"),
            "n": r["total"],
            "acknowledged": r["acknowledged"],
            "rate": round(100.0 * r["acknowledged"] / r["total"], 1) if r["total"] else 0.0,
        }
        for r in rows
    ]


UTILISATION_WEEKS = (-4, 5)  # from four weeks back to four ahead


def mri_utilisation(now) -> list[dict]:
    """Each active scanner's weeks around this one: hours of open session time, hours of it booked
    (scans with their turnaround, as `calendar.utilisation`; holds do not count) and the share
    booked. Read in a few queries for all the weeks. Capacity, not children: the same for every
    user who may see the dashboard."""
    from imaging.capacity import calendar
    from imaging.capacity.models import ReservationKind, Scanner

    today = timezone.localdate(now)
    first = today - timedelta(days=today.weekday()) + timedelta(weeks=UTILISATION_WEEKS[0])
    weeks = [first + timedelta(weeks=n) for n in range(UTILISATION_WEEKS[1] - UTILISATION_WEEKS[0])]
    scanners = list(Scanner.objects.filter(active=True).select_related("site"))
    windows = calendar.scanner_windows(scanners, first, weeks[-1] + timedelta(days=6))
    start = min((w.start for found in windows.values() for w in found), default=now)
    end = max((w.end for found in windows.values() for w in found), default=now)
    booked: dict[int, list] = {s.pk: [] for s in scanners}
    rows = calendar.live_reservations(start, end).filter(scanner__in=booked, kind=ReservationKind.BOOKING)
    for scanner_id, r_start, r_busy in rows.values_list("scanner_id", "start", "busy_until"):
        booked[scanner_id].append((r_start, r_busy))
    result = []
    for scanner in sorted(scanners, key=str):
        for week in weeks:
            mine = [w for w in windows[scanner.pk] if week <= timezone.localdate(w.start) < week + timedelta(days=7)]
            u = calendar.Utilisation(scanner, week, sum(w.minutes for w in mine), _taken(booked[scanner.pk], mine))
            result.append(
                {
                    "group": f"{scanner.pk}:{week.isoformat()}",
                    "label": f"{scanner.name}, w/c {week.day} {week:%b}",
                    "scanner": str(scanner),
                    "week": week.isoformat(),
                    "session_h": round(u.session_minutes / 60, 1),
                    "booked_h": round(u.booked_minutes / 60, 1),
                    "rate": u.percent,
                }
            )
    return result


def _taken(busy: list, windows: list) -> int:
    """Minutes of `windows` that the busy spans cover."""
    seconds = sum(
        (min(b, w.end) - max(a, w.start)).total_seconds() for a, b in busy for w in windows if a < w.end and w.start < b
    )
    return int(seconds // 60)


def figures(user, days: int = 180) -> dict:
    now = timezone.now()
    since = now - timedelta(days=days)
    return {
        "cases_per_step": cases_per_step(user),
        "time_in_step": time_in_step(user, since),
        "sla_breaches": sla_breaches(user, since, now),
        "eighteen_weeks": eighteen_weeks(user, since, now),
        "intervals": imaging_intervals(user, since),
        "loop_closure": loop_closure(user, since),
        "mri_utilisation": mri_utilisation(now),
        "since": since,
        "days": days,
    }


def utilisation_grid(rows: list[dict]) -> dict:
    """`mri_utilisation`'s rows as a coordinator reads them: a scanner a row, a week a column."""
    weeks = sorted({r["week"] for r in rows})
    by_scanner: dict[str, dict] = {}
    for r in rows:
        by_scanner.setdefault(r["scanner"], {})[r["week"]] = r
    return {
        "weeks": [date.fromisoformat(w) for w in weeks],
        "rows": [
            {"scanner": name, "cells": [_banded(cells.get(w)) for w in weeks]} for name, cells in by_scanner.items()
        ],
    }


def _banded(cell: dict | None) -> dict | None:
    """A cell with its shade: none (no sessions), empty, low (< 50 %), mid (< 85 %), full."""
    if cell is None or not cell["session_h"]:
        return None
    rate = cell["rate"] or 0
    band = "empty" if rate == 0 else "low" if rate < 50 else "mid" if rate < 85 else "full"
    return {**cell, "band": band}


# table name → (title, columns as (key, heading))
TABLES = {
    "cases_per_step": ("Open cases per step", [("label", "Step"), ("n", "Cases")]),
    "time_in_step": (
        "Time in each step (hours)",
        [("label", "Step"), ("n", "Steps completed"), ("p50_h", "Median h"), ("p90_h", "90th percentile h")],
    ),
    "sla_breaches": (
        "SLA breaches per step",
        [("label", "Step"), ("n", "Steps"), ("breached", "Breached"), ("rate", "Breached %")],
    ),
    "eighteen_weeks": (
        "Referral to conclusion: the 18-week standard",
        [
            ("label", "Priority"),
            ("n", "Cases"),
            ("in_time", "Concluded in time"),
            ("late", "Concluded late"),
            ("overdue", "Open past 18 weeks"),
            ("rate", "Breached %"),
        ],
    ),
    "intervals": (
        "Imaging intervals (hours)",
        [("label", "Interval"), ("n", "Cases"), ("p50_h", "Median h"), ("p90_h", "90th percentile h")],
    ),
    "loop_closure": (
        "Loop closure by month",
        [("label", "Month"), ("n", "Outcomes sent"), ("acknowledged", "Acknowledged"), ("rate", "Closed-loop %")],
    ),
    "mri_utilisation": (
        "MRI utilisation per scanner per week",
        [
            ("scanner", "Scanner"),
            ("week", "Week from"),
            ("session_h", "Session hours"),
            ("booked_h", "Booked hours"),
            ("rate", "Booked %"),
        ],
    ),
}
