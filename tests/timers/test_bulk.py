"""One INSERT for many rows (carepath/db/bulk.py): rows read back as bulk_create writes them."""

from datetime import UTC, datetime, timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from carepath.db import bulk
from carepath.models import CaseEvent, Delivery, DeliveryState, SLAPolicy

pytestmark = pytest.mark.django_db


AT = datetime(2026, 12, 2, 8, 1, 41, 123456, tzinfo=UTC)  # one instant for both batches


def events(pathway, neurologist, tag: str) -> list[CaseEvent]:
    referral = pathway.submitted()
    return [
        CaseEvent(
            referral_id=referral.pk,
            machine="referral",
            kind=CaseEvent.Kind.REMINDER,
            transition=tag,
            actor=neurologist,
            at=AT + timedelta(minutes=i),
            data={"due_at": AT, "notified": ["dr_neuro"], "level": i, "hours_before": None},
        )
        for i in range(3)
    ]


def read_back(transition: str) -> list[dict]:
    rows = CaseEvent.objects.filter(transition=transition).order_by("at")
    return [model_to_dict(e, exclude=["id", "transition"]) | {"at": e.at} for e in rows]


def test_rows_inserted_read_back_exactly_as_bulk_create_writes_them(pathway, neurologist):
    CaseEvent.objects.bulk_create(events(pathway, neurologist, "orm"))
    assert bulk.insert(events(pathway, neurologist, "bulk")) == {}
    orm, ours = read_back("orm"), read_back("bulk")
    for row in orm + ours:
        row.pop("referral")  # each batch has a case of its own
    assert ours == orm and ours[0]["at"].microsecond == 123456


def delivery(key: str, **fields) -> Delivery:
    now = timezone.now()
    return Delivery(
        dedupe_key=key, channel="email", to="a@example.org", body="b", created_at=now, next_attempt_at=now, **fields
    )


def test_a_row_whose_key_is_taken_is_skipped_and_only_new_rows_get_ids():
    Delivery.objects.create(
        dedupe_key="taken",
        channel="email",
        to="old@example.org",
        body="old",
        state="sent",
        created_at=timezone.now(),
        next_attempt_at=timezone.now(),
    )
    ids = bulk.insert([delivery("taken"), delivery("new:1", subject="one"), delivery("new:2")], key="dedupe_key")
    assert set(ids) == {"new:1", "new:2"}
    assert Delivery.objects.get(pk=ids["new:1"]).subject == "one"
    assert Delivery.objects.get(dedupe_key="taken").state == DeliveryState.SENT


def test_a_model_with_values_computed_on_save_is_refused():
    with pytest.raises(TypeError, match="updated_at"):
        bulk.insert([SLAPolicy(kind="triage", priority="asap", amount=1, unit="days", source="test")])


def test_a_naive_datetime_is_refused_rather_than_read_in_another_time_zone(require_postgres):
    naive = delivery("naive")
    naive.created_at = datetime(2026, 3, 2, 9, 0)
    with pytest.raises(TypeError, match="aware"):
        bulk.insert([naive], key="dedupe_key")


def test_the_insert_is_prepared_once_per_session_and_executed_with_the_rows(require_postgres, pathway, neurologist):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    batches = [events(pathway, neurologist, tag) for tag in ("one", "two")]
    with CaptureQueriesContext(connection) as captured:
        for batch in batches:
            bulk.insert(batch)

    sql = [q["sql"] for q in captured.captured_queries]
    assert all(s.startswith("EXECUTE") for s in sql) and len(sql) == 2  # prepared when the case was made
    assert len(read_back("one")) == len(read_back("two")) == 3
