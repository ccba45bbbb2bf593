"""Words a clinician met walking the pages (docs/ui.md, "Words on forms"): dates in the clinic's
time and words, not a database timestamp."""

from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from imaging import services as imaging

pytestmark = pytest.mark.django_db


@contextmanager
def clock(moment):
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def test_my_work_says_when_the_child_was_not_brought_in_local_words_not_a_utc_timestamp(
    signed_in, pathway, neurologist
):
    day = timezone.localdate() + timedelta(days=3)
    start = timezone.make_aware(timezone.datetime(day.year, day.month, day.day, 10))
    case = pathway.protocoled()
    mri = pathway.mri(case)
    imaging.mri_schedule(mri_request_id=mri.pk, actor=pathway.coord, scheduled_start=start, location="Scanner 1")
    with clock(start + timedelta(minutes=30)):
        imaging.mri_record_was_not_brought(mri_request_id=mri.pk, actor=pathway.coord)

    page = signed_in(neurologist).get("/work/").content.decode()
    assert f"Not brought to the MRI on {start:%a} {start.day} {start:%b %Y} at 10:00." in page
    assert "UTC" not in page
