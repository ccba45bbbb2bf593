"""The per-process window of recently authenticated tokens (carepath/api/tokens.py, RecentTokens):
a burst of requests looks its token up once; a revocation, a deactivation or a change of groups in
this process applies to the next request; expiry is checked on every request. These tests commit
(`transaction=True`), as a server does: inside a test's transaction nothing is cached."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from carepath.api import tokens
from carepath.api.models import ApiToken
from carepath.api.tokens import RECENT, token_issue
from carepath.pathway.roles import Role
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_window():
    RECENT.clear()
    yield
    RECENT.clear()


@pytest.fixture
def neurologist():
    for role in Role:
        Group.objects.get_or_create(name=role.value)
    return factories.UserFactory(role=Role.NEUROLOGIST, username="dr_recent")


def client_for(user):
    _, raw = token_issue(user=user, name="recent")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def lookups(monkeypatch):
    """How many times the token's row was read from the database."""
    count, read = [0], tokens._token_row

    def counted(digest):
        count[0] += 1
        return read(digest)

    monkeypatch.setattr(tokens, "_token_row", counted)
    return count


def token_lookups(client, path="/api/v1/pathway/") -> tuple[int, int]:
    """(status, statements sent) for one GET."""
    with CaptureQueriesContext(connection) as queries:
        status = client.get(path).status_code
    return status, len(queries.captured_queries)


def test_a_burst_of_requests_looks_its_token_up_once(neurologist, lookups):
    client = client_for(neurologist)

    assert [client.get("/api/v1/pathway/").status_code for _ in range(3)] == [200] * 3
    assert lookups[0] == 1
    assert token_lookups(client) == (200, 0)  # the pathway reads nothing else


def test_after_the_window_the_token_is_looked_up_again(neurologist, lookups, monkeypatch):
    client = client_for(neurologist)
    client.get("/api/v1/pathway/")
    now = tokens.time.monotonic()
    monkeypatch.setattr(tokens.time, "monotonic", lambda: now + RECENT.seconds() + 0.01)

    assert client.get("/api/v1/pathway/").status_code == 200
    assert lookups[0] == 2


def test_a_window_of_zero_caches_nothing(neurologist, lookups, settings):
    settings.API_TOKEN_CACHE_SECONDS = 0
    client = client_for(neurologist)
    client.get("/api/v1/pathway/")

    assert client.get("/api/v1/pathway/").status_code == 200
    assert lookups[0] == 2


def test_a_revoked_token_is_refused_at_once(neurologist):
    client = client_for(neurologist)
    assert client.get("/api/v1/pathway/").status_code == 200

    assert client.post("/api/v1/auth/token/revoke/").status_code == 204
    assert client.get("/api/v1/pathway/").status_code == 401


def test_a_deactivated_user_is_refused_at_once(neurologist):
    client = client_for(neurologist)
    assert client.get("/api/v1/pathway/").status_code == 200

    neurologist.is_active = False
    neurologist.save(update_fields=["is_active"])
    assert client.get("/api/v1/pathway/").status_code == 401


def test_a_role_taken_away_applies_to_the_next_request(neurologist):
    factories.make_referral(factories.UserFactory(role=Role.PEDIATRICIAN, username="dr_ped_recent"))
    client = client_for(neurologist)
    assert len(client.get("/api/v1/referrals/").json()["results"]) == 1

    neurologist.groups.remove(Group.objects.get(name=Role.NEUROLOGIST))
    assert client.get("/api/v1/referrals/").json()["results"] == []


def test_expiry_is_checked_on_every_request_even_within_the_window(neurologist, monkeypatch):
    client = client_for(neurologist)
    assert client.get("/api/v1/pathway/").status_code == 200
    expires_at = ApiToken.objects.get(user=neurologist).expires_at
    monkeypatch.setattr(tokens.timezone, "now", lambda: expires_at + timedelta(seconds=1))

    assert client.get("/api/v1/pathway/").status_code == 401


def test_last_use_is_still_written_once_a_minute(neurologist, monkeypatch):
    client = client_for(neurologist)
    client.get("/api/v1/pathway/")
    first = ApiToken.objects.get(user=neurologist).last_used_at
    later = first + timedelta(minutes=2)
    monkeypatch.setattr(tokens.timezone, "now", lambda: later)

    client.get("/api/v1/pathway/")
    assert ApiToken.objects.get(user=neurologist).last_used_at == later
    assert token_lookups(client) == (200, 0)  # the cached row knows it was written: no second UPDATE
