"""Notes on the case page (templates/referrals/_notes.html): written, amended, shown, refused with words."""

import pytest

from carepath.models import Notification
from referrals import notes
from referrals.models import CaseNote

pytestmark = pytest.mark.django_db


def test_a_neurologist_adds_a_note_and_sees_it_on_the_page_and_timeline(signed_in, referral, neurologist, colleague):
    client = signed_in(neurologist)

    response = client.post(f"/cases/{referral.pk}/", {"machine": "note", "text": "@dr_colleague please review."})
    page = client.get(f"/cases/{referral.pk}/").content.decode()

    assert response.status_code == 302
    assert page.count("@dr_colleague please review.") >= 2  # the notes, the timeline (and the amend box)
    assert "Note (neurologist)" in page
    assert Notification.objects.filter(recipient=colleague, kind="note_mention").exists()


def test_the_author_amends_their_note_and_both_stay_visible(signed_in, referral, neurologist):
    first = notes.note_add(referral_id=referral.pk, actor=neurologist, text="Left side.")
    client = signed_in(neurologist)

    client.post(f"/cases/{referral.pk}/", {"machine": "note", "text": "Right side.", "amends": first.pk})
    page = client.get(f"/cases/{referral.pk}/").content.decode()

    assert "Left side." in page and "Right side." in page and "Corrected" in page and "Note amended" in page


def test_a_colleague_is_not_offered_to_amend_someone_elses_note(signed_in, referral, neurologist, colleague):
    notes.note_add(referral_id=referral.pk, actor=neurologist, text="Left side.")

    page = signed_in(colleague).get(f"/cases/{referral.pk}/").content.decode()

    assert "Amend this note" not in page and "Add a note" in page


def test_an_empty_note_is_refused_beside_the_box(signed_in, referral, neurologist):
    response = signed_in(neurologist).post(f"/cases/{referral.pk}/", {"machine": "note", "text": "  "})

    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert not CaseNote.objects.exists()


def test_the_referrer_reads_notes_and_an_outsider_gets_404(signed_in, referral, neurologist, pediatrician, outsider):
    notes.note_add(referral_id=referral.pk, actor=neurologist, text="Booked for clinic.")

    assert "Booked for clinic." in signed_in(pediatrician).get(f"/cases/{referral.pk}/").content.decode()
    assert signed_in(outsider).post(f"/cases/{referral.pk}/", {"machine": "note", "text": "x"}).status_code == 404
