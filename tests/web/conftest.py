import pytest


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
