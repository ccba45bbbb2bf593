"""Red flags and times that cannot contradict each other, on the pages (issue 13 items 3 and 4):
the new-referral form, the case page, My work, the MRI board and the reading queue."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from carepath.models import CaseEvent, WorkItem
from imaging.models import MRIRequest
from referrals.models import Patient, Referral
from tests import factories as f

from .test_pages import NEW_PATIENT, REFERRAL_POST

MARKER = "Red flag</span>"


def new_referral(client, **changes):
    return client.post(reverse("referral_new"), {**NEW_PATIENT, **REFERRAL_POST, **changes})


# --- the new-referral form -------------------------------------------------------------------------
def test_the_form_explains_beside_the_priority_why_a_red_flag_means_asap(signed_in, pediatrician):
    patient = f.make_patient(pediatrician, mrn="KNOWN1")
    html = signed_in(pediatrician).get(reverse("referral_new"), {"mrn": patient.mrn}).content.decode()

    note = html.index('id="red-flag-priority-note"')
    assert note < html.index('name="requested_priority"') < html.index('name="requested_priority_reason"')
    assert "A red flag is ticked, so this referral is ASAP" in html
    assert "carepath/referral_form.js" in html  # ticking a flag selects ASAP and shows the note


def test_a_red_flag_referral_below_asap_without_a_reason_is_refused_beside_the_priority(signed_in, pediatrician):
    response = new_referral(signed_in(pediatrician), requested_priority="routine", red_flags=["papilloedema"])

    html = response.content.decode()
    assert response.status_code == 400
    assert "Choose ASAP, or give a reason for a lower priority." in html
    assert 'id="red-flag-priority-note" aria-live="polite">' in html  # shown, not hidden
    assert 'value="routine" checked' in html and 'value="papilloedema" checked' in html
    assert not Patient.objects.exists() and not Referral.objects.exists()


def test_a_red_flag_referral_below_asap_with_a_reason_is_sent(signed_in, pediatrician):
    response = new_referral(
        signed_in(pediatrician), requested_priority="urgent", requested_priority_reason="Weakness is old and stable."
    )
    assert response.status_code == 302
    assert Referral.objects.get().requested_priority_reason == "Weakness is old and stable."


def test_a_birth_date_in_the_future_is_refused_beside_the_date_of_birth(signed_in, pediatrician):
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = new_referral(signed_in(pediatrician), birth_date=future)

    html = response.content.decode()
    assert response.status_code == 400
    assert html.index("The date of birth cannot be in the future.") < html.index('name="birth_date"')
    assert not Patient.objects.exists()


def test_an_adult_date_of_birth_asks_for_a_reason_and_keeps_everything_typed(signed_in, pediatrician):
    client = signed_in(pediatrician)
    response = new_referral(client, birth_date="1995-06-01", clinical_notes="Keep me")

    html = response.content.decode()
    assert response.status_code == 400
    assert "would be" in html and "Check the date of birth" in html
    assert '<details class="field" open>' in html and 'value="1995-06-01"' in html and "Keep me" in html
    assert not Patient.objects.exists() and not Referral.objects.exists()

    sent = new_referral(client, birth_date="1995-06-01", over_18_reason="Long-term patient of ours.")
    assert sent.status_code == 302 and Referral.objects.get().over_18_reason == "Long-term patient of ours."


def test_symptom_onset_before_birth_is_refused_beside_the_onset(signed_in, pediatrician):
    response = new_referral(signed_in(pediatrician), symptom_onset="2016-04-30")  # born 2016-05-01
    assert response.status_code == 400
    assert "Symptom onset cannot be before the child&#x27;s date of birth." in response.content.decode()
    assert not Patient.objects.exists()


# --- the case page -----------------------------------------------------------------------------------
def test_triage_starts_at_asap_on_a_red_flag_case_and_the_case_is_marked(signed_in, neurologist, pediatrician):
    flagged = f.make_referral(pediatrician, red_flags=["papilloedema"])
    html = signed_in(neurologist).get(reverse("case", args=[flagged.pk])).content.decode()

    assert MARKER in html[: html.index("</h1>")]
    triage = html[html.index('id="action-referral-') : html.index("</details>", html.index('id="action-referral-'))]
    assert 'value="asap" checked' in triage
    assert "Any red flag means ASAP (seen within 48 hours)" in triage  # the form says why


def test_triage_preselects_nothing_without_a_red_flag(signed_in, neurologist, referral):
    html = signed_in(neurologist).get(reverse("case", args=[referral.pk])).content.decode()
    assert 'value="asap" checked' not in html and MARKER not in html


def test_the_case_page_shows_why_a_red_flag_case_was_requested_below_asap(signed_in, neurologist, pediatrician):
    flagged = f.make_referral(
        pediatrician, red_flags=["bilateral"], requested_priority="routine", requested_priority_reason="Since birth."
    )
    html = signed_in(neurologist).get(reverse("case", args=[flagged.pk])).content.decode()
    assert "Requested below ASAP despite a red flag because: Since birth." in html


# --- the MRI board: scan and not-brought times ---------------------------------------------------------
def board_post(client, mri, transition, **data):
    return client.post(
        reverse("mri_board"),
        {"machine": "mri", "object": mri.pk, "transition": transition, "version": mri.version, **data},
    )


def test_a_scan_before_its_appointment_day_is_refused_on_the_board_beside_the_time(signed_in, coordinator, pathway):
    mri = pathway.mri(pathway.scheduled())
    events = CaseEvent.objects.count()
    performed = timezone.localtime().strftime("%Y-%m-%dT%H:%M")

    response = board_post(signed_in(coordinator), mri, "mark_performed", accession_number="B-1", performed_at=performed)

    html = response.content.decode()
    assert response.status_code == 400
    assert "before its appointment day" in html and 'value="B-1"' in html and "Early-scan reason" in html
    after = MRIRequest.objects.get(pk=mri.pk)
    assert (after.state, after.version) == ("scheduled", mri.version) and CaseEvent.objects.count() == events


def test_an_early_scan_with_its_reason_is_recorded_from_the_board(signed_in, coordinator, pathway):
    mri = pathway.mri(pathway.scheduled())
    performed = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    response = board_post(
        signed_in(coordinator),
        mri,
        "mark_performed",
        accession_number="B-2",
        performed_at=performed,
        early_scan_reason="Earlier slot",
    )
    assert response.status_code == 302
    assert MRIRequest.objects.get(pk=mri.pk).early_scan_reason == "Earlier slot"


def test_not_brought_before_the_appointment_is_refused_on_the_board(signed_in, coordinator, pathway):
    mri = pathway.mri(pathway.scheduled())
    events = CaseEvent.objects.count()

    response = board_post(signed_in(coordinator), mri, "record_was_not_brought")

    assert response.status_code == 400
    assert "has not started yet" in response.content.decode()
    assert MRIRequest.objects.get(pk=mri.pk).state == "scheduled" and CaseEvent.objects.count() == events


def test_booking_in_the_past_is_refused_on_the_board_and_changes_nothing(signed_in, coordinator, pathway):
    mri = pathway.mri(pathway.protocoled())
    past = (timezone.localtime() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = board_post(signed_in(coordinator), mri, "schedule", scheduled_start=past, location="Scanner 4")
    assert response.status_code == 400 and "this time has passed" in response.content.decode()
    assert MRIRequest.objects.get(pk=mri.pk).state == "protocoled"


# --- markers and order on the lists --------------------------------------------------------------------
def test_my_work_marks_red_flag_cases_and_puts_them_first_within_their_due_group(signed_in, neurologist, pediatrician):
    plain, flagged, later_plain = (
        f.make_referral(pediatrician),
        f.make_referral(pediatrician, red_flags=["papilloedema"]),
        f.make_referral(pediatrician),
    )
    for referral, hours in ((plain, 2), (flagged, 20), (later_plain, 48)):
        WorkItem.objects.filter(referral=referral).update(due_at=timezone.now() + timedelta(hours=hours))

    html = signed_in(neurologist).get(reverse("my_work")).content.decode()

    soon, later = html.index("Due in the next 24 hours"), html.index(">Later")
    assert (
        soon < html.index(flagged.reference) < html.index(plain.reference) < later < html.index(later_plain.reference)
    )
    row = html[html.index(flagged.reference) : html.index("</tr>", html.index(flagged.reference))]
    assert MARKER in row
    assert MARKER not in html[html.index(plain.reference) : html.index("</tr>", html.index(plain.reference))]


def test_the_board_marks_red_flag_cards_and_puts_them_first_within_their_due_group(signed_in, coordinator, pathway):
    plain = pathway.protocoled()
    flagged = pathway.protocoled(red_flags=["ataxia_gait_change"])
    overdue = pathway.protocoled()
    for referral, hours in ((plain, 30), (flagged, 90), (overdue, -1)):
        WorkItem.objects.filter(mri_request__referral=referral, is_primary=True, status="open").update(
            due_at=timezone.now() + timedelta(hours=hours)
        )

    html = signed_in(coordinator).get(reverse("mri_board")).content.decode()

    # overdue first; then, among the later ones, the red flag before the sooner plain card
    assert html.index(overdue.patient.mrn) < html.index(flagged.patient.mrn) < html.index(plain.patient.mrn)
    assert MARKER in card_of(html, flagged.patient.mrn) and MARKER not in card_of(html, plain.patient.mrn)


def card_of(html: str, mrn: str) -> str:
    return next(card for card in html.split("<article")[1:] if mrn in card)


def test_a_red_flag_card_is_not_hidden_behind_plain_cards_of_its_due_group(
    signed_in, coordinator, pathway, monkeypatch
):
    from imaging import views as imaging_views

    monkeypatch.setattr(imaging_views, "COLUMN_LIMIT", 2)
    plain = [pathway.protocoled() for _ in range(2)]
    flagged = pathway.protocoled(red_flags=["papilloedema"])
    for referral, hours in ((plain[0], 30), (plain[1], 31), (flagged, 40)):
        WorkItem.objects.filter(mri_request__referral=referral, is_primary=True, status="open").update(
            due_at=timezone.now() + timedelta(hours=hours)
        )
    html = signed_in(coordinator).get(reverse("mri_board")).content.decode()
    assert flagged.patient.mrn in html and plain[1].patient.mrn not in html


def test_the_reading_queue_marks_red_flag_studies_and_puts_them_first_within_their_priority(
    signed_in, neuroradiologist, pathway
):
    first = pathway.imaging()  # older, same priority (routine: triaged with a reason below)
    flagged = pathway.imaging(red_flags=["bilateral"])
    MRIRequest.objects.filter(referral=flagged).update(priority="routine")

    html = signed_in(neuroradiologist).get(reverse("reading_queue")).content.decode()

    rows = html[html.index('id="to-protocol"') :].split("<tr")
    flagged_row = next(r for r in rows if reverse("reading", args=[pathway.mri(flagged).pk]) in r)
    plain_row = next(r for r in rows if reverse("reading", args=[pathway.mri(first).pk]) in r)
    assert MARKER in flagged_row and MARKER not in plain_row
    assert rows.index(flagged_row) < rows.index(plain_row)


@pytest.mark.parametrize("cases", [1, 20])
def test_the_board_with_red_flags_runs_a_bounded_number_of_queries(
    signed_in, coordinator, pathway, cases, django_assert_max_num_queries
):
    for n in range(cases):
        pathway.scheduled(red_flags=[] if n % 2 else ["papilloedema"])
    client = signed_in(coordinator)
    with django_assert_max_num_queries(14):  # as tests/web/test_pages.py pins it
        assert MARKER in client.get(reverse("mri_board")).content.decode()


def test_the_study_page_marks_a_red_flag_case_in_its_heading(signed_in, neuroradiologist, pathway):
    flagged = pathway.mri(pathway.imaging(red_flags=["papilloedema"]))
    plain = pathway.mri(pathway.imaging())
    client = signed_in(neuroradiologist)
    heading = client.get(reverse("reading", args=[flagged.pk])).content.decode().split("</h1>")[0]
    assert MARKER in heading
    assert MARKER not in client.get(reverse("reading", args=[plain.pk])).content.decode().split("</h1>")[0]
