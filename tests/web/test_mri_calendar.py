"""The coordinator's MRI calendar (docs/capacity.md, "The coordinator's calendar"): a scanner's week or
day with booked, held and free time, sedation badges, fasting times, closures, overrides; who may see it."""

from datetime import date, time, timedelta

import pytest

from carepath.models import AuditLog, Holiday
from imaging.capacity.calendar import at, zone
from imaging.capacity.models import Closure
from imaging.services import fasting_cutoffs
from tests.capacity.places import reserve

pytestmark = pytest.mark.django_db
LONDON = zone("Europe/London")


def next_tuesday() -> date:
    today = date.today()
    return today + timedelta(days=7 + (1 - today.weekday()) % 7)


TUESDAY = next_tuesday()


def local(day: date, hh_mm: str):
    return at(day, time.fromisoformat(hh_mm), LONDON)


def page(client, scanner, *, view="week", on=TUESDAY):
    return client.get(f"/mri/calendar/?scanner={scanner.pk}&view={view}&date={on:%Y-%m-%d}")


@pytest.fixture(autouse=True)
def _no_holidays():
    Holiday.objects.all().delete()  # the seeded bank holidays would close the week's sessions


@pytest.fixture
def ga_booking(pathway, scanners):
    """A GA child booked on the 3 T scanner at 08:00 next Tuesday (in the GA list), with fasting times."""
    mri = pathway.mri(pathway.protocoled())
    start = local(TUESDAY, "08:00")
    booking = reserve(mri, scanners["3T"], start, minutes=60, turnaround=30, sedation="general_anaesthesia")
    for name, value in fasting_cutoffs(start, "general_anaesthesia").items():
        setattr(booking.appointment, name, value)
    booking.appointment.save()
    return booking


def test_the_week_shows_booked_held_and_free_time_with_the_ga_badge_and_fasting_times(
    signed_in, coordinator, ga_booking, pathway, scanners
):
    other = pathway.mri(pathway.protocoled())
    hold = reserve(other, scanners["3T"], local(TUESDAY, "10:00"), minutes=30, turnaround=10, kind="hold")
    body = page(signed_in(coordinator), scanners["3T"]).content.decode()

    patient = ga_booking.mri_request.referral.patient
    assert f"{patient.family_name.upper()}, {patient.given_name}" in body
    assert f'href="/cases/{ga_booking.mri_request.referral_id}/"' in body
    assert '<span class="pill sedation">GA</span>' in body and '<span class="pill fasting">fasting</span>' in body
    assert "Solids until 02:00, milk 04:00, clear fluids 07:00" in body
    assert "turnaround until 09:30" in body
    assert "Held" in body and f"{hold.mri_request}" in body
    # free time between them, inside the GA list, and after it
    assert "09:30–10:00" in body and "Free · 30 min" in body
    assert "10:40–12:30" in body and "12:30–18:00" in body
    assert '<span class="pill sedation">GA list</span> 08:00–12:30' in body


def test_a_closure_and_a_closed_anaesthesia_list_are_shown_with_their_reasons(signed_in, coordinator, scanners):
    wednesday, thursday = TUESDAY + timedelta(days=1), TUESDAY + timedelta(days=2)
    site = scanners["1.5T"].site
    Closure.objects.create(
        site=site,
        scanner=scanners["1.5T"],
        start=local(wednesday, "08:00"),
        end=local(wednesday, "13:00"),
        reason="Service",
    )
    ga_list = site.anaesthesia_lists.get(weekday=3)
    Closure.objects.create(
        site=site,
        anaesthesia_list=ga_list,
        start=local(thursday, "08:00"),
        end=local(thursday, "12:30"),
        reason="Training",
    )
    client = signed_in(coordinator)

    small = page(client, scanners["1.5T"]).content.decode()
    assert "<strong>Closed</strong> · Service" in small and "13:00–17:00" in small
    big = page(client, scanners["3T"]).content.decode()
    assert "No GA list</span> 08:00–12:30: Training" in big
    assert "Service" not in big  # the other scanner's closure


def test_a_holiday_closes_the_day(signed_in, coordinator, scanners):
    Holiday.objects.create(date=TUESDAY, name="Made-up holiday")
    body = page(signed_in(coordinator), scanners["3T"], view="day").content.decode()
    assert "Made-up holiday" in body and "Free ·" not in body


def test_the_day_view_shows_one_day_and_navigates_by_day(signed_in, coordinator, ga_booking, scanners):
    body = page(signed_in(coordinator), scanners["3T"], view="day").content.decode()
    assert TUESDAY.strftime("%a %-d %b") in body
    assert (TUESDAY + timedelta(days=1)).strftime("%a %-d %b") not in body
    assert (
        f"date={TUESDAY - timedelta(days=1):%Y-%m-%d}" in body
        and f"date={TUESDAY + timedelta(days=1):%Y-%m-%d}" in body
    )


def test_an_override_is_marked(signed_in, coordinator, pathway, scanners):
    mri = pathway.mri(pathway.protocoled())
    reserve(mri, scanners["1.5T"], local(TUESDAY, "09:00"), override_reason="Family travelling from abroad")
    body = page(signed_in(coordinator), scanners["1.5T"]).content.decode()
    assert '<li class="slot booked override">' in body and "Override: Family travelling from abroad" in body


def test_the_page_is_audited_as_a_list_of_the_children_shown(signed_in, coordinator, ga_booking, scanners):
    page(signed_in(coordinator), scanners["3T"])
    row = AuditLog.objects.filter(action=AuditLog.Action.LIST, object_type="referrals.referral").latest("id")
    assert row.changes["ids"] == [str(ga_booking.mri_request.referral_id)]
    assert row.changes["query"].startswith("mri calendar")


@pytest.mark.parametrize("role", ["coordinator", "neuroradiologist", "admin_user"])
def test_imaging_staff_and_admins_may_view(request, signed_in, role, scanners):
    assert page(signed_in(request.getfixturevalue(role)), scanners["3T"]).status_code == 200


@pytest.mark.parametrize("role", ["neurologist", "pediatrician", "neurosurgeon"])
def test_others_may_not(request, signed_in, role, scanners):
    assert page(signed_in(request.getfixturevalue(role)), scanners["3T"]).status_code == 403


def test_the_feed_address_is_shown_to_coordinators_only(signed_in, coordinator, neuroradiologist, scanners):
    scanner = scanners["3T"]
    assert scanner.calendar_token in page(signed_in(coordinator), scanner).content.decode()
    assert scanner.calendar_token not in page(signed_in(neuroradiologist), scanner).content.decode()


def test_an_unknown_scanner_is_not_found_and_a_bad_date_shows_this_week(signed_in, coordinator, scanners):
    client = signed_in(coordinator)
    assert client.get("/mri/calendar/?scanner=999999").status_code == 404
    assert client.get(f"/mri/calendar/?scanner={scanners['3T'].pk}&date=31-02-2026").status_code == 200


def test_at_the_weekend_the_week_shown_is_the_coming_one(signed_in, coordinator, scanners):
    from unittest import mock

    saturday = date(2026, 12, 12)
    with mock.patch("django.utils.timezone.localdate", return_value=saturday):
        body = signed_in(coordinator).get(f"/mri/calendar/?scanner={scanners['3T'].pk}").content.decode()
    assert "Mon 14 Dec" in body and "Mon 7 Dec" not in body
