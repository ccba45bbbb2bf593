"""The case page's Give / Snooze forms, the Reopen button, and My work's delegation (issue 18 item 3)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from carepath.models import CaseEvent, WorkItem, WorkItemKind
from carepath.pathway import delegation
from tests import factories

pytestmark = pytest.mark.django_db


def triage_of(referral) -> WorkItem:
    return WorkItem.objects.get(referral=referral, kind=WorkItemKind.TRIAGE)


def test_the_case_page_offers_give_and_snooze_to_neurology_not_to_the_referrer(
    signed_in, referral, neurologist, colleague, pediatrician
):
    neuro_page = signed_in(neurologist).get(f"/cases/{referral.pk}/").content.decode()
    ped_page = signed_in(pediatrician).get(f"/cases/{referral.pk}/").content.decode()

    assert "Give this step to a colleague" in neuro_page and "Ada Quinn (dr_colleague)" in neuro_page
    assert "Snooze this step" in neuro_page
    assert "Give this step to a colleague" not in ped_page and "Snooze this step" not in ped_page


def test_giving_a_step_on_the_page_puts_it_on_the_timeline(signed_in, referral, neurologist, colleague):
    client = signed_in(neurologist)
    item = triage_of(referral)

    response = client.post(
        f"/work/{item.pk}/reassign/",
        {"to": "dr_colleague", "reason": "Tic clinic.", "next": f"/cases/{referral.pk}/"},
        follow=True,
    )

    page = response.content.decode()
    assert "“Triage the referral” given to Ada Quinn (was the queue)" in page and "Tic clinic." in page


def test_a_refused_snooze_says_why(signed_in, referral, neurologist):
    item = triage_of(referral)
    past = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    response = signed_in(neurologist).post(
        f"/work/{item.pk}/snooze/", {"until": past, "next": f"/cases/{referral.pk}/"}, follow=True
    )

    assert "Choose a time in the future." in response.content.decode()
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.SNOOZED).exists()


def test_an_outsider_cannot_touch_a_step(signed_in, referral, outsider):
    assert (
        signed_in(outsider).post(f"/work/{triage_of(referral).pk}/snooze/", {"until": "2030-01-01T10:00"}).status_code
        == 404
    )


def test_my_work_shows_a_colleagues_delegated_step_marked(signed_in, referral, neurologist, colleague):
    factories.claim_triage(neurologist, referral)
    today = timezone.localdate()
    delegation.delegation_create(actor=neurologist, to="dr_colleague", starts_on=today, ends_on=today)

    page = signed_in(colleague).get("/work/").content.decode()

    assert "Delegated to you" in page and "steps show in your My work" in page


def test_delegating_from_my_work(signed_in, neurologist, colleague):
    today = timezone.localdate().isoformat()
    response = signed_in(neurologist).post(
        "/work/delegations/", {"to": "dr_colleague", "starts_on": today, "ends_on": today}, follow=True
    )
    assert "the steps you hold show in Ada Quinn" in response.content.decode()


def test_a_closed_case_offers_reopen_to_a_neurologist_only(signed_in, pathway):
    case = pathway.closed()
    assert "Reopen the case" in signed_in(pathway.neuro).get(f"/cases/{case.pk}/").content.decode()
    assert "Reopen the case" not in signed_in(pathway.ped).get(f"/cases/{case.pk}/").content.decode()
