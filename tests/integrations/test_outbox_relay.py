"""The outbox's relay: committed events become their receivers' rows exactly once, in each case's
order, whatever relays run at once or die mid-batch; the minute tick does the relay's work when its
process is down. Two relays at once are real threads with their own connections (PostgreSQL)."""

import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection

from integrations import events
from integrations.models import Event, OutboundDelivery
from integrations.outbox import relay, tasks
from referrals import services
from referrals.samples import ASSESSMENT
from tests.pathway.test_concurrency import make_pathway


@pytest.fixture
def by_the_relay_process(settings):
    """No pass after each commit: events wait for the relay process (or the tick), as in production."""
    settings.CAREPATH_OUTBOX_RELAY_EAGER = False


def triage(pathway):
    case = pathway.submitted()
    services.referral_triage(referral_id=case.pk, actor=pathway.neuro, priority="routine")
    return case


def assess(pathway, case):
    services.referral_record_assessment(referral_id=case.pk, actor=pathway.neuro, **ASSESSMENT)


def case_events(case) -> list[int]:
    return list(Event.objects.filter(referral_id=case.pk).order_by("id").values_list("pk", flat=True))


@pytest.mark.django_db
@pytest.mark.usefixtures("by_the_relay_process")
class TestOnePass:
    def test_a_committed_event_waits_for_the_relay_which_writes_its_rows_once(self, pathway, endpoint):
        triage(pathway)
        assert relay.waiting().count() == 1 and not OutboundDelivery.objects.exists()

        assert relay.relay_all() == 1
        assert relay.relay_all() == 0
        assert OutboundDelivery.objects.filter(endpoint=endpoint).count() == 1
        assert not relay.waiting().exists()

    def test_a_relay_killed_mid_batch_leaves_the_events_waiting_and_writes_nothing(
        self, pathway, endpoint, monkeypatch
    ):
        for _ in range(3):
            triage(pathway)
        real_fan_out = events.fan_out

        def killed_after_writing(batch):
            real_fan_out(batch)  # the rows are written in the relay's transaction…
            raise SystemExit("killed")  # …and the process dies before it commits

        monkeypatch.setattr(events, "fan_out", killed_after_writing)
        with pytest.raises(SystemExit):
            relay.relay_once()
        assert relay.waiting().count() == 3 and not OutboundDelivery.objects.exists()

        monkeypatch.setattr(events, "fan_out", real_fan_out)
        assert relay.relay_all() == 3
        assert OutboundDelivery.objects.filter(endpoint=endpoint).count() == 3

    def test_an_event_waits_while_an_earlier_event_of_its_case_is_not_in_the_claim(self, pathway, endpoint):
        case, other = triage(pathway), triage(pathway)
        assess(pathway, case)
        first, later = case_events(case)
        [others] = case_events(other)

        claimed = list(Event.objects.filter(pk__in=[later, others]).order_by("id"))  # another relay has `first`

        assert [e.pk for e in relay.in_case_order(claimed)] == [others]

    def test_the_relay_command_fans_out_what_waits(self, pathway, endpoint):
        triage(pathway)
        out = io.StringIO()

        call_command("outbox_relay", "--once", stdout=out)

        assert "fanned out 1 events" in out.getvalue()
        assert OutboundDelivery.objects.filter(endpoint=endpoint).count() == 1

    def test_the_tick_fans_out_what_the_relay_process_left_and_it_is_sent(
        self, pathway, endpoint, receiver, django_capture_on_commit_callbacks
    ):
        case = triage(pathway)
        assess(pathway, case)

        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.tick()["relayed"] == 2
        assert not relay.waiting().exists()
        assert [b["data"]["transition"] for b in receiver.bodies()] == ["triage", "record_assessment"]


# --- two relays at once (PostgreSQL: row locks, SKIP LOCKED) -----------------------------------------
def relay_holding_its_claim(limit: int, holding: threading.Event, release: threading.Event, out: list) -> None:
    """Another relay process: claims up to `limit` events, writes their rows, and waits before committing."""
    real_fan_out = events.fan_out

    def fan_out_and_wait(batch):
        written = real_fan_out(batch)
        holding.set()
        release.wait(timeout=30)
        return written

    try:
        events.fan_out = fan_out_and_wait  # this thread alone calls it until `holding` is set
        out.extend(relay.relay_once(limit))
    finally:
        events.fan_out = real_fan_out
        connection.close()


def two_relays(limit: int) -> tuple[list[int], list[int]]:
    """(ids the other relay fanned out, ids this one fanned out while the other held its claim)."""
    holding, release, theirs = threading.Event(), threading.Event(), []
    other = threading.Thread(target=relay_holding_its_claim, args=(limit, holding, release, theirs))
    other.start()
    try:
        assert holding.wait(timeout=10)
        mine = relay.relay_once()
    finally:
        release.set()
        other.join(timeout=30)
    return theirs, mine


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres", "by_the_relay_process")
class TestTwoRelays:
    def test_two_relays_never_fan_out_one_event_twice(self, endpoint):
        pathway = make_pathway()
        for _ in range(4):
            triage(pathway)

        theirs, mine = two_relays(limit=100)

        assert len(theirs) == 4 and mine == []  # every event was theirs: skipped, not waited for
        assert relay.relay_all() == 0
        per_event = OutboundDelivery.objects.filter(endpoint=endpoint).values_list("event_id", flat=True)
        assert sorted(per_event) == sorted(theirs)

    def test_a_case_s_later_event_is_not_fanned_out_before_its_earlier_one(self, endpoint):
        pathway = make_pathway()
        case, other = triage(pathway), triage(pathway)
        assess(pathway, case)
        first, later = case_events(case)
        [others] = case_events(other)

        theirs, mine = two_relays(limit=1)  # the other relay claims `first` alone and holds it

        assert theirs == [first] and mine == [others]  # `later` waited for `first`
        assert relay.relay_all() == 1
        lane = OutboundDelivery.objects.filter(endpoint=endpoint, event__referral_id=case.pk).order_by("id")
        assert list(lane.values_list("event_id", flat=True)) == [first, later]
