"""The referrer's pages (issue 13, items 1 and 2): what neurology decided reaches the notifications
page; My referrals lists every referral they sent, where it is and whether it waits on them."""

import pytest

from referrals import services

pytestmark = pytest.mark.django_db


# --- notifications -------------------------------------------------------------------------------
def test_the_notifications_page_shows_the_referrer_neurologys_reason_and_advice(
    signed_in, referral, pediatrician, neurologist
):
    services.referral_decline(referral_id=referral.pk, actor=neurologist, reason="Eyelid myokymia.", advice="Reassure.")
    page = signed_in(pediatrician).get("/notifications/").content.decode()
    assert f"Referral declined: CP-{referral.pk:06d}" in page
    assert "Eyelid myokymia." in page and "Reassure." in page


def test_another_pediatrician_and_neurology_do_not_see_the_referrers_notification(
    signed_in, client, referral, neurologist, other_pediatrician
):
    services.referral_decline(referral_id=referral.pk, actor=neurologist, reason="Eyelid myokymia.", advice="x")
    for someone in (other_pediatrician, neurologist):
        assert "Eyelid myokymia." not in signed_in(someone).get("/notifications/").content.decode()
        client.logout()
