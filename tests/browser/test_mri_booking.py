"""A coordinator books a child under general anaesthesia from the calendar, in a real Chromium
(docs/capacity.md, "Booking from the calendar"): waiting list → the calendar for that request →
a start time in the GA list → the case page's booking form with that slot chosen → booked; the case
page and the MRI board then show the booking. Screenshots of the pages for each role that uses them."""

import pytest
from django.utils import timezone

from carepath.models import Holiday
from imaging.models import MRIRequest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def department(db):
    from imaging.capacity.demo import seed_capacity
    from imaging.capacity.models import SlotRule
    from tests.capacity.scanners import SLOT_RULES

    Holiday.objects.all().delete()  # the demo's GA lists are on Tuesdays and Thursdays: keep them
    for sedation, (minutes, turnaround) in SLOT_RULES.items():  # an earlier transactional test's flush
        SlotRule.objects.get_or_create(  # removed the rules the migration seeds
            protocol="", sedation=sedation, defaults={"minutes": minutes, "turnaround_minutes": turnaround}
        )
    return seed_capacity(timezone.localdate())


def test_a_coordinator_books_a_ga_child_from_the_calendar(
    browser, pathway, department, coordinator, neuroradiologist, admin_user
):
    mri = pathway.mri(pathway.protocoled(suspected_lesion=True))  # a suspected mass: general anaesthesia
    patient = mri.referral.patient
    guardian = patient.guardians.first()

    browser.sign_in(coordinator)
    browser.go("/mri/waiting/")
    browser.shot("mri-waiting-list-coordinator")
    row = browser.d.find_element("css selector", f'tr[data-mri="{mri.pk}"]')
    row.find_element("partial link text", "Book in the calendar").click()
    assert f"Booking {mri}" in browser.text() and "General anaesthesia" in browser.text()
    browser.shot("mri-calendar-booking-coordinator")
    first = browser.d.find_element("css selector", "ul.book-times a")
    booked_time = first.text.split()[1]  # "Book 08:00 …"
    first.click()

    form = browser.d.find_element("id", f"action-mri-{mri.pk}-schedule")
    assert form.get_attribute("open")
    chosen = form.find_element("css selector", 'input[name="slot"]:checked')
    assert "GA list" in form.find_element("css selector", f'label[for="{chosen.get_attribute("id")}"]').text
    assert guardian.name in form.find_element("css selector", 'select[name="guardian"] option:checked').text
    browser.shot("case-booking-form-coordinator")
    browser.submit(form)

    booked = MRIRequest.objects.get(pk=mri.pk)
    assert (booked.state, booked.appointment.sedation) == ("scheduled", "general_anaesthesia")
    assert f"{timezone.localtime(booked.appointment.start):%H:%M}" == booked_time
    assert booked.appointment.location in browser.text()  # the case page shows the appointment
    browser.shot("case-booked-coordinator")
    browser.go(f"/mri/board/?mrn={patient.mrn}")
    card = browser.d.find_element("id", f"card-{mri.pk}").find_element("xpath", "..")
    assert f"Booked {timezone.localtime(booked.appointment.start):%a %-d %b %H:%M}" in card.text
    browser.shot("mri-board-booked-coordinator")

    # the board's own booking form, for a second child: the earliest slots, no typed date or id
    other = pathway.mri(pathway.protocoled())
    browser.go(f"/mri/board/?book={other.pk}#action-mri-{other.pk}-schedule")
    form = browser.d.find_element("id", f"action-mri-{other.pk}-schedule")
    assert form.find_elements("css selector", 'input[name="slot"]')
    assert not form.find_elements("css selector", 'input[name="scheduled_start"], input[name="scanner"]')
    browser.shot("mri-board-slot-choice-coordinator")

    for user, role in ((neuroradiologist, "neuroradiologist"), (admin_user, "admin")):
        browser.sign_in(user)
        for path, name in (
            (f"/mri/calendar/?date={timezone.localtime(booked.appointment.start):%Y-%m-%d}", "mri-calendar"),
            ("/mri/waiting/", "mri-waiting-list"),
            ("/mri/board/", "mri-board"),
        ):
            browser.go(path)
            assert "Server Error" not in browser.text()
            browser.shot(f"{name}-{role}")
