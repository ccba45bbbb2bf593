"""Words a clinician met walking the pages (docs/ui.md, "Words on forms"): dates in the clinic's
time and words, not a database timestamp."""

from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from imaging import services as imaging
from tests import factories

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


def test_booking_a_child_who_crosses_an_age_band_before_the_scan_says_the_age_on_the_scan_day(
    signed_in, pathway, coordinator
):
    from dateutil.relativedelta import relativedelta

    today = timezone.localdate()
    seventh_birthday = today + timedelta(days=3)
    patient = factories.make_patient(pathway.ped, birth_date=seventh_birthday - relativedelta(years=7))
    case = pathway.protocoled(patient=patient)
    mri = pathway.mri(case)
    client = signed_in(coordinator)
    board = client.get("/mri/board/").content.decode()
    form = board[board.index(f'name="object" value="{mri.pk}"') :]
    assert '<option value="general_anaesthesia" selected>' in form  # six today: the form starts there

    scan_day = today + timedelta(days=10)
    post = {
        "machine": "mri",
        "object": mri.pk,
        "transition": "schedule",
        "version": mri.version,
        "scheduled_start": f"{scan_day.isoformat()}T10:00",
        "location": "Scanner 1",
        "sedation": "general_anaesthesia",
    }
    page = client.post("/mri/board/", post).content.decode()
    assert (
        f"On the scan day ({scan_day.day} {scan_day:%b %Y}) the child is 7 years old, so the default is "
        "None (awake): choose it, or say here why you chose otherwise."
    ) in page
