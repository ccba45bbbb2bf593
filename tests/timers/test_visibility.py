"""Overdue and escalated selectors, the health figures, and the tick command's guard."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from carepath.models import Timer, WorkItem, WorkItemKind
from carepath.pathway import selectors
from carepath.timers import sweep
from imaging.models import MRIRequest
from referrals.models import Referral

pytestmark = pytest.mark.django_db


def test_a_case_past_its_triage_deadline_is_overdue_and_a_fresh_one_is_not(pathway):
    late, fresh = pathway.submitted(), pathway.submitted()
    due = WorkItem.objects.get(referral=late, kind=WorkItemKind.TRIAGE).due_at
    WorkItem.objects.filter(referral=late).update(due_at=timezone.now() - timedelta(hours=1))
    assert list(selectors.overdue(Referral.objects.all())) == [late]
    assert set(selectors.overdue(Referral.objects.all(), now=due + timedelta(days=30))) == {late, fresh}


def test_an_item_is_escalated_once_its_first_escalation_has_fired(pathway):
    referral = pathway.submitted()
    triage = WorkItem.objects.get(referral=referral, kind=WorkItemKind.TRIAGE)
    assert not selectors.escalated(WorkItem.objects.all(), link="pk").exists()
    sweep.run_sync(triage.due_at + timedelta(minutes=1))
    assert list(selectors.escalated(WorkItem.objects.all(), link="pk")) == [triage]
    assert list(selectors.escalated(Referral.objects.all())) == [referral]


def test_mri_requests_can_be_filtered_by_overdue_steps(pathway):
    referral = pathway.protocoled()
    mri = pathway.mri(referral)
    WorkItem.objects.filter(mri_request=mri, status="open").update(due_at=timezone.now() - timedelta(minutes=5))
    assert list(selectors.overdue(MRIRequest.objects.all(), link="mri_request")) == [mri]


def test_the_status_reports_the_age_of_the_oldest_due_timer(pathway):
    referral = pathway.submitted()
    first = Timer.objects.filter(referral=referral).order_by("due_at").first()
    later = first.due_at + timedelta(minutes=10)
    assert sweep.status(later)["oldest_due_seconds"] == 10 * 60
    sweep.run_sync(later)
    assert sweep.status(later)["oldest_due_seconds"] == 0


def test_tick_refuses_to_move_the_clock_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refused when DEBUG is off"):
        call_command("tick", "--now", "2030-01-01T09:00")


def test_tick_with_force_moves_the_clock_and_fires_what_is_due(settings, pathway):
    settings.DEBUG = False
    referral = pathway.concluded()
    at = (referral.concluded_at + timedelta(days=15)).isoformat()
    out = StringIO()
    call_command("tick", "--now", at, "--force", stdout=out)
    referral.refresh_from_db()
    assert referral.state == "closed" and '"claimed"' in out.getvalue()
    assert referral.events.get(transition="auto_close").at > referral.concluded_at + timedelta(days=14)


def test_tick_status_prints_the_backlog():
    out = StringIO()
    call_command("tick", "--status", stdout=out)
    assert '"oldest_due_seconds": 0' in out.getvalue()
