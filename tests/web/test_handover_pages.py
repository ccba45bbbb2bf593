"""The case page's Give / Snooze forms, the Reopen button, and My work's delegation (issue 18 item 3)."""

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from carepath.models import CaseEvent, Delegation, WorkItem, WorkItemKind
from carepath.pathway import delegation
from referrals import services
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
        f"/cases/{referral.pk}/",
        {"machine": "reassign", "work_item": item.pk, "to": "dr_colleague", "reason": "Tic clinic."},
        follow=True,
    )

    page = response.content.decode()
    assert "“Triage the referral” given to Ada Quinn (was the queue)" in page and "Tic clinic." in page


def error_beside(page: str, field_id: str) -> str:
    """The error shown beside the input `field_id` (Django's `<id>_error`, which the input points to)."""
    match = re.search(rf'<p class="error" id="{field_id}_error">([^<]*)</p>', page)
    assert match, f"no error beside {field_id}"
    assert f"{field_id}_error" in input_tag(page, field_id)  # the input's aria-describedby names it
    return html.unescape(match.group(1))


def input_tag(page: str, field_id: str) -> str:
    return re.search(rf'<(?:input|select|textarea)[^>]*id="{field_id}"[^>]*>', page).group(0)


def test_a_snooze_time_in_the_past_is_refused_beside_the_field_and_keeps_what_was_typed(
    signed_in, referral, neurologist
):
    item = triage_of(referral)
    past = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    response = signed_in(neurologist).post(
        f"/cases/{referral.pk}/", {"machine": "snooze", "work_item": item.pk, "until": past, "reason": "Video"}
    )

    page = response.content.decode()
    assert response.status_code == 422
    assert error_beside(page, f"snooze-{item.pk}-until") == "Choose a time in the future."
    assert f'value="{past}"' in input_tag(page, f"snooze-{item.pk}-until")
    assert 'aria-invalid="true"' in input_tag(page, f"snooze-{item.pk}-until")
    assert 'value="Video"' in input_tag(page, f"snooze-{item.pk}-reason")
    assert f'<details class="action" id="snooze-{item.pk}" open>' in page
    assert "There is a problem: nothing was saved" in page
    item.refresh_from_db()
    assert item.snoozed_until is None and item.assigned_to is None
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.SNOOZED).exists()


def test_a_snooze_time_that_is_not_a_time_is_refused_beside_the_field(signed_in, referral, neurologist):
    item = triage_of(referral)

    response = signed_in(neurologist).post(
        f"/cases/{referral.pk}/", {"machine": "snooze", "work_item": item.pk, "until": "next Tuesday"}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert error_beside(page, f"snooze-{item.pk}-until").startswith("Give the date and time the step should come back")
    assert 'value="next Tuesday"' in input_tag(page, f"snooze-{item.pk}-until")
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.SNOOZED).exists()


def test_giving_a_step_to_someone_without_the_role_is_refused_beside_the_colleague(
    signed_in, referral, neurologist, colleague, pediatrician
):
    item = triage_of(referral)

    response = signed_in(neurologist).post(
        f"/cases/{referral.pk}/",
        {"machine": "reassign", "work_item": item.pk, "to": "dr_ped", "reason": "Knows the family."},
    )

    page = response.content.decode()
    assert response.status_code == 422
    assert "is not a neurologist: this step is for the neurologist queue." in error_beside(page, f"give-{item.pk}-to")
    assert "Knows the family.</textarea>" in page  # the reason as typed
    assert f'<details class="action" id="give-{item.pk}" open>' in page
    item.refresh_from_db()
    assert item.assigned_to is None
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.REASSIGNED).exists()


def test_giving_a_step_without_a_reason_asks_for_one_beside_the_box(signed_in, referral, neurologist, colleague):
    item = triage_of(referral)

    response = signed_in(neurologist).post(
        f"/cases/{referral.pk}/", {"machine": "reassign", "work_item": item.pk, "to": "dr_colleague", "reason": ""}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert error_beside(page, f"give-{item.pk}-reason").startswith("Say why you give this step to a colleague")
    assert '<option value="dr_colleague" selected>' in page  # the colleague as chosen
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.REASSIGNED).exists()


def test_snoozing_a_step_finished_meanwhile_says_so_above_the_case(signed_in, referral, neurologist):
    item = triage_of(referral)
    services.referral_triage(referral_id=referral.pk, actor=neurologist, priority="routine")  # done meanwhile

    response = signed_in(neurologist).post(
        f"/cases/{referral.pk}/", {"machine": "snooze", "work_item": item.pk, "until": "2030-01-01T10:00"}
    )

    page = html.unescape(response.content.decode())
    assert response.status_code == 409
    assert "Nothing was changed. This step is already finished." in " ".join(re.sub(r"<[^>]+>", " ", page).split())
    item.refresh_from_db()
    assert item.snoozed_until is None


def test_a_step_of_another_case_is_not_found(signed_in, referral, neurologist, pediatrician):
    other = factories.make_referral(pediatrician)
    response = signed_in(neurologist).post(
        f"/cases/{referral.pk}/", {"machine": "snooze", "work_item": triage_of(other).pk, "until": "2030-01-01T10:00"}
    )
    assert response.status_code == 404


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


def test_a_delegation_ending_before_it_starts_is_refused_beside_the_last_day(signed_in, neurologist, colleague):
    today = timezone.localdate()
    first, last = (today + timedelta(days=3)).isoformat(), (today + timedelta(days=1)).isoformat()

    response = signed_in(neurologist).post(
        "/work/delegations/", {"to": "dr_colleague", "starts_on": first, "ends_on": last, "reason": "Course"}
    )

    page = response.content.decode()
    assert response.status_code == 422
    assert error_beside(page, "away-ends_on") == "The last day comes before the first."
    assert f'value="{first}"' in input_tag(page, "away-starts_on") and f'value="{last}"' in input_tag(
        page, "away-ends_on"
    )
    assert '<option value="dr_colleague" selected>' in page and 'value="Course"' in input_tag(page, "away-reason")
    assert '<details class="action" id="delegate" open>' in page
    assert 'hx-get="/work/"' in page  # My work's refresh reads My work, not the form's address
    assert not Delegation.objects.exists()


def test_a_closed_case_offers_reopen_to_a_neurologist_only(signed_in, pathway):
    case = pathway.closed()
    assert "Reopen the case" in signed_in(pathway.neuro).get(f"/cases/{case.pk}/").content.decode()
    assert "Reopen the case" not in signed_in(pathway.ped).get(f"/cases/{case.pk}/").content.decode()
