"""API test helpers: a client signed in with a real bearer token for any user, a transition posted,
and a child and a referral as a client sends them."""

import pytest
from rest_framework.test import APIClient

from carepath.api.tokens import token_issue

PATIENT = {
    "mrn": "API-0001",
    "given_name": "Robin",
    "family_name": "Hale",
    "birth_date": "2018-04-02",
    "sex": "male",
    "guardians": [
        {
            "name": "Jo Hale",
            "relationship": "mother",
            "phone": "+447700900001",
            "email": "jo@example.org",
            "has_parental_responsibility": True,
        }
    ],
}
REFERRAL = {
    "reason": "Right eye twitching, spreading to the cheek.",
    "symptom_onset": "2026-01-10",
    "side": "right",
    "muscles": ["orbicularis_oculi", "buccinator"],
    "red_flags": [],
    "requested_priority": "routine",
    "clinical_notes": "No other signs.",
}


@pytest.fixture
def api():
    """`api(user)` → an APIClient sending that user's bearer token (None: anonymous)."""

    def make(user=None):
        client = APIClient()
        if user is not None:
            _, raw = token_issue(user=user, name="test")
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make


@pytest.fixture(autouse=True)
def _plain_http(settings):
    """Tests run with production settings (DEBUG off); the test client speaks plain HTTP and pages
    (the browsable API, the docs) link source static files (production's manifest is built by
    collectstatic)."""
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _clear_throttles():
    from django.core.cache import cache

    from carepath.web.limits import LEASES

    cache.clear()
    LEASES.clear()  # slots this process leased in an earlier test
    yield
    cache.clear()
    LEASES.clear()


def transition(client, kind: str, pk: int, name: str, data: dict | None = None, **extra):
    body = {"transition": name, "data": data or {}}
    body.update({k: v for k, v in extra.items() if k == "version"})
    headers = {k: v for k, v in extra.items() if k != "version"}
    return client.post(f"/api/v1/{kind}/{pk}/transitions/", body, format="json", **headers)
