"""`POST /api/v1/hl7/`: the same messages over HTTP, answered with the ACK; only the RIS's
integration user may send them."""

import pytest

from carepath.pathway.roles import Role
from integrations.hl7 import er7, samples
from integrations.hl7.models import InboundMessage
from integrations.hl7.orders import placer_number
from tests.capacity.scanners import at, scan_day
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def post(client, text, content_type="application/hl7-v2"):
    return client.generic("POST", "/api/v1/hl7/", text.encode(), content_type=content_type)


def test_the_ris_posts_a_booking_and_gets_its_ack(api, pathway, ris):
    mri = pathway.mri(pathway.protocoled())
    text = samples.siu("S12", "H1", placer=placer_number(mri.pk), start=at(scan_day(), "14:00"))

    response = post(api(ris), text)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/hl7-v2"
    ack = er7.parse(response.content.decode())
    assert (ack["MSA-1"], ack["MSA-2"]) == ("AA", "H1")
    mri.refresh_from_db()
    assert mri.state == "scheduled"
    assert InboundMessage.objects.get(control_id="H1").channel == "http"


def test_plain_text_is_taken_too_and_a_bad_message_is_an_ar_ack_not_an_http_error(api, ris):
    response = post(api(ris), "not HL7", content_type="text/plain")

    assert response.status_code == 200
    assert er7.parse(response.content.decode())["MSA-1"] == "AR"


@pytest.mark.parametrize("role", [Role.IMAGING_COORDINATOR, Role.EHR_CLIENT, Role.ADMIN])
def test_nobody_but_the_ris_integration_user_may_send(api, groups, role):
    response = post(api(user_with_role(role, f"u_{role}")), "MSH|^~\\&|X|Y|||||ADT^A01|Z1|P|2.5.1\r")

    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")
    assert not InboundMessage.objects.exists()


def test_an_anonymous_caller_is_401(api):
    assert post(api(None), "MSH|^~\\&|X\r").status_code == 401
