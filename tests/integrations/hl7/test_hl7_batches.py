"""Messages that arrive together share one transaction and one commit (docs/integrations.md, "ACK
rules"): each still has its own savepoint, so a bad one is refused and changes nothing while the others
are acknowledged AA and kept; a copy inside the batch or committed meanwhile is answered with the first
ACK and done once; an ACK lost between the commit and the socket is sent again when the RIS resends."""

import threading
from datetime import timedelta

import pytest

from carepath.models import CaseEvent
from integrations.hl7 import er7, handlers, inbound, mllp, samples
from integrations.hl7.models import InboundMessage
from integrations.hl7.orders import placer_number
from tests.capacity.scanners import at, scan_day

from .conftest import ack_of

pytestmark = pytest.mark.django_db


def protocoled(pathway):
    return pathway.mri(pathway.protocoled())


def booking(mri_pk, control_id, hhmm="14:00"):
    return samples.siu("S12", control_id, placer=placer_number(mri_pk), start=at(scan_day(), hhmm))


def codes(answers):
    return [ack_of(er7.parse(answer))[0] for answer in answers]


def test_in_a_shared_commit_the_bad_messages_change_nothing_and_the_good_ones_are_aa(pathway, ris):
    one, two = protocoled(pathway), protocoled(pathway)
    batch = [
        booking(one.pk, "G1"),
        booking(999999, "BAD-UNKNOWN"),  # AE 204
        "MSH|^~\\&|RIS|HOSP|CAREPATH|HOSP|20261205||SIU^S12|X1|P|2.5.1\rsch|1\r",  # unreadable: AR
        booking(two.pk, "G2", "15:00"),
    ]

    answers = inbound.receive_batch(batch, actor=ris, channel="mllp")

    assert codes(answers) == ["AA", "AE", "AR", "AA"]
    assert [er7.parse(answer)["MSA-2"] for answer in answers] == ["G1", "BAD-UNKNOWN", "", "G2"]
    assert (one.appointments.count(), two.appointments.count()) == (1, 1)
    rows = {row.control_id: row for row in InboundMessage.objects.all()}
    assert (rows["G1"].outcome, rows["BAD-UNKNOWN"].outcome, rows[None].outcome) == ("processed", "error", "rejected")
    assert all(row.ack for row in rows.values())  # each stored with the ACK it got


def test_a_message_refused_halfway_is_rolled_back_alone_in_its_batch(pathway, ris, monkeypatch):
    one, two = protocoled(pathway), protocoled(pathway)

    def book_unless_two(msg, actor):
        done = handlers.book(msg, actor)
        if done.mri.pk == two.pk:
            raise handlers.Rejected("refused after booking")
        return done

    monkeypatch.setitem(inbound.HANDLERS, "SIU^S12", book_unless_two)
    answers = inbound.receive_batch([booking(one.pk, "H1"), booking(two.pk, "H2", "15:00")], actor=ris, channel="mllp")

    assert codes(answers) == ["AA", "AR"]
    one.refresh_from_db()
    two.refresh_from_db()
    assert (one.state, one.appointments.count()) == ("scheduled", 1)
    assert (two.state, two.appointments.count()) == ("protocoled", 0)


def test_a_message_that_fails_unexpectedly_gets_no_ack_and_the_others_of_its_batch_keep_theirs(
    pathway, ris, monkeypatch
):
    one, two = protocoled(pathway), protocoled(pathway)

    def fail_for_two(msg, actor):
        done = handlers.book(msg, actor)
        if done.mri.pk == two.pk:
            raise RuntimeError("a bug")
        return done

    monkeypatch.setitem(inbound.HANDLERS, "SIU^S12", fail_for_two)
    first, second = inbound.receive_batch(
        [booking(one.pk, "E1"), booking(two.pk, "E2", "15:00")], actor=ris, channel="mllp"
    )

    assert ack_of(er7.parse(first))[0] == "AA"
    assert isinstance(second, RuntimeError)  # the listener closes that connection: the RIS resends
    assert not InboundMessage.objects.filter(control_id="E2").exists()
    assert (one.appointments.count(), two.appointments.count()) == (1, 0)


def test_a_copy_inside_a_batch_gets_the_first_ack_and_books_once(pathway, ris):
    mri = protocoled(pathway)
    text = booking(mri.pk, "D1")

    first, again = inbound.receive_batch([text, text], actor=ris, channel="mllp")

    assert first == again and codes([first]) == ["AA"]
    assert mri.appointments.count() == 1
    assert CaseEvent.objects.filter(transition="schedule").count() == 1
    assert InboundMessage.objects.get(control_id="D1").duplicates == 1


def test_a_copy_committed_while_its_batch_ran_is_answered_with_its_first_ack_and_done_once(pathway, ris, monkeypatch):
    one, two = protocoled(pathway), protocoled(pathway)
    first = inbound.receive(booking(one.pk, "K1"), actor=ris, channel="mllp")
    real_lookup = inbound._stored_acks
    looks = []

    def not_yet_stored_the_first_time(batch):  # as if K1 had committed just after the batch looked
        looks.append(len(batch))
        return {} if len(looks) == 1 else real_lookup(batch)

    monkeypatch.setattr(inbound, "_stored_acks", not_yet_stored_the_first_time)
    again, other = inbound.receive_batch(
        [booking(one.pk, "K1"), booking(two.pk, "K2", "15:00")], actor=ris, channel="mllp"
    )

    assert again == first
    assert codes([other]) == ["AA"]
    assert (one.appointments.count(), two.appointments.count()) == (1, 1)
    assert InboundMessage.objects.filter(control_id__in=["K1", "K2"]).count() == 2


def test_messages_arriving_while_a_batch_commits_share_the_next_commit():
    batches, first_running, release = [], threading.Event(), threading.Event()

    def receive_batch(texts):
        batches.append(list(texts))
        if len(batches) == 1:
            first_running.set()
            release.wait(5)
        return [f"ACK {text}" for text in texts]

    committer = mllp.Committer(receive_batch, expected=lambda: 3)
    answers = {}

    def submit(name):
        answers[name] = committer.receive([name])

    threads = [threading.Thread(target=submit, args=(name,)) for name in ("a", "b", "c")]
    threads[0].start()
    first_running.wait(5)
    for thread in threads[1:]:
        thread.start()
    while committer.jobs.qsize() < 2:
        threading.Event().wait(0.01)
    release.set()
    for thread in threads:
        thread.join(5)
    committer.stop()

    assert batches[0] == ["a"] and sorted(batches[1]) == ["b", "c"]
    assert answers == {"a": ["ACK a"], "b": ["ACK b"], "c": ["ACK c"]}


@pytest.mark.django_db(transaction=True)
def test_an_ack_lost_between_the_commit_and_the_socket_is_sent_again_when_the_ris_resends(
    pathway, listener, monkeypatch
):
    mri = protocoled(pathway)
    text = booking(mri.pk, "L1")
    real_answer, dropped = mllp.Handler._answer, []

    def die_before_the_first_ack(handler, answers):
        if not dropped:
            dropped.append(answers[0])
            raise ConnectionResetError("the listener died after the commit")
        real_answer(handler, answers)

    monkeypatch.setattr(mllp.Handler, "_answer", die_before_the_first_ack)
    client = mllp.Client(*listener, timeout=20)
    with pytest.raises(ConnectionError):
        client.send(text)
    client.close()
    client = mllp.Client(*listener, timeout=20)
    resent = client.send(text)
    client.close()

    assert resent == dropped[0]  # the very ACK written with the first commit
    assert ack_of(er7.parse(resent))[0] == "AA"
    assert mri.appointments.count() == 1
    assert InboundMessage.objects.get(control_id="L1").duplicates == 1


@pytest.mark.django_db(transaction=True)
def test_messages_sent_ahead_of_their_acks_on_one_connection_are_done_and_acknowledged_in_order(pathway, listener):
    mri = protocoled(pathway)
    start = at(scan_day(), "14:00")
    texts = [
        samples.siu("S12", "P1", placer=placer_number(mri.pk), filler="F200", start=start),
        samples.siu("S13", "P2", placer="", filler="F200", start=start + timedelta(hours=2), reason="Moved"),
        booking(999999, "P3"),
    ]
    client = mllp.Client(*listener, timeout=20)
    client.sock.sendall(b"".join(mllp.frame(text) for text in texts))  # without waiting for the ACKs
    acks = [er7.parse(client.read()) for _ in texts]
    client.close()

    assert [(ack["MSA-2"], ack["MSA-1"]) for ack in acks] == [("P1", "AA"), ("P2", "AA"), ("P3", "AE")]
    mri.refresh_from_db()
    assert (mri.state, mri.appointment.start) == ("scheduled", start + timedelta(hours=2))  # S13 found S12's filler
