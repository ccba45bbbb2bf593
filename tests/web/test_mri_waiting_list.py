"""The MRI waiting list (docs/capacity.md, "The waiting list"): requests awaiting a booking, most due
first, with how many slots are free before each due time, and the earliest after it when none is."""

from datetime import timedelta

import pytest
from django.utils import timezone

from carepath.models import AuditLog, Holiday
from imaging.capacity.models import Closure

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_holidays():
    Holiday.objects.all().delete()


def rows(body: str) -> list[str]:
    """The MRI request ids of the table's rows, in order."""
    return [part.split('"', 1)[0] for part in body.split('data-mri="')[1:]]


def row(body: str, mri) -> str:
    return body.split(f'data-mri="{mri.pk}"', 1)[1].split("</tr>", 1)[0]


def test_most_due_first_with_the_slots_before_each_due_time(signed_in, coordinator, pathway, scanners):
    routine = pathway.mri(pathway.protocoled())
    asap = pathway.mri(pathway.protocoled(red_flags=["facial_weakness"]))  # due in 48 hours
    now = timezone.now()
    site = scanners["3T"].site
    Closure.objects.create(site=site, start=now - timedelta(hours=1), end=now + timedelta(days=4), reason="Flood")
    scheduled = pathway.mri(pathway.protocoled())
    scheduled.state = "scheduled"
    scheduled.save()

    body = signed_in(coordinator).get("/mri/waiting/").content.decode()

    assert rows(body) == [str(asap.pk), str(routine.pk)]
    late = row(body, asap)
    assert '<td class="slots-before-due"><span class="pill overdue">none</span></td>' in late
    assert "after the due date" in late  # the first free slot, after the closure, breaches the 48 hours
    assert '<td class="slots-before-due">10+</td>' in row(body, routine)


def test_the_list_is_audited_and_links_each_case(signed_in, coordinator, pathway, scanners):
    mri = pathway.mri(pathway.protocoled())
    body = signed_in(coordinator).get("/mri/waiting/").content.decode()
    assert f'href="/cases/{mri.referral_id}/"' in body
    audit_row = AuditLog.objects.filter(action=AuditLog.Action.LIST, changes__query="mri waiting list").get()
    assert audit_row.changes["ids"] == [str(mri.referral_id)]


def test_board_roles_may_view_others_may_not(signed_in, neurologist, pediatrician, neurosurgeon, scanners):
    assert signed_in(neurologist).get("/mri/waiting/").status_code == 200
    assert signed_in(pediatrician).get("/mri/waiting/").status_code == 403
    assert signed_in(neurosurgeon).get("/mri/waiting/").status_code == 403


def test_the_board_links_to_it(signed_in, coordinator):
    assert 'href="/mri/waiting/"' in signed_in(coordinator).get("/mri/board/").content.decode()
