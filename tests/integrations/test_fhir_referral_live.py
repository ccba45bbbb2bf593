"""The simulated EHR over real sockets: a localhost HTTP server (live_server), a bearer token, a
retry; and on PostgreSQL two identical POSTs at the same instant (real threads, real connections)
leave one referral (the placer number's unique constraint, integrations/fhir_in/receive.py)."""

import json
import threading
import urllib.error
import urllib.request
from collections import Counter

import pytest
from django.db import connection
from pytest_django.live_server_helper import LiveServer
from rest_framework.test import APIClient

from carepath.api.tokens import token_issue
from carepath.pathway.roles import Role, ensure_role_groups
from integrations.models import PlacerOrder
from referrals.models import Patient, Referral
from tests import factories

from . import fhir_messages as m


def send(url: str, token: str, message: dict) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        f"{url}/api/v1/fhir/ServiceRequest",
        data=json.dumps(message).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/fhir+json",
            "Accept": "application/fhir+json",
            "X-Forwarded-Proto": "https",  # as the hospital's TLS proxy forwards it
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  localhost test server
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


@pytest.fixture
def ehr_server(transactional_db, settings):
    """A real HTTP server on localhost for this test (no static files: an API is all it serves).
    Django's test server wraps it in a media handler that needs a MEDIA_URL (settings have none)."""
    settings.MEDIA_URL = "/media-unused/"
    server = LiveServer("localhost", start=False)
    server.thread.static_handler = lambda handler: handler
    server.start()
    yield server
    server.stop()


def ehr_and_referrer():
    ensure_role_groups()
    factories.UserFactory(role=Role.PEDIATRICIAN, username="dr_ped")
    ehr = factories.UserFactory(role=Role.EHR_CLIENT, username="ehr")
    return ehr, token_issue(user=ehr, name="ehr")[1]


def test_an_ehr_posts_over_http_with_its_token_and_its_retry_creates_nothing(ehr_server, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    _, token = ehr_and_referrer()

    first = send(ehr_server.url, token, m.bundle())
    retry = send(ehr_server.url, token, m.bundle())
    refused = send(ehr_server.url, "cp_not-a-token", m.bundle("ORD-9"))

    assert first[0] == 201, first[2]
    assert first[1]["Content-Type"] == "application/fhir+json"
    assert first[1]["Location"].startswith("/api/v1/fhir/ServiceRequest/referral-")
    assert retry[0] == 200 and retry[2] == first[2] and retry[1]["Location"] == first[1]["Location"]
    assert refused[0] == 401 and refused[2]["resourceType"] == "OperationOutcome"
    assert Referral.objects.count() == PlacerOrder.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_two_identical_posts_at_once_leave_one_referral(settings):
    settings.SECURE_SSL_REDIRECT = False
    _, token = ehr_and_referrer()
    outcomes = Counter()
    barrier = threading.Barrier(4)

    def post():
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            barrier.wait()
            outcomes[m.post(client, m.bundle()).status_code] += 1
        except Exception as exc:  # an integrity error reaching the test would land here
            outcomes[repr(exc)] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes == Counter({201: 1, 200: 3}), outcomes
    assert (Referral.objects.count(), Patient.objects.count(), PlacerOrder.objects.count()) == (1, 1, 1)
    assert PlacerOrder.objects.get().referral == Referral.objects.get()
