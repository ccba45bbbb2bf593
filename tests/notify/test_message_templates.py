"""Dates printed in messages (carepath/notify/message_templates.py): the fast paths must read exactly as Django's."""

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string
from django.utils import dateformat, timezone, translation

from carepath.notify.message_templates import format_date, render_text

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "email"
SPECS = sorted({spec for t in TEMPLATES.glob("*.txt") for spec in re.findall(r'\|date:"([^"]*)"', t.read_text())})
# A year of times at odd hours, across both clock changes, each day of the week and month.
TIMES = [datetime(2026, 1, 1, 0, 7, tzinfo=ZoneInfo("Europe/London")) + timedelta(hours=31 * i) for i in range(290)]


def test_the_email_templates_print_dates():
    assert "l j F Y, H:i" in SPECS and "D j M H:i" in SPECS


@pytest.mark.parametrize("language", ["en-gb", "fr"])
@pytest.mark.parametrize("spec", SPECS)
def test_a_date_in_a_template_spec_prints_as_django_prints_it(spec, language):
    with translation.override(language):
        assert [format_date(t, spec) for t in TIMES] == [dateformat.format(t, spec) for t in TIMES]


@pytest.mark.parametrize("spec", [r"jS \o\f F", "N j, Y P", "c"])
def test_a_spec_with_other_format_characters_is_left_to_django(spec):
    assert [format_date(t, spec) for t in TIMES] == [dateformat.format(t, spec) for t in TIMES]


def test_messages_filled_in_from_one_shape_print_their_dates_in_the_active_time_zone(caplog):
    fixed = {"which": "t1", "sedation": "", "time_zone": "America/New_York"}
    start = datetime(2026, 3, 2, 14, 30, tzinfo=ZoneInfo("UTC"))
    with timezone.override(ZoneInfo("America/New_York")):
        for i in range(3):  # the first is rendered in full, the others filled in from its shape
            varying = {
                "child": f"Alex{i}",
                "location": "MRI 2",
                "start": start + timedelta(days=i, hours=i),
                "fasting": {},
            }
            expected = render_to_string("email/family_reminder.txt", fixed | varying).strip()
            assert render_text("email/family_reminder.txt", fixed=fixed, varying=varying) == expected
    assert "rendering it in full" not in caplog.text  # filled in, not saved by the full-render fallback
