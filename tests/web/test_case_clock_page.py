"""The case page's timeline names the case clock's reminders and escalations."""

from datetime import timedelta

import pytest
from django.urls import reverse

from carepath.timers import sweep

pytestmark = pytest.mark.django_db


def test_the_timeline_shows_the_18_week_clock_at_risk_and_breached(signed_in, pathway, neurologist):
    referral = pathway.imaging()
    sweep.run_sync(referral.submitted_at + timedelta(weeks=14, minutes=1))
    sweep.run_sync(referral.submitted_at + timedelta(weeks=18))
    html = signed_in(neurologist).get(reverse("case", args=[referral.pk])).content.decode()
    assert "Reminder: Referral to conclusion (18-week standard)" in html
    assert "Escalation: Referral to conclusion (18-week standard)" in html
