"""`Idempotency-Key` on every POST (docs/design.md §5): same user, key and body → the first answer,
replayed, and the action done once; same key with another body → 422.

The key row is inserted in the same transaction as the action. A concurrent retry with the same key
waits on the unique index until the first commits, then replays its answer; if the first fails
with a server error its transaction rolls back, taking the key with it, so the retry may act.

A stored answer expires after `IDEMPOTENCY_KEY_TTL_HOURS` (default 24): the key is then new again,
and the `carepath.purge_idempotency_keys` task (beat, hourly) deletes expired rows.
"""

import hashlib
import json
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from carepath.models import AuditLog
from carepath.pathway import audit

from .models import IdempotencyRecord
from .problems import PROBLEM, problem_response

HEADER = "Idempotency-Key"
MAX_KEY = 255
REPLAYED_HEADERS = ("ETag", "Location")


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str, separators=(",", ":"))
    material = "\n".join([request.method, request.path, request.headers.get("If-Match", ""), body])
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(record.body, status=record.status_code, content_type=record.content_type or None)
    for name, value in (record.headers or {}).items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def ttl() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def _claim(request, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Insert the key row; on a duplicate, return the stored record instead, unless it has expired:
    then it is dropped and the key is claimed as new (the purge task may not have run yet)."""
    for _ in range(3):  # a concurrent retry may drop or claim the expired row between our steps
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(user=request.user, key=key, fingerprint=fingerprint)
                return None
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
            if existing is not None and existing.created_at > timezone.now() - ttl():
                return existing
            if existing is not None:
                IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
    raise IntegrityError(f"Idempotency-Key {key!r} could not be claimed")


def purge_expired(*, now=None, batch: int = 5000) -> int:
    """Delete stored answers older than `IDEMPOTENCY_KEY_TTL_HOURS`, a batch at a time (short
    transactions, no long lock on the table); returns how many. Safe to run twice or at once."""
    cutoff = (now or timezone.now()) - ttl()
    purged = 0
    while True:
        ids = list(IdempotencyRecord.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:batch])
        if not ids:
            return purged
        purged += IdempotencyRecord.objects.filter(pk__in=ids, created_at__lt=cutoff).delete()[0]


def idempotent(handler):
    """Decorate a POST handler of an APIView (after authentication has run)."""

    @wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None or not request.user.is_authenticated:
            return handler(self, request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY or not key.isprintable():
            return problem_response(
                400,
                "Invalid Idempotency-Key",
                f"Use 1 to {MAX_KEY} printable characters.",
                errors={HEADER: ["Invalid key."]},
            )
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            existing = _claim(request, key, fingerprint)
            if existing is not None:
                return _answer_for_existing(request, existing, fingerprint)
            response = _run(self, handler, request, *args, **kwargs)
            if response.status_code >= 500:
                transaction.set_rollback(True)  # forget the key: the retry must be able to act
                return response
            IdempotencyRecord.objects.filter(user=request.user, key=key).update(
                status_code=response.status_code,
                content_type=response.content_type or "",
                body=response.data,
                headers={h: response[h] for h in REPLAYED_HEADERS if h in response},
            )
        return response

    return wrapper


def _answer_for_existing(request, existing: IdempotencyRecord, fingerprint: str) -> Response:
    if existing.fingerprint != fingerprint:
        return problem_response(
            422,
            "Idempotency-Key reused",
            "This Idempotency-Key was already used with a different request.",
            kind="idempotency-key-reused",
        )
    if existing.status_code is None:  # only possible if the first request is still running elsewhere
        return problem_response(409, "Request in progress", "The first request with this key is still running.")
    _audit_replay(request, existing)
    return _replay(existing)


def _audit_replay(request, existing: IdempotencyRecord) -> None:
    """A replay hands the first answer out again, a child's record perhaps: audited like a read, with
    the child the answer names when it names one."""
    body = existing.body if isinstance(existing.body, dict) else {}
    patient = body.get("patient")
    patient_id = patient.get("id") if isinstance(patient, dict) else body.get("patient_id")
    audit.record_event(
        request.user,
        AuditLog.Action.REPLAY,
        existing._meta.label_lower,
        existing.pk,
        patient_id=patient_id if isinstance(patient_id, int) else None,
        changes={"path": request.path[:300], "status": existing.status_code, "key": existing.key[:100]},
    )


def _run(view, handler, request, *args, **kwargs) -> Response:
    try:
        return handler(view, request, *args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - converted to the same problem response the view would give
        return view.handle_exception(exc)


__all__ = ["idempotent", "purge_expired", "HEADER", "PROBLEM"]
