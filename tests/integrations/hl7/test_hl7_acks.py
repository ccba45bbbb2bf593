"""Every inbound message is stored and acknowledged after its effects commit; a copy of a message
(same MSH-10) gets the first ACK and changes nothing; an unreadable or unsupported message is AR and
a refused one AE, and neither changes a case (docs/integrations.md, "ACK rules")."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from carepath.models import CaseEvent
from integrations.hl7 import handlers, inbound, samples
from integrations.hl7.models import InboundMessage
from integrations.hl7.orders import placer_number
from tests.capacity.scanners import at, scan_day

from .conftest import ack_of

pytestmark = pytest.mark.django_db


def protocoled(pathway):
    return pathway.mri(pathway.protocoled())


def booking(mri, control_id="B1", **kw):
    return samples.siu("S12", control_id, placer=placer_number(mri.pk), start=at(scan_day(), "14:00"), **kw)


def test_a_copy_of_a_message_gets_the_first_ack_again_and_books_nothing_twice(pathway, receive):
    mri = protocoled(pathway)
    first = receive(booking(mri))
    events = CaseEvent.objects.count()

    again = receive(booking(mri))

    assert again["MSA-1"] == "AA" and again["MSH-10"] == first["MSH-10"]  # the very same ACK
    assert CaseEvent.objects.count() == events
    assert mri.appointments.count() == 1
    row = InboundMessage.objects.get(control_id="B1")
    assert row.duplicates == 1


def test_a_copy_of_a_refused_message_gets_its_ae_again(pathway, receive):
    mri = protocoled(pathway)
    text = samples.siu("S26", "N1", placer=placer_number(mri.pk), start=at(scan_day(), "14:00"))

    first, again = receive(text), receive(text)

    assert ack_of(first)[0] == ack_of(again)[0] == "AE"
    assert InboundMessage.objects.filter(control_id="N1").count() == 1


@pytest.mark.parametrize(
    "text, reason",
    [
        ("PID|1||H123\r", "MSH"),
        ("MSH|^~\\&|RIS|HOSP|CAREPATH|HOSP|20261205||SIU^S12|||P|2.5.1\r", "MSH-10"),
        ("MSH|^~\\&|RIS|HOSP|CAREPATH|HOSP|20261205||SIU^S12|X1|P|2.5.1\rsch|1\r", "name"),
    ],
)
def test_an_unreadable_message_is_ar_stored_for_the_admin_and_changes_nothing(receive, text, reason, pathway):
    events = CaseEvent.objects.count()

    ack = receive(text)

    code, why = ack_of(ack)
    assert code == "AR" and reason in why
    row = InboundMessage.objects.get()
    assert (row.outcome, row.ack_code, row.raw) == ("rejected", "AR", text)
    assert CaseEvent.objects.count() == events


def test_an_unsupported_message_type_is_ar_200(receive):
    ack = receive("MSH|^~\\&|RIS|HOSP|CAREPATH|HOSP|20261205||ADT^A01|X2|P|2.5.1\rPID|1\r")

    assert ack_of(ack)[0] == "AR"
    assert ack["ERR-3.1"] == "200"
    assert InboundMessage.objects.get(control_id="X2").error == "CarePath does not take ADT^A01 messages."


def test_a_message_for_an_unknown_order_is_ae_204(receive):
    ack = receive(samples.siu("S12", "U1", placer="CP-MRI-999999", start=at(scan_day(), "14:00")))

    assert ack_of(ack)[0] == "AE"
    assert ack["ERR-3.1"] == "204"


def test_a_booking_without_an_order_number_is_ar_101(receive):
    ack = receive(samples.siu("S12", "U2", placer="", start=at(scan_day(), "14:00")))

    assert (ack_of(ack)[0], ack["ERR-3.1"]) == ("AR", "101")


def test_a_bad_date_is_ar_102_and_books_nothing(pathway, receive):
    mri = protocoled(pathway)
    text = booking(mri, "D1").replace(at(scan_day(), "14:00").strftime("%Y%m%d"), "2026-13-")

    ack = receive(text)

    assert (ack_of(ack)[0], ack["ERR-3.1"]) == ("AR", "102")
    assert not mri.appointments.exists()


def test_a_filler_number_that_belongs_to_another_request_is_refused_and_nothing_is_stored_for_it(pathway, receive):
    one, two = protocoled(pathway), protocoled(pathway)
    receive(
        samples.siu("S12", "F1", placer=placer_number(one.pk), filler="F9", start=at(scan_day(), "14:00"), resource="X")
    )

    ack = receive(samples.siu("S12", "F2", placer=placer_number(two.pk), filler="F9", start=at(scan_day(), "15:00")))

    assert ack_of(ack)[0] == "AE"
    assert not two.appointments.exists()


def test_a_rule_that_refuses_halfway_rolls_back_what_the_message_had_done(pathway, receive, monkeypatch):
    mri = protocoled(pathway)

    def book_then_fail(msg, actor):
        handlers.book(msg, actor)
        raise handlers.Rejected("refused after booking")

    monkeypatch.setitem(inbound.HANDLERS, "SIU^S12", book_then_fail)
    ack = receive(booking(mri, "R1"))

    mri.refresh_from_db()
    assert ack_of(ack)[0] == "AR"
    assert (mri.state, mri.appointments.count()) == ("protocoled", 0)


@pytest.mark.django_db(transaction=True)
def test_the_ack_is_built_only_after_the_effects_commit(pathway, ris):
    mri = protocoled(pathway)
    order = []
    real_book = handlers.book

    def book(msg, actor):
        transaction.on_commit(lambda: order.append("committed"))
        return real_book(msg, actor)

    real_build = inbound.build_ack

    def build(*args, **kwargs):
        order.append("in a transaction" if connection.in_atomic_block else "outside")
        return real_build(*args, **kwargs)

    inbound.HANDLERS["SIU^S12"], inbound.build_ack = book, build
    try:
        ack = inbound.receive(booking(mri, "C1"), actor=ris, channel="mllp")
    finally:
        inbound.HANDLERS["SIU^S12"], inbound.build_ack = real_book, real_build

    assert "MSA|AA|C1" in ack
    assert order == ["in a transaction", "committed"]  # written with the effects; returned after commit


@pytest.mark.django_db(transaction=True)
def test_when_the_commit_fails_there_is_no_ack_and_nothing_is_stored(pathway, ris, monkeypatch):
    mri = protocoled(pathway)

    def fail_on_commit(msg, actor):
        handlers.book(msg, actor)
        connection.cursor().execute("SELECT 1")
        raise RuntimeError("the database went away")

    monkeypatch.setitem(inbound.HANDLERS, "SIU^S12", fail_on_commit)
    with pytest.raises(RuntimeError):
        inbound.receive(booking(mri, "C2"), actor=ris, channel="mllp")

    assert not InboundMessage.objects.filter(control_id="C2").exists()
    assert not mri.appointments.exists()


def test_a_past_time_is_refused_by_the_booking_rule(pathway, receive):
    mri = protocoled(pathway)
    past = timezone.now() - timedelta(days=1)

    ack = receive(samples.siu("S12", "P1", placer=placer_number(mri.pk), start=past))

    assert ack_of(ack)[0] == "AE"
    assert not mri.appointments.exists()
