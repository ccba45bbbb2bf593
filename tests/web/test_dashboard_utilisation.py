"""Utilisation per scanner per week on the dashboard (docs/capacity.md, "Utilisation"): booked scan and
turnaround time over open session time; holds do not count."""

import csv
import html
import io
from datetime import date, time, timedelta

import pytest

from carepath.models import Holiday
from imaging.capacity.calendar import at, zone
from imaging.capacity.models import Closure
from tests.capacity.places import reserve

pytestmark = pytest.mark.django_db


def test_the_dashboard_shows_each_scanners_booked_share_of_its_weeks(signed_in, coordinator, pathway, scanners):
    Holiday.objects.all().delete()
    Closure.objects.all().delete()  # the demo's, on days that depend on today
    today = date.today()
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=1)
    tuesday = at(monday + timedelta(days=1), time(8), zone("Europe/London"))
    booked = pathway.mri(pathway.protocoled())
    reserve(booked, scanners["3T"], tuesday, minutes=60, turnaround=30, sedation="general_anaesthesia")
    held = pathway.mri(pathway.protocoled())
    reserve(held, scanners["3T"], tuesday + timedelta(hours=2), minutes=60, kind="hold")
    client = signed_in(coordinator)

    rows = list(csv.DictReader(io.StringIO(client.get("/dashboard/?csv=mri_utilisation").content.decode())))
    week = {r["Scanner"]: r for r in rows if r["Week from"] == monday.isoformat()}
    big, small = week[str(scanners["3T"])], week[str(scanners["1.5T"])]
    assert (big["Session hours"], big["Booked hours"], big["Booked %"]) == ("50.0", "1.5", "3")
    assert (small["Session hours"], small["Booked hours"], small["Booked %"]) == ("40.0", "0.0", "0")
    assert len(rows) == 2 * 9  # two scanners, four weeks back to four ahead

    page = client.get("/dashboard/").content.decode()
    assert "MRI utilisation per scanner per week" in page
    assert f'<th scope="col">w/c {monday.day} {monday:%b}</th>' in page
    row = page.split(f'<th scope="row">{html.escape(str(scanners["3T"]))}</th>')[1].split("</tr>")[0]
    assert '<strong>3 %</strong><br><span class="muted">1.5 / 50.0 h</span>' in row  # next week's cell
