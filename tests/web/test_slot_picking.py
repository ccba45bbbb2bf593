"""Booking by picking a slot (docs/ui.md, "Booking an MRI slot"): the board's and the case page's
schedule forms offer the finder's earliest free slots, never a typed date or a raw id; posting one
books through the schedule transition; a slot taken meanwhile is a form error that loses nothing."""

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from carepath.models import Holiday
from imaging.capacity import finder, picker
from imaging.models import MRIRequest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_holidays():
    Holiday.objects.all().delete()


def card(body: str, mri) -> str:
    return body.split(f'id="card-{mri.pk}"', 1)[1].split("</article>", 1)[0]


def schedule_form(body: str, mri) -> str:
    return body.split(f'id="action-mri-{mri.pk}-schedule"', 1)[1].split("</details>", 1)[0]


def offered(html: str) -> list[str]:
    return re.findall(r'name="slot" value="([^"]+)"', html)


def first_slot(mri) -> finder.Slot:
    return finder.find_slots(MRIRequest.objects.select_related("referral__patient").get(pk=mri.pk), limit=1)[0]


def book_on_board(client, mri, slot_value: str, **extra):
    data = {"machine": "mri", "object": mri.pk, "transition": "schedule", "version": mri.version, "slot": slot_value}
    return client.post(f"/mri/board/?book={mri.pk}", data | extra)


def test_the_boards_schedule_form_offers_slots_and_the_childs_guardians_not_ids(
    signed_in, coordinator, pathway, scanners
):
    mri = pathway.mri(pathway.protocoled())
    client = signed_in(coordinator)

    plain = schedule_form(client.get("/mri/board/").content.decode(), mri)
    assert f'href="/mri/board/?book={mri.pk}#action-mri-{mri.pk}-schedule"' in plain  # "Show the free slots"
    form = schedule_form(client.get(f"/mri/board/?book={mri.pk}").content.decode(), mri)

    for typed in ("scanner", "hold", "scheduled_start", "location", "override_reason"):
        assert f'name="{typed}"' not in form
    assert len(offered(form)) == picker.OFFERED
    assert offered(form)[0] == picker.encode(first_slot(mri))
    guardian = mri.referral.patient.guardians.first()
    assert f'<option value="{guardian.pk}" selected>{guardian.name} ({guardian.relationship})</option>' in form
    assert 'name="slots_from"' in form and f'href="/mri/calendar/?book={mri.pk}"' in form


def test_posting_a_slot_books_it_through_the_schedule_transition(signed_in, coordinator, pathway, scanners):
    mri = pathway.mri(pathway.protocoled())
    slot = first_slot(mri)
    client = signed_in(coordinator)

    response = book_on_board(client, mri, picker.encode(slot))

    assert response.status_code == 302
    mri.refresh_from_db()
    assert mri.state == "scheduled"
    assert (mri.appointment.start, mri.appointment.location) == (slot.start, f"{slot.site_name} — {slot.scanner_name}")
    assert mri.reservations.get(kind="booking").scanner_id == slot.scanner_id
    board = client.get("/mri/board/").content.decode()
    assert f"Booked {slot.start:%a %-d %b} " in card(board, mri)
    when = timezone.localtime(slot.start)
    assert f"{mri} booked {when:%a %-d %b %Y %H:%M}, {slot.site_name} — {slot.scanner_name}." in html.unescape(board)


def test_a_slot_taken_meanwhile_is_a_form_error_that_keeps_the_guardian_and_plan(
    signed_in, coordinator, pathway, scanners
):
    first, second = (pathway.mri(pathway.protocoled()) for _ in range(2))
    slot = first_slot(second)
    client = signed_in(coordinator)
    assert book_on_board(client, first, picker.encode(first_slot(first))).status_code == 302
    guardian = second.referral.patient.guardians.first()

    response = book_on_board(client, second, picker.encode(slot), guardian=guardian.pk, sedation="none")

    assert response.status_code == 409
    form = schedule_form(response.content.decode(), second)
    assert "is booked" in form and "Choose another time." in form
    assert f'<option value="{guardian.pk}" selected>' in form
    assert re.search(r'value="none"\s+checked|value="none" checked', form) or 'value="none" selected' in form
    assert picker.encode(slot) not in offered(form) and offered(form)  # the taken slot is gone, others offered
    assert MRIRequest.objects.get(pk=second.pk).state == "protocoled"


def test_posting_no_slot_asks_for_one(signed_in, coordinator, pathway, scanners):
    mri = pathway.mri(pathway.protocoled())

    response = book_on_board(signed_in(coordinator), mri, "")

    assert response.status_code == 400
    form = schedule_form(response.content.decode(), mri)
    assert "Choose a slot." in form
    anchor = f"action-mri-{mri.pk}-schedule-f-slot-1"  # the error summary links to the first slot
    assert f'href="#{anchor}"' in form and f'id="{anchor}"' in form


def test_a_ga_childs_slots_lie_in_the_anaesthesia_list_and_late_ones_are_marked(
    signed_in, coordinator, pathway, scanners
):
    mri = pathway.mri(pathway.protocoled(suspected_lesion=True))  # general anaesthesia
    MRIRequest.objects.filter(pk=mri.pk).update(priority="asap")  # due in 48 hours: GA lists are twice a week

    form = schedule_form(signed_in(coordinator).get(f"/mri/board/?book={mri.pk}").content.decode(), mri)

    assert offered(form)
    assert form.count("GA list: ") == len(offered(form))
    assert "after the due date" in form


def test_the_case_page_offers_slots_and_preselects_the_calendars_pick(signed_in, coordinator, pathway, scanners):
    mri = pathway.mri(pathway.protocoled())
    later = finder.find_slots(MRIRequest.objects.select_related("referral__patient").get(pk=mri.pk), limit=30)[-1]
    client = signed_in(coordinator)

    body = client.get(f"/cases/{mri.referral_id}/", {"slot": picker.encode(later)}).content.decode()

    form = schedule_form(body, mri)
    assert offered(form)[0] == picker.encode(later)
    assert re.search(r'value="' + re.escape(picker.encode(later)) + r'" checked', form)
    data = {"machine": "mri", "object": mri.pk, "transition": "schedule", "version": mri.version}
    response = client.post(f"/cases/{mri.referral_id}/", data | {"slot": offered(form)[0]})
    assert response.status_code == 302
    assert MRIRequest.objects.get(pk=mri.pk).appointment.start == later.start


def test_only_an_administrator_is_offered_the_override(signed_in, admin_user, pathway, scanners):
    from carepath.pathway.roles import Role
    from tests.factories import user_with_role

    both = user_with_role(Role.IMAGING_COORDINATOR, "coord_admin")
    both.groups.add(*admin_user.groups.all())
    mri = pathway.mri(pathway.protocoled())

    form = schedule_form(signed_in(both).get(f"/mri/board/?book={mri.pk}").content.decode(), mri)

    assert 'name="override_reason"' in form


def test_without_scanners_the_form_keeps_the_typed_date_and_location_and_no_ids(signed_in, coordinator, pathway):
    mri = pathway.mri(pathway.protocoled())

    form = schedule_form(signed_in(coordinator).get("/mri/board/").content.decode(), mri)

    assert 'name="scheduled_start"' in form and 'name="location"' in form
    for raw in ('name="scanner"', 'name="hold"', 'name="override_reason"', 'name="slot"'):
        assert raw not in form


def test_later_slots_from_a_date_and_for_another_plan(signed_in, coordinator, pathway, scanners):
    mri = pathway.mri(pathway.protocoled())  # awake by default
    later = timezone.localdate() + timedelta(days=21)
    client = signed_in(coordinator)

    form = schedule_form(
        client.get(f"/mri/board/?book={mri.pk}&slots_from={later}&slots_sedation=general_anaesthesia").content.decode(),
        mri,
    )

    starts = [picker.decode(v)[1] for v in offered(form)]
    assert starts and all(timezone.localdate(s) >= later for s in starts)
    assert form.count("GA list: ") == len(starts)  # general anaesthesia: inside the lists only
    assert f'value="{later}"' in form and 'value="general_anaesthesia" selected' in form


def test_a_booked_scan_is_rescheduled_by_picking_another_slot(signed_in, coordinator, pathway, scanners):
    mri = pathway.mri(pathway.protocoled())
    client = signed_in(coordinator)
    assert book_on_board(client, mri, picker.encode(first_slot(mri))).status_code == 302
    mri.refresh_from_db()

    body = client.get(f"/mri/board/?book={mri.pk}").content.decode()
    form = body.split(f'id="action-mri-{mri.pk}-reschedule"', 1)[1].split("</details>", 1)[0]
    choice = offered(form)[1]
    data = {"machine": "mri", "object": mri.pk, "transition": "reschedule", "version": mri.version}
    response = client.post(f"/mri/board/?book={mri.pk}", data | {"slot": choice, "reason": "Family asked"})

    assert response.status_code == 302
    mri.refresh_from_db()
    assert (mri.state, mri.appointment.start) == ("scheduled", picker.decode(choice)[1])


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "not a date"])
def test_a_from_date_out_of_range_shows_the_earliest_slots(signed_in, coordinator, pathway, scanners, day):
    mri = pathway.mri(pathway.protocoled())

    response = signed_in(coordinator).get(f"/mri/board/?book={mri.pk}&slots_from={day}")

    assert response.status_code == 200
    assert offered(schedule_form(response.content.decode(), mri))[0] == picker.encode(first_slot(mri))
