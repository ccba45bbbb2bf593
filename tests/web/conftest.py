"""Page test helpers: plain HTTP, a client signed in as anyone, and the new-referral page's post for
a new child and their referral."""

import pytest

REFERRAL_POST = {
    "reason": "Left eye twitching.",
    "symptom_onset": "2024-01-10",
    "first_muscle": "orbicularis_oculi",
    "muscles": ["buccinator"],
    "side": "left",
    "frequency": "daily",
    "requested_priority": "routine",
    "clinical_notes": "",
}
NEW_CHILD = {
    "mrn": "NEW123",
    "given_name": "Robin",
    "family_name": "Hale",
    "birth_date": "2016-05-01",
    "sex": "male",
    "guardian-TOTAL_FORMS": "2",
    "guardian-INITIAL_FORMS": "0",
    "guardian-MIN_NUM_FORMS": "0",
    "guardian-MAX_NUM_FORMS": "2",
    "guardian-0-name": "Jo Hale",
    "guardian-0-relationship": "father",
    "guardian-0-phone": "+447700900001",
    "guardian-0-has_parental_responsibility": "on",
}


@pytest.fixture(autouse=True)
def _plain_http_and_static(settings):
    """Tests run over plain HTTP against source static files (production redirects to HTTPS and
    serves a hashed manifest built by collectstatic)."""
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def signed_in(client):
    """The test client, signed in as the given user."""

    def _as(user):
        client.force_login(user)
        return client

    return _as


@pytest.fixture
def scanners(db):
    """The demo's MRI site (imaging/capacity/demo.py) by field strength: "3T" takes GA and sedation,
    "1.5T" awake children; GA lists on Tuesday and Thursday mornings."""
    from django.utils import timezone

    from imaging.capacity.demo import seed_capacity

    return seed_capacity(timezone.localdate())
