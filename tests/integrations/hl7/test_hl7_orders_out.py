"""The order to the RIS: requesting an MRI writes an ORM^O01 row in the same transaction, and it is
delivered over MLLP to a simulated RIS on localhost, retried with back-off while the RIS is down or
refuses, and given up after the last attempt."""

import socketserver
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.hl7 import er7, outbound, tasks
from integrations.hl7.mllp import Framer, frame
from integrations.hl7.models import OutboundMessage

pytestmark = pytest.mark.django_db


class SimulatedRIS(socketserver.ThreadingTCPServer):
    """Answers each MLLP message with `self.answer` (AA, AE) and keeps what it received."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        self.received, self.answer = [], "AA"
        super().__init__(("127.0.0.1", 0), RISHandler)


class RISHandler(socketserver.BaseRequestHandler):
    def handle(self):
        framer = Framer()
        while data := self.request.recv(65536):
            for text in framer.feed(data):
                msg = er7.parse(text)
                self.server.received.append(msg)
                ack = (
                    f"MSH|^~\\&|RIS|HOSP|CAREPATH|CAREPATH|20261205||ACK^O01^ACK|R{len(self.server.received)}|P|2.5.1\r"
                )
                ack += (
                    f"MSA|{self.server.answer}|{msg.control_id}|{'' if self.server.answer == 'AA' else 'Unknown MRN'}\r"
                )
                self.request.sendall(frame(ack))


@pytest.fixture
def ris_server(settings):
    server = SimulatedRIS()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    settings.HL7_RIS_HOST, settings.HL7_RIS_PORT = server.server_address
    yield server
    server.shutdown()
    server.server_close()


def request_mri(pathway, capture):
    with capture(execute=True):
        case = pathway.imaging()
    return pathway.mri(case)


def test_requesting_an_mri_sends_the_ris_a_new_order_with_our_placer_number(
    pathway, ris_server, django_capture_on_commit_callbacks
):
    mri = request_mri(pathway, django_capture_on_commit_callbacks)

    row = OutboundMessage.objects.get(mri_request=mri)
    assert (row.status, row.attempts) == ("sent", 1)
    [order] = ris_server.received
    assert (order.kind, order["ORC-1"], order["ORC-2.1"]) == ("ORM^O01", "NW", f"CP-MRI-{mri.pk}")
    assert order["OBR-13"] == mri.clinical_question
    assert order["PID-3.1"] == mri.referral.patient.mrn


def test_an_order_the_ris_refuses_or_cannot_take_is_retried_with_back_off_then_sent(
    pathway, ris_server, settings, django_capture_on_commit_callbacks
):
    ris_server.answer = "AE"
    mri = request_mri(pathway, django_capture_on_commit_callbacks)
    row = OutboundMessage.objects.get(mri_request=mri)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "the RIS answered AE: Unknown MRN")
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=settings.HL7_OUTBOUND_BACKOFF_SECONDS - 5)

    assert tasks.deliver_due() == 0  # not yet due
    OutboundMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    ris_server.answer = "AA"
    assert tasks.deliver_due() == 1

    row.refresh_from_db()
    assert (row.status, row.attempts, len(ris_server.received)) == ("sent", 2, 2)


def test_with_the_ris_down_the_order_waits_and_is_given_up_after_the_last_attempt(
    pathway, settings, django_capture_on_commit_callbacks
):
    settings.HL7_RIS_HOST, settings.HL7_RIS_PORT, settings.HL7_OUTBOUND_MAX_ATTEMPTS = "127.0.0.1", 9, 2
    mri = request_mri(pathway, django_capture_on_commit_callbacks)
    row = OutboundMessage.objects.get(mri_request=mri)
    assert row.status == "pending" and row.last_error.startswith("not delivered")

    OutboundMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    outbound.deliver(row.pk)

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 2)


def test_a_claimed_order_is_not_sent_twice_at_once(pathway, ris_server, django_capture_on_commit_callbacks, settings):
    settings.HL7_RIS_HOST = ""  # nothing sent on commit
    mri = request_mri(pathway, django_capture_on_commit_callbacks)
    row = OutboundMessage.objects.get(mri_request=mri)
    settings.HL7_RIS_HOST = ris_server.server_address[0]

    assert outbound._claim(row.pk) is not None
    assert outbound.deliver(row.pk) == "skipped"  # held by the first claim
    assert ris_server.received == []


def test_a_request_rolled_back_leaves_no_order(pathway, neurologist):
    from django.db import transaction

    from referrals import services

    case = pathway.assessed()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.referral_request_mri(
            referral_id=case.pk, actor=neurologist, clinical_question="NVC?", suspected_lesion=False
        )
        assert OutboundMessage.objects.count() == 1  # written in the requesting transaction
        raise RuntimeError("the request failed after the order was written")

    assert not OutboundMessage.objects.exists()
