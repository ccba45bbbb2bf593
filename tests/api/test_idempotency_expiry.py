"""Stored Idempotency-Key answers expire (IDEMPOTENCY_KEY_TTL_HOURS) and an hourly task purges them."""

from datetime import timedelta

from django.utils import timezone

from carepath.api.idempotency import purge_expired
from carepath.api.models import IdempotencyRecord
from referrals.models import Patient

from .test_referrals_api import PATIENT


def post(client, body, key):
    return client.post("/api/v1/patients/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def age(key: str, hours: float) -> None:
    IdempotencyRecord.objects.filter(key=key).update(created_at=timezone.now() - timedelta(hours=hours))


def test_an_expired_key_is_treated_as_new(api, pediatrician, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    client = api(pediatrician)
    assert post(client, PATIENT, "old-key").status_code == 201
    age("old-key", 25)

    # another body (another child: not a near-duplicate of the first): 422 while the key lived
    again = post(client, {**PATIENT, "mrn": "API-0002", "given_name": "Sam"}, "old-key")

    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Patient.objects.count() == 2
    assert IdempotencyRecord.objects.get(key="old-key").created_at > timezone.now() - timedelta(minutes=1)


def test_a_key_within_its_lifetime_still_replays(api, pediatrician, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    client = api(pediatrician)
    post(client, PATIENT, "young-key")
    age("young-key", 23)

    assert post(client, PATIENT, "young-key")["Idempotent-Replayed"] == "true"
    assert Patient.objects.count() == 1


def test_the_purge_deletes_expired_answers_only_and_can_run_twice(api, pediatrician, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    client = api(pediatrician)
    post(client, PATIENT, "expired")
    post(client, {**PATIENT, "mrn": "API-0003", "given_name": "Kim"}, "kept")
    age("expired", 24.5)

    assert purge_expired(batch=1) == 1
    assert purge_expired() == 0
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["kept"]


def test_beat_runs_the_named_purge_task_hourly(db, settings):
    from carepath.api.tasks import purge_idempotency_keys

    entry = settings.CELERY_BEAT_SCHEDULE["purge-idempotency-keys"]
    assert entry["task"] == purge_idempotency_keys.name == "carepath.purge_idempotency_keys"
    assert entry["schedule"] == 3600
    assert purge_idempotency_keys.delay().get() == 0  # eager in tests: runs, purges nothing
