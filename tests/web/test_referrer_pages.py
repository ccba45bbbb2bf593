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


# --- My referrals --------------------------------------------------------------------------------
def rows_of(page: str) -> list[str]:
    """The case references in the table, in the order shown."""
    import re

    return re.findall(r'<tr data-case="(CP-\d+)">', page)


def test_my_referrals_lists_what_the_referrer_sent_where_it_is_and_who_holds_it(
    signed_in, pathway, pediatrician, neurologist
):
    waiting = pathway.submitted()
    asked = pathway.submitted()
    services.referral_return_to_referrer(referral_id=asked.pk, actor=neurologist, reason="Present in sleep?")
    page = signed_in(pediatrician).get("/referrals/mine/").content.decode()
    assert sorted(rows_of(page)) == sorted([waiting.reference, asked.reference])
    assert "Waiting for neurology to triage it" in page and "Neurology (queue)" in page
    assert "Neurology asked you a question" in page and "Awaiting your answer" in page
    assert '<a href="/referrals/mine/" aria-current="page">My referrals</a>' in page


def test_my_referrals_names_the_person_who_took_the_step_and_marks_an_outcome_to_acknowledge(
    signed_in, pathway, pediatrician, neurologist
):
    from carepath.models import WorkItem
    from carepath.pathway import workitems

    triaged = pathway.triaged()
    item = WorkItem.objects.get(referral=triaged, status="open")
    workitems.work_item_claim(work_item_id=item.pk, actor=neurologist)
    concluded = pathway.concluded()
    page = signed_in(pediatrician).get("/referrals/mine/").content.decode()
    assert neurologist.get_full_name() in page
    assert "Outcome letter ready for you" in page and "Awaiting your acknowledgement" in page
    assert concluded.reference in rows_of(page)


def test_another_pediatrician_does_not_see_my_referrals(signed_in, pathway, other_pediatrician):
    pathway.submitted()
    page = signed_in(other_pediatrician).get("/referrals/mine/").content.decode()
    assert rows_of(page) == [] and "No referrals" in page


def test_neurology_has_no_my_referrals_page_or_link(signed_in, pathway, neurologist):
    pathway.submitted()
    client = signed_in(neurologist)
    assert client.get("/referrals/mine/").status_code == 403
    assert "My referrals" not in client.get("/work/").content.decode()


def test_my_referrals_filters_by_state_and_by_awaiting_you(signed_in, pathway, pediatrician, neurologist):
    open_one = pathway.submitted()
    declined = pathway.submitted()
    asked = pathway.submitted()
    services.referral_decline(referral_id=declined.pk, actor=neurologist, reason="r", advice="a")
    services.referral_return_to_referrer(referral_id=asked.pk, actor=neurologist, reason="q")
    client = signed_in(pediatrician)
    assert rows_of(client.get("/referrals/mine/?state=declined").content.decode()) == [declined.reference]
    assert rows_of(client.get("/referrals/mine/?state=awaiting").content.decode()) == [asked.reference]
    assert sorted(rows_of(client.get("/referrals/mine/?state=open").content.decode())) == sorted(
        [open_one.reference, asked.reference]
    )
    assert "Declined by neurology" in client.get("/referrals/mine/?state=declined").content.decode()


def test_my_referrals_sorts_by_a_column_in_both_directions(signed_in, pathway, pediatrician):
    first = pathway.submitted(patient=None)
    second = pathway.submitted()
    client = signed_in(pediatrician)
    assert rows_of(client.get("/referrals/mine/?sort=case").content.decode()) == [first.reference, second.reference]
    page = client.get("/referrals/mine/?sort=-case").content.decode()
    assert rows_of(page) == [second.reference, first.reference]
    assert 'aria-sort="descending"' in page
    # an unknown column falls back to the default order instead of failing
    assert client.get("/referrals/mine/?sort=password").status_code == 200


def test_my_referrals_sorts_by_due_date_with_finished_cases_last(signed_in, pathway, pediatrician, neurologist):
    routine = pathway.submitted()
    urgent = pathway.submitted(requested_priority="urgent")
    done = pathway.submitted()
    services.referral_decline(referral_id=done.pk, actor=neurologist, reason="r", advice="a")
    order = rows_of(signed_in(pediatrician).get("/referrals/mine/?sort=due").content.decode())
    assert order == [urgent.reference, routine.reference, done.reference]


def test_my_referrals_is_audited_and_runs_a_constant_number_of_queries(
    signed_in, pathway, pediatrician, django_assert_max_num_queries
):
    from carepath.models import AuditLog

    client = signed_in(pediatrician)
    pathway.scheduled()
    client.get("/referrals/mine/")
    for _ in range(4):
        pathway.submitted()
    with django_assert_max_num_queries(12):
        page = client.get("/referrals/mine/").content.decode()
    assert len(rows_of(page)) == 5 and "MRI booked for" in page
    row = AuditLog.objects.filter(action="list", actor=pediatrician).latest("id")
    assert len(row.changes["ids"]) == 5
