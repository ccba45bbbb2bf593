"""One case carried from referral to a closed loop through the UI by five users (pediatrician, neurologist,
neuroradiologist, imaging coordinator, neurosurgeon), in a real Chromium."""

from datetime import timedelta

import pytest
from django.utils import timezone

from referrals.models import Referral

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def case_action(referral, name, machine="referral", obj=None):
    return f"action-{machine}-{obj or referral.pk}-{name.replace('_', '-')}"


def test_a_case_goes_from_referral_to_closed_loop_through_the_ui(
    browser, pediatrician, neurologist, neuroradiologist, coordinator, neurosurgeon
):
    browser.d.delete_all_cookies()
    browser.go("/login/")
    browser.shot("sign-in")

    # pediatrician: a new child, with a red flag
    browser.sign_in(pediatrician)
    browser.shot("my-work-pediatrician")
    form = browser.fill_new_referral("BR0001")
    # ticking a red flag selected ASAP and showed why, beside the priority
    assert form.find_element("css selector", '[name="requested_priority"][value="asap"]').is_selected()
    assert browser.d.find_element("id", "red-flag-priority-note").is_displayed()
    browser.shot("new-referral")
    browser.submit(form.find_elements("css selector", "section")[-1])
    referral = Referral.objects.get()
    assert referral.reference in browser.text()

    # neurologist: a routine triage of a red-flag referral is refused with the reason beside it
    browser.sign_in(neurologist)
    browser.go(f"/cases/{referral.pk}/")
    browser.act(case_action(referral, "triage"), priority="routine")
    assert "red flag" in browser.text()
    browser.shot("case-refused-triage")
    browser.act(case_action(referral, "triage"), priority="asap")
    browser.act(
        case_action(referral, "record_assessment"),
        findings="Clonic twitching, left eye and cheek.",
        working_diagnosis="hfs_primary",
        brow_lift_sign="true",
        severity__scale="smc",
        severity__score="2",
        mri_indicated="true",
    )
    browser.act(case_action(referral, "request_mri"), clinical_question="NVC of the left facial nerve?")
    referral.refresh_from_db()
    assert referral.state == "imaging", browser.text()
    mri = referral.mri_requests.get()

    # neuroradiologist: protocol from the reading queue
    browser.sign_in(neuroradiologist)
    browser.go(f"/mri/reading/{mri.pk}/")
    browser.act(case_action(None, "protocol", "mri", mri.pk), protocol="cpa_t2_tof", duration_minutes="45")

    # coordinator: schedule and record the scan from the board
    browser.sign_in(coordinator)
    browser.go("/mri/board/")
    # a slot about to start, and the scan recorded at its time (an earlier day would need a reason)
    start = (timezone.localtime() + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M")
    browser.act(case_action(None, "schedule", "mri", mri.pk), scheduled_start=start, location="Scanner 2")
    assert "schedule the scan — done" in browser.text().lower()
    browser.shot("mri-board")
    browser.act(
        case_action(None, "mark_performed", "mri", mri.pk),
        accession_number="ACC-BR-1",
        performed_at=start,
    )

    # neuroradiologist: the structured report
    browser.sign_in(neuroradiologist)
    browser.go("/mri/reading/")
    browser.shot("reading-queue")
    browser.go(f"/mri/reading/{mri.pk}/")
    browser.shot("reading-study")
    browser.act(
        case_action(None, "sign_report", "mri", mri.pk),
        **{
            "findings__nvc__status": "present",
            "findings__nvc__side": "left",
            "findings__nvc__vessel": "aica",
            "findings__nvc__segment": "root_exit_point",
            "findings__nvc__severity": "indentation",
            "findings__lesion__present": "false",
            "impression": "Left AICA indents the root exit zone.",
            "category": "routine",
            "confirm": "yes",  # "I have checked … and sign this report"
        },
    )
    referral.refresh_from_db()
    assert referral.state == "results_review"

    # neurologist: ask neurosurgery whether the child is a candidate for decompression
    browser.sign_in(neurologist)
    browser.go(f"/cases/{referral.pk}/")
    browser.act(case_action(referral, "refer_neurosurgery"), question="Candidate for microvascular decompression?")
    referral.refresh_from_db()
    assert referral.state == "neurosurgery", browser.text()

    # neurosurgeon: finds the consult in My work and answers it on the case page
    browser.sign_in(neurosurgeon)
    assert referral.reference in browser.text()
    browser.shot("my-work-neurosurgeon")
    browser.go(f"/cases/{referral.pk}/")
    browser.shot("case-consult")
    browser.act(
        case_action(referral, "record_consult"),
        recommendation="observe",
        note="Mild spasm; toxin first, reconsider decompression if it fails.",
    )
    referral.refresh_from_db()
    assert referral.state == "results_review", browser.text()
    assert referral.consults.get().answered_by == neurosurgeon

    # neurologist: conclude with the outcome letter
    browser.sign_in(neurologist)
    browser.go(f"/cases/{referral.pk}/")
    assert "toxin first" in browser.text()
    browser.act(
        case_action(referral, "conclude"),
        diagnosis="hfs_primary",
        plan="botulinum_toxin",
        follow_up="Review in 3 months.",
        letter="Dear colleague, Robin has hemifacial spasm.",
    )
    browser.go("/dashboard/")
    browser.shot("dashboard")

    # pediatrician: acknowledge, closing the loop
    browser.sign_in(pediatrician)
    browser.go("/notifications/")
    browser.shot("notifications")
    browser.go(f"/cases/{referral.pk}/")
    browser.shot("case-concluded")
    browser.act(case_action(referral, "acknowledge"))
    referral.refresh_from_db()
    assert referral.state == "closed"
    assert "Closed" in browser.text()


def test_a_form_error_keeps_what_was_typed(browser, pediatrician):
    browser.sign_in(pediatrician)
    browser.go("/referrals/new/?mrn=BR0002")
    form = browser.d.find_element("id", "referral-form")
    for name, value in {
        "given_name": "Sam",
        "family_name": "Lee",
        "birth_date": "2018-01-01",
        "guardian-0-name": "Ali Lee",
        "guardian-0-relationship": "mother",
        "guardian-0-email": "ali@example.org",
        "reason": "Twitching.",
        "symptom_onset": "2099-01-01",
        "first_muscle": "orbicularis_oculi",
        "side": "right",
        "requested_priority": "routine",
        "clinical_notes": "Please keep me",
    }.items():
        browser.fill(form, name, value)
    browser.submit(form.find_elements("css selector", "section")[-1])

    assert "Symptom onset cannot be in the future." in browser.text()
    assert browser.d.find_element("name", "given_name").get_attribute("value") == "Sam"
    assert browser.d.find_element("name", "clinical_notes").get_attribute("value") == "Please keep me"
    assert not Referral.objects.exists()
