"""The referrer's closed loop in a real Chromium (issue 13, "Done means"): a red-flag referral carried
end to end through the web UI, and at each step that concerns the referring pediatrician they sign in
and find it on their Notifications page and on My referrals (where it is, who holds it, whether it
waits on them).

Every step is driven through the pages (the case page, the reading page, the MRI board); nothing is
set up through services. The steps: the pediatrician refers a child with a red flag (asap); neurology
returns it with a question, the pediatrician answers on the case page; neurology triages (asap),
assesses and requests an MRI; the neuroradiologist protocols it; the coordinator books it (the
referrer is told the date) and records the scan; the neuroradiologist signs an urgent report (the
referrer is told neurology has it, not what it says); neurology acknowledges the result and
concludes (the referrer gets the outcome letter); the pediatrician acknowledges and the loop
closes."""

from datetime import timedelta

import pytest
from django.utils import dateformat, timezone

from referrals.models import Referral

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMPRESSION = "Left AICA loop indents the root exit zone; small cerebellopontine cyst."


def action(machine: str, pk: int, name: str) -> str:
    return f"action-{machine}-{pk}-{name.replace('_', '-')}"


def my_referrals_row(browser, referral) -> str:
    """The text of the case's row on My referrals."""
    browser.go("/referrals/mine/")
    row = browser.d.find_element("css selector", f'tr[data-case="{referral.reference}"]')
    return row.text


def first_notification(browser) -> str:
    """The newest notification's text on the Notifications page."""
    browser.go("/notifications/")
    return browser.d.find_element("css selector", "main table tbody tr").text


def sign(browser, scope_id: str, **fields) -> None:
    """Fill an action form and submit it, ticking a signing confirmation if the form asks for one."""
    details = browser.open_action(scope_id)
    for name, value in fields.items():
        browser.fill(details, name.replace("__", "."), value)
    for box in details.find_elements("css selector", 'input[type=checkbox][name*="confirm"]'):
        if not box.is_selected():
            box.click()
    browser.submit(details)


def test_the_referrer_follows_a_red_flag_referral_from_submission_to_the_closed_loop(
    browser, pediatrician, neurologist, neuroradiologist, coordinator
):
    # pediatrician: a new child with a red flag, referred as asap
    browser.sign_in(pediatrician)
    form = browser.fill_new_referral(
        "LOOP0001", reason="Left eye twitching for 4 months, now with facial weakness.", requested_priority="asap"
    )
    browser.submit(form.find_elements("css selector", "section")[-1])
    referral = Referral.objects.get()
    assert referral.red_flags == ["facial_weakness"]
    row = my_referrals_row(browser, referral)
    assert "Waiting for neurology to triage it" in row and "Neurology (queue)" in row and "Awaiting" not in row

    # neurologist: a question back to the referrer
    browser.sign_in(neurologist)
    browser.go(f"/cases/{referral.pk}/")
    browser.act(action("referral", referral.pk, "return_to_referrer"), reason="Is the weakness new since onset?")
    referral.refresh_from_db()
    assert referral.state == "returned", browser.text()

    # pediatrician: told, marked as awaiting their answer; answers on the case page
    browser.sign_in(pediatrician)
    note = first_notification(browser)
    assert f"Question from neurology: {referral.reference}" in note and "weakness new since onset" in note
    row = my_referrals_row(browser, referral)
    assert "Neurology asked you a question" in row and "Awaiting your answer" in row and "You" in row
    browser.go(f"/cases/{referral.pk}/")
    browser.act(action("referral", referral.pk, "resubmit"), response="Yes: new in the last two weeks.")
    referral.refresh_from_db()
    assert referral.state == "submitted", browser.text()
    assert "Awaiting" not in my_referrals_row(browser, referral)

    # neurologist: triage (asap, as the red flag requires), assessment, MRI request
    browser.sign_in(neurologist)
    browser.go(f"/cases/{referral.pk}/")
    browser.act(action("referral", referral.pk, "triage"), priority="asap")
    browser.act(
        action("referral", referral.pk, "record_assessment"),
        findings="Clonic twitching of the left eye and cheek; mild lower facial weakness.",
        working_diagnosis="hfs_secondary",
        brow_lift_sign="true",
        severity__scale="smc",
        severity__score="2",
        mri_indicated="true",
    )
    browser.act(
        action("referral", referral.pk, "request_mri"),
        clinical_question="Lesion or NVC of the left facial nerve?",
        suspected_lesion="true",
    )
    referral.refresh_from_db()
    assert referral.state == "imaging", browser.text()
    mri = referral.mri_requests.get()

    browser.sign_in(pediatrician)
    row = my_referrals_row(browser, referral)
    assert "MRI requested; the radiologist is planning the scan" in row and "Neuroradiology (queue)" in row

    # neuroradiologist: protocol from the reading page
    browser.sign_in(neuroradiologist)
    browser.go(f"/mri/reading/{mri.pk}/")
    browser.act(action("mri", mri.pk, "protocol"), protocol="cpa_t2_tof_gd", contrast="true", duration_minutes="60")

    # coordinator: book the scan from the board
    browser.sign_in(coordinator)
    browser.go("/mri/board/")
    # two minutes from now: the scan is then recorded at its booked time, never before its day
    start = (timezone.localtime() + timedelta(minutes=2)).replace(second=0, microsecond=0)
    at = start.strftime("%H:%M")
    browser.act(
        action("mri", mri.pk, "schedule"), scheduled_start=start.strftime("%Y-%m-%dT%H:%M"), location="Scanner 2"
    )
    mri.refresh_from_db()
    assert mri.state == "scheduled", browser.text()

    # pediatrician: told the date and local time; My referrals says when
    browser.sign_in(pediatrician)
    note = first_notification(browser)
    assert f"MRI booked: {referral.reference}" in note and at in note and "Europe/London" in note
    row = my_referrals_row(browser, referral)
    assert f"MRI booked for {dateformat.format(start, 'D j M Y')} {at}" in row
    assert "Imaging coordinators (queue)" in row

    # coordinator: the scan is done
    browser.sign_in(coordinator)
    browser.go("/mri/board/")
    browser.act(
        action("mri", mri.pk, "mark_performed"),
        accession_number="ACC-LOOP-1",
        performed_at=start.strftime("%Y-%m-%dT%H:%M"),
    )
    mri.refresh_from_db()
    assert mri.state == "performed", browser.text()

    # neuroradiologist: an urgent structured report
    browser.sign_in(neuroradiologist)
    browser.go(f"/mri/reading/{mri.pk}/")
    sign(
        browser,
        action("mri", mri.pk, "sign_report"),
        findings__nvc__status="present",
        findings__nvc__side="left",
        findings__nvc__vessel="aica",
        findings__nvc__segment="root_exit_point",
        findings__nvc__severity="indentation",
        findings__lesion__present="false",
        findings__arachnoid_cyst="true",
        impression=IMPRESSION,
        category="urgent",
    )
    referral.refresh_from_db()
    assert referral.state == "results_review", browser.text()

    # pediatrician: told that neurology has an urgent result, never what the report says
    browser.sign_in(pediatrician)
    note = first_notification(browser)
    assert f"Urgent MRI result sent to neurology: {referral.reference}" in note
    assert "AICA" not in note and "cyst" not in note
    row = my_referrals_row(browser, referral)
    assert "MRI reported; neurology is reviewing the result" in row and "Neurology (queue)" in row

    # neurologist: acknowledge the result, then conclude with the outcome letter
    browser.sign_in(neurologist)
    browser.go(f"/cases/{referral.pk}/")
    banner = browser.d.find_element("css selector", ".banner.critical")
    browser.submit(banner)
    assert not browser.d.find_elements("css selector", ".banner.critical"), browser.text()
    browser.act(
        action("referral", referral.pk, "conclude"),
        diagnosis="hfs_primary",
        plan="botulinum_toxin",
        follow_up="Review in 3 months.",
        letter="Dear Dr Ped, Robin has left hemifacial spasm from an AICA loop; we start botulinum toxin.",
    )
    referral.refresh_from_db()
    assert referral.state == "concluded", browser.text()

    # pediatrician: the outcome letter arrives and waits for their acknowledgement
    browser.sign_in(pediatrician)
    note = first_notification(browser)
    assert f"Outcome letter: {referral.reference}" in note and "we start botulinum toxin" in note
    row = my_referrals_row(browser, referral)
    assert "Outcome letter ready for you" in row and "Awaiting your acknowledgement" in row
    browser.shot("my-referrals-outcome")
    browser.go(f"/cases/{referral.pk}/")
    browser.act(action("referral", referral.pk, "acknowledge"))
    referral.refresh_from_db()
    assert referral.state == "closed", browser.text()
    row = my_referrals_row(browser, referral)
    assert "Closed: outcome acknowledged" in row and "Awaiting" not in row
    browser.go("/referrals/mine/?state=awaiting")
    assert "No referrals match this filter." in browser.text()

    # exactly one message about each of the referrer's steps reached the referrer, and only them
    kinds = list(referral.notifications.filter(kind__startswith="referrer_").values_list("recipient", "kind"))
    assert sorted(kinds) == sorted(
        (pediatrician.pk, f"referrer_{k}") for k in ("returned", "mri_booked", "result_alert", "concluded")
    )
