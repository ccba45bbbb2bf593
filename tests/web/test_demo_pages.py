"""What a clinician signing in to the demo finds of working together on a case (referrals/demo_together.py,
issue 18): read from the pages, as each demo user sees them."""

import html
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from referrals.models import Referral

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def demo(client):
    call_command("seed_demo", "--force", verbosity=0)

    def page(username: str, path: str) -> str:
        client.force_login(get_user_model().objects.get(username=username))
        response = client.get(path)
        assert response.status_code == 200, path
        return words(response.content.decode())

    return page


def words(page: str) -> str:
    """The page's text as read on screen: no tags, one space between words; a video player as "[video]"."""
    page = re.sub(r"<video\b", "[video]<video", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def reference(mrn: str) -> str:
    """The case number of the demo child with this MRN (CP-… follows the database's sequence)."""
    return Referral.objects.get(patient__mrn=mrn).reference


def case_url(mrn: str) -> str:
    return f"/cases/{Referral.objects.get(patient__mrn=mrn).pk}/"


def test_the_neurologists_my_work_holds_the_mdt_step_a_delegated_step_and_a_snoozed_one(demo):
    page = demo("dr.patel", "/work/")

    assert "Give the botulinum toxin the MDT decided and record its date" in page  # Zara's, from the MDT
    assert "Wei Li 's steps show in your My work from" in page and "Annual leave" in page  # her name in bold
    assert "Delegated to you" in page  # Ethan's review, given to Dr Li before she went away
    snoozed = page.split("Out of the list above until their time", 1)[1].split("Away: delegate my work", 1)[0]
    assert reference("DEMO0017") in snoozed  # Ella's results review, back after next week's MDT


def test_the_case_page_shows_the_reason_a_step_was_given_on_and_the_note_naming_a_colleague(demo):
    page = demo("dr.patel", case_url("DEMO0003"))

    assert "“Review: child was not brought” given to Wei Li (was the queue)" in page
    assert "Dr Li knows the family from the tic clinic" in page
    assert "@dr.patel could you offer him a place at Thursday's clinic?" in page


def test_graces_case_has_the_amended_note_the_letter_and_the_familys_video(demo):
    page = demo("dr.patel", case_url("DEMO0004"))

    assert "the left eye (not the right, as I first wrote)" in page
    assert "Referral letter from Dr Khan" in page
    assert "Left eye and cheek, after school" in page and "[video]" in page


def test_avas_case_shows_the_upload_link_sent_to_her_family_and_not_used_yet(demo):
    page = demo("dr.osei", case_url("DEMO0002"))

    assert "Waiting for the family" in page and "Link made by Kwame Osei" in page and "shown to copy" in page


def test_the_referrer_mentioned_in_a_note_finds_it_in_notifications(demo):
    page = demo("dr.khan", "/notifications/")

    assert f"Priya Patel mentioned you in a note on {reference('DEMO0004')}" in page


def test_next_weeks_mdt_lists_two_cases_and_the_past_one_its_signed_decisions(demo):
    meetings = demo("dr.li", "/mdt/")
    from referrals.mdt.models import MDTMeeting

    upcoming, past = MDTMeeting.objects.order_by("-starts_at")
    coming = demo("dr.li", f"/mdt/{upcoming.pk}/")
    held = demo("dr.li", f"/mdt/{past.pk}/")

    assert "Coming up" in meetings and "2 cases" in meetings.split("Coming up", 1)[1].split("Plan a meeting", 1)[0]
    assert "watchful waiting or toxin?" in coming and "Repeat MRI, or MVD opinion?" in coming
    assert "Botulinum toxin" in held and "signed by" in held.lower()


def test_follow_up_due_missed_and_a_reopened_case(demo):
    ruby = demo("dr.patel", case_url("DEMO0014"))
    amber = demo("dr.patel", case_url("DEMO0037"))

    assert "Re-dose review" in ruby and "Follows on from the case's last step (the case was reopened)." in ruby
    assert "now pulling the mouth" in ruby  # the reopening's reason
    assert "missed: review opened" in amber and "Review: child was not brought" in amber


def test_seed_demo_prints_avas_family_link_which_opens_the_family_page(client):
    out = io.StringIO()
    call_command("seed_demo", "--force", stdout=out)

    path = re.search(r"upload link \(shown once\): http://[^/]+(/family/upload/[^/\s]+/)", out.getvalue()).group(1)
    page = words(client.get(path).content.decode())
    assert "Send a video of Ava" in page
