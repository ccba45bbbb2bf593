"""Liveness and readiness probes (docs/design.md §5): no login, no patient data."""

from django.db import connection
from django.http import JsonResponse

from carepath.timers import sweep


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    ready = all(checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    body["oldest_due_timer_seconds"] = sweep.oldest_due_seconds() if checks["database"] else None  # stuck beat
    return JsonResponse(body, status=200 if ready else 503)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 — any failure to reach the database means "not ready"; the probe must answer
        return False


def _broker_ok() -> bool:
    from .celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # noqa: BLE001 — as above: a probe reports, it does not raise
        return False
