"""The dashboard (docs/ui.md): its charts and tables, CSV downloads, the 18-week standard, who may
open it and its query count."""

from datetime import timedelta

import pytest
from django.urls import reverse

from carepath.models import WorkItem

pytestmark = pytest.mark.django_db


def test_the_dashboard_shows_charts_and_tables(signed_in, neurologist, pathway):
    pathway.closed()
    pathway.submitted()
    html = signed_in(neurologist).get(reverse("dashboard")).content.decode()
    assert "<svg" in html and "Open cases per step" in html and "Loop closure by month" in html


def test_each_dashboard_table_downloads_as_csv(signed_in, neurologist, pathway):
    pathway.closed()
    response = signed_in(neurologist).get(reverse("dashboard"), {"csv": "loop_closure"})
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/csv")
    assert body.splitlines()[0] == "Month,Outcomes sent,Acknowledged,Closed-loop %"
    assert body.splitlines()[1].endswith(",1,1,100.0")


def test_the_dashboard_counts_cases_against_the_18_week_standard(signed_in, neurologist, pathway):
    from datetime import timedelta

    from django.utils import timezone

    from carepath.models import Timer, TimerKind
    from referrals.models import Referral

    def first_escalation(case):
        return Timer.objects.filter(referral=case, kind=TimerKind.CLOCK_ESCALATION, key__endswith=":escalate:1")

    pathway.concluded()  # in time
    late = pathway.concluded()
    late_at = Referral.objects.get(pk=late.pk).concluded_at
    first_escalation(late).update(due_at=late_at - timedelta(days=1))  # its 18 weeks ran out before
    overdue = pathway.triaged()
    pathway.triaged()  # on track
    first_escalation(overdue).update(due_at=timezone.now() - timedelta(hours=1))
    pathway.submitted()  # not triaged: no clock yet

    response = signed_in(neurologist).get(reverse("dashboard"), {"csv": "eighteen_weeks"})
    page = signed_in(neurologist).get(reverse("dashboard")).content.decode()

    lines = response.content.decode().splitlines()
    assert lines[0] == "Priority,Cases,Concluded in time,Concluded late,Open past 18 weeks,Breached %"
    assert lines[1:] == ["Routine,4,1,1,1,50.0"]
    assert "the 18-week standard" in page


def test_the_dashboard_is_not_for_pediatricians(signed_in, pediatrician):
    assert signed_in(pediatrician).get(reverse("dashboard")).status_code == 403


def test_the_dashboard_runs_a_bounded_number_of_queries(signed_in, neurologist, pathway, django_assert_max_num_queries):
    for _ in range(3):
        pathway.closed()
    client = signed_in(neurologist)
    with django_assert_max_num_queries(16):  # a fixed set of aggregates, whatever the number of cases
        assert client.get(reverse("dashboard")).status_code == 200


def test_time_in_each_step_is_one_row_per_step_with_its_median(signed_in, neurologist, pathway):
    """Three triages that took 1, 2 and 6 hours: one "Triage the referral" row, median 2 h."""
    cases = [pathway.triaged() for _ in range(3)]
    for case, hours in zip(cases, (1, 2, 6), strict=True):
        item = WorkItem.objects.get(referral=case, kind="triage")
        WorkItem.objects.filter(pk=item.pk).update(created_at=item.closed_at - timedelta(hours=hours))

    lines = signed_in(neurologist).get(reverse("dashboard"), {"csv": "time_in_step"}).content.decode().splitlines()

    triage = [line for line in lines[1:] if line.startswith("Triage the referral,")]
    assert len(triage) == 1, lines
    assert triage[0].split(",")[1:3] == ["3", "2.0"]
