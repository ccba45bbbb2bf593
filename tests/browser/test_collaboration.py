"""Notes, giving a step on, snoozing, delegating and reopening in a real Chromium, as the roles that
use them (issue 18 items 1 and 3); screenshots in var/screenshots/collab-*.png."""

from datetime import timedelta

import pytest
from django.utils import timezone

from carepath.models import WorkItem, WorkItemKind
from carepath.pathway import delegation
from referrals import notes
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_neurologist_writes_a_note_mentions_and_gives_a_step_away(browser, pathway, colleague):
    case = pathway.submitted()
    notes.note_add(referral_id=case.pk, actor=pathway.neuro, text="Mum will send a video of the spasm.")
    browser.sign_in(pathway.neuro)
    browser.go(f"/cases/{case.pk}/")

    form = browser.d.find_element("css selector", "form.note-form")
    browser.fill(form, "text", "Video received: clonic spasm of the left eye. @dr_colleague please look.")
    browser.submit(form)
    assert "Note added." in browser.text()

    item = WorkItem.objects.get(referral=case, kind=WorkItemKind.TRIAGE)
    details = browser.d.find_element("css selector", f"#give-{item.pk} form")
    browser.d.execute_script("arguments[0].closest('details').open = true", details)
    browser.fill(details, "to", "dr_colleague")
    browser.fill(details, "reason", "She runs the tic clinic this week.")
    browser.submit(details)
    text = browser.text()
    assert "given to Ada Quinn (was the queue)" in text and "She runs the tic clinic" in text
    browser.d.execute_script("document.querySelectorAll('details.action').forEach(d => d.open = true)")
    browser.shot("collab-case-neurologist")


def test_the_referrer_reads_notes_but_has_no_step_forms(browser, pathway):
    case = pathway.submitted()
    notes.note_add(referral_id=case.pk, actor=pathway.neuro, text="Triage tomorrow morning.")
    browser.sign_in(pathway.ped)
    browser.go(f"/cases/{case.pk}/")
    text = browser.text()
    assert "Triage tomorrow morning." in text and "Give this step to a colleague" not in text
    browser.shot("collab-case-pediatrician")


def test_my_work_with_a_snoozed_step_and_a_delegation(browser, pathway, colleague):
    snoozed, delegated = pathway.submitted(), pathway.submitted()
    from carepath.pathway import workitems_handover

    first = WorkItem.objects.get(referral=snoozed, kind=WorkItemKind.TRIAGE)
    workitems_handover.work_item_snooze(
        work_item_id=first.pk, actor=pathway.neuro, until=timezone.now() + timedelta(hours=20), reason="Video"
    )
    factories.claim_triage(pathway.neuro, delegated)
    today = timezone.localdate()
    delegation.delegation_create(actor=pathway.neuro, to="dr_colleague", starts_on=today, ends_on=today)

    browser.sign_in(pathway.neuro)
    browser.go("/work/")
    browser.d.execute_script("document.querySelectorAll('details.action').forEach(d => d.open = true)")
    assert "Snoozed" in browser.text() and "steps show in Ada Quinn" in browser.text()
    browser.shot("collab-my-work-neurologist")

    browser.sign_in(colleague)
    browser.go("/work/")
    assert "Delegated to you" in browser.text()
    browser.shot("collab-my-work-delegate")


def test_a_neurologist_reopens_a_closed_case(browser, pathway):
    from referrals import services
    from referrals.samples import CONCLUSION
    from tests.browser.conftest import reported

    case = reported(pathway, "routine")  # with commits on, the report's signal moves the case on
    services.referral_conclude(referral_id=case.pk, actor=pathway.neuro, **CONCLUSION)
    services.referral_acknowledge(referral_id=case.pk, actor=pathway.ped)
    browser.sign_in(pathway.neuro)
    browser.go(f"/cases/{case.pk}/")
    browser.act(f"action-referral-{case.pk}-reopen", reason="Twitching is back, now with facial weakness.")
    text = browser.text()
    assert "Done: Reopen the case." in text and "Follows on from the case's last step" in text
    browser.shot("collab-case-reopened")


def test_a_refused_snooze_shows_its_error_beside_the_time_with_what_was_typed(browser, pathway):
    """A time in the past: the case page comes back with the Snooze form open, its summary focused and
    linking to the field, the message beside it, the reason as typed; axe finds nothing serious."""
    from selenium.webdriver.common.by import By

    from tests.browser.test_accessibility import serious_violations

    case = pathway.submitted()
    item = WorkItem.objects.get(referral=case, kind=WorkItemKind.TRIAGE)
    browser.sign_in(pathway.neuro)
    browser.go(f"/cases/{case.pk}/")
    snooze = browser.open_action(f"snooze-{item.pk}")
    past = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    browser.d.execute_script(f"document.getElementById('snooze-{item.pk}-until').value = '{past}'")
    browser.fill(snooze, "reason", "Waiting for the family's video")
    browser.submit(snooze.find_element(By.TAG_NAME, "form"))

    assert browser.d.switch_to.active_element.get_attribute("class") == "error-summary-title"
    browser.d.find_element(By.CSS_SELECTOR, f"#snooze-{item.pk} .error-summary a").click()
    assert browser.d.switch_to.active_element.get_attribute("id") == f"snooze-{item.pk}-until"
    beside = browser.d.find_element(By.ID, f"snooze-{item.pk}-until_error").text
    assert beside == "Choose a time in the future."
    assert (
        browser.d.find_element(By.ID, f"snooze-{item.pk}-reason").get_attribute("value")
        == "Waiting for the family's video"
    )
    item.refresh_from_db()
    assert item.snoozed_until is None
    browser.shot("collab-snooze-refused")
    assert not serious_violations(browser)
