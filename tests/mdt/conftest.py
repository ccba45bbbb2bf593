"""MDT and follow-up fixtures: a site, a meeting that has started with neurology and neurosurgery
attending, and a case in results review."""

from datetime import timedelta

import pytest
from django.utils import timezone

from imaging.capacity.models import Site
from referrals.mdt import services as mdt
from tests.api.conftest import _clear_throttles, api  # noqa: F401  (the API's tests)
from tests.web.conftest import _plain_http_and_static, signed_in  # noqa: F401  (the pages' tests over plain HTTP)


@pytest.fixture
def site(db):
    return Site.objects.create(name="Children's Hospital")


@pytest.fixture
def meeting(neurologist, neurosurgeon, site):
    return mdt.meeting_create(
        actor=neurologist,
        starts_at=timezone.now() - timedelta(minutes=30),
        site_id=site.pk,
        attendee_ids=[neurologist.pk, neurosurgeon.pk],
    )


@pytest.fixture
def reviewed(pathway):
    """A case whose MRI is reported: neurology reviews the result."""
    return pathway.results_review()


@pytest.fixture
def on_list(meeting, reviewed, neurologist):
    return mdt.meeting_add_case(
        meeting_id=meeting.pk, referral_id=reviewed.pk, actor=neurologist, question="Compression on MRI: MVD or toxin?"
    )
