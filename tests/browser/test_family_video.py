"""A family sends a video of the twitching through the link a neurologist made, on a phone-sized
page, without signing in; the neurologist then watches it on the case page: the video element
loads (its metadata: a duration) from our own access-checked, range-serving view, under the CSP."""

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from carepath.models import AuditLog
from referrals.attachments import video
from referrals.attachments.models import Attachment
from tests.factories import make_referral

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = (390, 844)


def test_a_family_uploads_a_video_by_link_and_the_neurologist_watches_it(browser, pediatrician, neurologist, tmp_path):
    referral = make_referral(pediatrician)
    clip = tmp_path / "spasm.webm"
    clip.write_bytes(video.sample("webm", seconds=3))

    # the neurologist asks the family for a video and, the family being with them, copies the link
    browser.sign_in(neurologist)
    browser.go(f"/cases/{referral.pk}/")
    browser.open_action("ask-family").find_element("css selector", 'button[name="copy"]').click()
    link = browser.d.find_element("id", "upload-link").get_attribute("value")
    assert "/family/upload/" in link

    # the family, signed out, on a phone
    browser.d.delete_all_cookies()
    browser.d.set_window_size(*PHONE)
    browser.d.get(link)
    assert "Send a video of Alex's twitching" in browser.text() and "Morgan" not in browser.text()
    assert browser.d.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]  # no sideways scroll
    browser.d.save_screenshot(str(_shots() / "family-upload-phone.png"))
    form = browser.d.find_element("id", "family-upload")
    form.find_element("id", "family-file").send_keys(str(clip))
    form.find_element("id", "family-title").send_keys("Left eye, after school")
    browser.submit(form)
    assert "Thank you" in browser.text()
    browser.d.save_screenshot(str(_shots() / "family-upload-done-phone.png"))
    browser.d.get(link)
    assert "This link no longer works" in browser.text()
    browser.d.set_window_size(1280, 1000)

    # the neurologist watches it on the case page
    attachment = Attachment.objects.get(referral=referral)
    assert attachment.from_family and attachment.duration_seconds == pytest.approx(3.0, abs=0.3)
    browser.sign_in(neurologist)
    browser.go(f"/cases/{referral.pk}/#attachments")
    assert "The family sent a video: Left eye, after school" in browser.text()
    player = browser.d.find_element("id", f"attachment-{attachment.pk}")
    WebDriverWait(browser.d, 15).until(lambda d: d.execute_script("return arguments[0].readyState", player) >= 1)
    duration = browser.d.execute_script("return arguments[0].duration", player)
    assert duration == pytest.approx(3.0, abs=0.3)
    assert browser.d.execute_script("return arguments[0].error", player) is None
    browser.d.execute_script("arguments[0].currentTime = 2", player)  # a seek: a byte-range request
    WebDriverWait(browser.d, 15).until(lambda d: d.execute_script("return arguments[0].readyState", player) >= 2)
    assert AuditLog.objects.filter(
        action="view", object_type="referrals.attachment", object_id=str(attachment.pk), actor=neurologist
    ).exists()
    violations = [e for e in browser.d.get_log("browser") if "Content Security Policy" in e["message"]]
    assert violations == []
    browser.shot("case-with-family-video-neurologist")


def _shots():
    from tests.browser.conftest import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


def test_the_neurologist_sends_the_link_by_email_and_the_family_opens_it(browser, pediatrician, neurologist):
    """The link never shown to the clinician: CarePath e-mails it (the worker runs in process here),
    the case page lists it as waiting, and the family opens the e-mail's link on a phone."""
    import re

    from django.core import mail

    referral = make_referral(pediatrician)
    browser.sign_in(neurologist)
    browser.go(f"/cases/{referral.pk}/")
    form = browser.open_action("ask-family")
    assert "Sam Carer (mother), by SMS to +447700900123 and e-mail to sam.carer@example.org" in form.text
    browser.submit(form)  # "Send the link": the first reachable carer is chosen
    assert "Upload link sent to Sam Carer by SMS and e-mail" in browser.text()
    assert "sent to Sam Carer by SMS (sent) and e-mail (sent)" in browser.text()
    assert not browser.d.find_elements("id", "upload-link")  # nothing to copy: the family has it
    browser.shot("case-upload-link-sent-neurologist")

    (message,) = mail.outbox
    link = re.search(r"https?://\S+/family/upload/\S+/", message.body).group(0)
    browser.d.delete_all_cookies()
    browser.d.set_window_size(*PHONE)
    browser.go("/family/" + link.split("/family/", 1)[1])  # the e-mail's address, on the test server
    assert "Send a video of Alex's twitching" in browser.text()
    browser.d.set_window_size(1280, 1000)
