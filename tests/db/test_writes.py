"""carepath/db/writes.py and bulk.insert_one: a transition's compiled writes change exactly what the ORM
would, take each call's values, and skip no signal receiver (none is connected); writes sent later
travel with the next statement, are seen by it, and fail or vanish with their transaction."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import signals
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from carepath.db import bulk
from carepath.db.writes import CompiledUpdate, batched, later, save_fields
from carepath.db.writes import atomic as writes_atomic
from carepath.models import CaseEvent, Machine, Timer, TimerState, WorkItem, WorkItemKind, WorkItemStatus
from carepath.pathway import workitems
from imaging.models import MRIRequest
from referrals.models import Referral


def test_save_fields_writes_the_named_fields_and_nothing_else(pathway):
    case = pathway.submitted()
    case.state, case.version, case.reason = "triaged", case.version + 1, "changed in memory only"

    save_fields(case, ("state", "version"))

    stored = Referral.objects.get(pk=case.pk)
    assert (stored.state, stored.version) == ("triaged", case.version)
    assert stored.reason != "changed in memory only"


def test_save_fields_on_a_row_that_is_gone_says_so(pathway):
    case = pathway.submitted()
    case.pk = case.pk + 10_000

    with pytest.raises(DatabaseError, match="expected to change 1 row"):
        save_fields(case, ("state",))


def test_a_compiled_update_takes_each_calls_values_and_touches_only_its_rows(pathway, neurologist, coordinator):
    first, second = pathway.submitted(), pathway.submitted()
    close = CompiledUpdate(
        lambda pk, actor, status: (
            WorkItem.objects.filter(referral_id=pk, status=WorkItemStatus.OPEN),
            {"status": status, "closed_by": actor},
        )
    )

    assert close.run(pk=first.pk, actor=neurologist, status="done") == 1
    assert close.run(pk=second.pk, actor=coordinator, status="cancelled") == 1
    assert close.run(pk=second.pk, actor=coordinator, status="cancelled") == 0  # nothing open is left

    rows = WorkItem.objects.filter(referral__in=[first, second]).order_by("referral_id")
    assert [(r.referral_id, r.status, r.closed_by_id) for r in rows] == [
        (first.pk, "done", neurologist.pk),
        (second.pk, "cancelled", coordinator.pk),
    ]
    assert len(close._plans) == (1 if connection.vendor == "postgresql" else 0)  # compiled once, on PostgreSQL


def test_closing_a_step_cancels_its_pending_timers_and_no_other_cases(pathway, neurologist):
    case, other = pathway.submitted(), pathway.submitted()
    assert Timer.objects.filter(referral__in=[case, other], state=TimerState.PENDING).count() >= 2

    workitems.close_primary(referral_id=case.pk, machine=Machine.REFERRAL, actor=neurologist)

    assert not Timer.objects.filter(referral=case, work_item__isnull=False, state=TimerState.PENDING).exists()
    assert Timer.objects.filter(referral=other, state=TimerState.PENDING).exists()
    item = WorkItem.objects.get(referral=case, kind=WorkItemKind.TRIAGE)
    assert (item.status, item.closed_by_id) == (WorkItemStatus.DONE, neurologist.pk)
    assert item.closed_at is not None


def test_insert_one_gives_the_row_its_id_as_save_would(pathway):
    case = pathway.submitted()
    item = WorkItem(
        referral_id=case.pk,
        machine=Machine.REFERRAL,
        kind=WorkItemKind.WAS_NOT_BROUGHT_REVIEW,
        is_primary=False,
        queue="neurologist",
        priority="routine",
        created_at=timezone.now(),
    )

    bulk.insert_one(item)

    assert item.pk is not None and item._state.adding is False
    stored = WorkItem.objects.get(pk=item.pk)
    assert (stored.kind, stored.referral_id, stored.created_at) == (item.kind, case.pk, item.created_at)


def test_postgresql_runs_a_triages_writes_as_prepared_statements(require_postgres, pathway):
    from referrals import services

    pathway.triaged()  # the first transition of this database session prepares them
    case = pathway.submitted()

    with CaptureQueriesContext(connection) as captured:
        services.referral_triage(referral_id=case.pk, actor=pathway.neuro, priority="routine")

    statements = [q["sql"].split()[0] for q in captured.captured_queries]
    assert set(statements) <= {"SAVEPOINT", "RELEASE", "EXECUTE"}, statements
    # the lock; who holds the step (carepath/pathway/ownership.py); the writes queued before the event's
    # INSERT, which returns its id; the outbox's one read of who listens, webhook endpoints and FHIR
    # subscriptions alike (integrations/events.py); the audit rows; the timers
    assert statements.count("EXECUTE") == 6, statements
    assert Referral.objects.get(pk=case.pk).state == "triaged"
    assert CaseEvent.objects.filter(referral=case, transition="triage").count() == 1
    assert WorkItem.objects.get(referral=case, kind=WorkItemKind.TRIAGE).status == WorkItemStatus.DONE
    assert WorkItem.objects.get(referral=case, kind=WorkItemKind.FIRST_ASSESSMENT).status == WorkItemStatus.OPEN


def test_a_read_inside_a_batch_sees_the_writes_queued_before_it(require_postgres, pathway):
    case = pathway.submitted()

    with transaction.atomic(), batched(), CaptureQueriesContext(connection) as captured:
        later("UPDATE referrals_referral SET reason = %s WHERE id = %s", ["queued", case.pk], rows=1)
        seen = Referral.objects.get(pk=case.pk).reason

    assert seen == "queued"
    assert len(captured) == 1  # the UPDATE travelled with the read


def test_a_queued_write_that_misses_its_row_fails_the_service_and_changes_nothing(require_postgres, pathway):
    case = pathway.submitted()

    @writes_atomic
    def service():
        later("UPDATE referrals_referral SET reason = %s WHERE id = %s", ["lost", case.pk], rows=1)
        later("UPDATE referrals_referral SET reason = %s WHERE id = %s", ["nowhere", case.pk + 10_000], rows=1)

    with pytest.raises(DatabaseError, match="expected to change 1 row"):
        service()

    assert Referral.objects.get(pk=case.pk).reason == case.reason


def test_an_error_in_a_service_drops_what_it_queued(require_postgres, pathway):
    case = pathway.submitted()

    @writes_atomic
    def service():
        later("UPDATE referrals_referral SET reason = %s WHERE id = %s", ["dropped", case.pk])
        raise ValueError("refused after queuing")

    with pytest.raises(ValueError):
        service()
    with CaptureQueriesContext(connection) as captured:
        assert Referral.objects.get(pk=case.pk).reason == case.reason

    assert len(captured) == 1  # nothing queued is left to travel with the next statement


def test_a_statement_without_parameters_keeps_its_percent_signs_after_the_queue(require_postgres, pathway):
    case = pathway.submitted()

    with transaction.atomic(), batched(), connection.cursor() as cursor:
        later("UPDATE referrals_referral SET reason = %s WHERE id = %s", ["100% sure", case.pk], rows=1)
        cursor.execute("SELECT '50%' || reason FROM referrals_referral WHERE id = " + str(case.pk))
        assert cursor.fetchone() == ("50%100% sure",)


@pytest.mark.parametrize("model", [Referral, MRIRequest, WorkItem, Timer])
def test_no_receiver_listens_to_saves_of_the_rows_transitions_write(model):
    # writes.save_fields, CompiledUpdate and bulk.insert_one do not send these signals
    for signal in (signals.pre_save, signals.post_save):
        assert not signal.has_listeners(model), (
            f"{signal} has a receiver for {model.__name__}: see carepath/db/writes.py"
        )
