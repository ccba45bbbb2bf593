"""Shared fixtures: users per role, services we need (PostgreSQL, Redis), Celery in-process."""

import os

import pytest
from django.db import connection

from carepath.pathway.roles import Role, ensure_role_groups

from . import factories

CI = os.environ.get("CI", "").lower() == "true"


def need(condition: bool, what: str) -> None:
    """Skip when a service is missing on a developer's machine; fail under CI=true (README: CI)."""
    if condition:
        return
    if CI:
        pytest.fail(f"{what} is required under CI=true but is not available", pytrace=False)
    pytest.skip(f"{what} not available")


@pytest.fixture
def require_postgres():
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def require_redis(settings):
    url = os.environ.get("CELERY_BROKER_URL", "")
    ok = False
    if url.startswith("redis://"):
        import redis

        try:
            ok = bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
        except redis.RedisError:
            ok = False
    need(ok, "Redis (set CELERY_BROKER_URL=redis://…)")
    return url


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness protects real passwords; tests only need a working hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    """Attachments a test stores (seed_demo's video, uploads) go to the test's own folder, not var/media/,
    and never to a bucket a developer's environment names (CAREPATH_S3_BUCKET): the S3 tests bring
    their own, on localhost."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}


@pytest.fixture(autouse=True)
def _celery_eager(settings):
    """Tasks queued on commit run in-process in unit tests; the reliability tests run a real worker."""
    from carepath.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def groups(db):
    ensure_role_groups()


@pytest.fixture
def pediatrician(groups):
    return factories.UserFactory(role=Role.PEDIATRICIAN, username="dr_ped")


@pytest.fixture
def other_pediatrician(groups):
    return factories.UserFactory(role=Role.PEDIATRICIAN, username="dr_other_ped")


@pytest.fixture
def neurologist(groups):
    return factories.UserFactory(role=Role.NEUROLOGIST, username="dr_neuro")


@pytest.fixture
def coordinator(groups):
    return factories.UserFactory(role=Role.IMAGING_COORDINATOR, username="coord")


@pytest.fixture
def neuroradiologist(groups):
    return factories.UserFactory(role=Role.NEURORADIOLOGIST, username="dr_rad")


@pytest.fixture
def neurosurgeon(groups):
    return factories.UserFactory(role=Role.NEUROSURGEON, username="dr_surg")


@pytest.fixture
def admin_user(groups):
    return factories.UserFactory(role=Role.ADMIN, username="admin_user")


@pytest.fixture
def colleague(groups):
    """A second neurologist, who may hold a step the first one wants (a take-over)."""
    return factories.UserFactory(role=Role.NEUROLOGIST, username="dr_colleague", first_name="Ada", last_name="Quinn")


@pytest.fixture
def outsider(groups):
    """Signed in, but with no role in the pathway."""
    return factories.UserFactory(username="outsider")


@pytest.fixture
def system_user(groups):
    from carepath.pathway.roles import get_system_user

    return get_system_user()


@pytest.fixture
def referral(pediatrician):
    """A fresh referral in `submitted`, written by `pediatrician`."""
    return factories.make_referral(pediatrician)


@pytest.fixture
def pathway(pediatrician, neurologist, coordinator, neuroradiologist, neurosurgeon):
    return factories.Pathway(
        pediatrician=pediatrician,
        neurologist=neurologist,
        coordinator=coordinator,
        neuroradiologist=neuroradiologist,
        neurosurgeon=neurosurgeon,
    )
