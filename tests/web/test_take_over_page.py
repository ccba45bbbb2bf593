"""Take-over on the pages: a one-click prompt naming the holder (issue 13 item 8)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from carepath.models import CaseEvent, WorkItem, WorkItemKind, WorkItemStatus
from carepath.pathway import workitems
from carepath.pathway.roles import Role
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_case_page_offers_the_take_over_as_one_click(signed_in, pathway, colleague):
    case = pathway.submitted()
    factories.claim_triage(colleague, case)
    client = signed_in(pathway.neuro)

    page = client.get(f"/cases/{case.pk}/").content.decode()

    assert "Take over from Ada Quinn and continue" in page
    assert 'name="take_over" value="1"' in page


def test_posting_an_action_on_a_taken_step_shows_the_prompt_and_changes_nothing(signed_in, pathway, colleague):
    case = pathway.submitted()
    client = signed_in(pathway.neuro)
    client.get(f"/cases/{case.pk}/")
    factories.claim_triage(colleague, case)  # taken while the page was open

    post = {"machine": "referral", "object": case.pk, "transition": "triage", "version": 1, "priority": "routine"}
    response = client.post(f"/cases/{case.pk}/", post)

    assert response.status_code == 409
    page = response.content.decode()
    assert "Ada Quinn has taken this step" in page
    assert "Take over from Ada Quinn and continue" in page
    case.refresh_from_db()
    assert case.state == "submitted"

    taken = client.post(f"/cases/{case.pk}/", {**post, "take_over": "1"}, follow=True)

    case.refresh_from_db()
    assert case.state == "triaged"
    timeline = taken.content.decode()
    assert "took over “Triage the referral” from Ada Quinn" in timeline


def test_the_holder_sees_the_plain_action_on_the_case_page(signed_in, pathway, colleague):
    case = pathway.submitted()
    factories.claim_triage(colleague, case)

    page = signed_in(colleague).get(f"/cases/{case.pk}/").content.decode()

    assert "Take over from" not in page and ">Triage</button>" in page


def test_the_mri_board_answers_a_taken_step_with_the_same_prompt(signed_in, pathway, groups):
    other = factories.UserFactory(role=Role.IMAGING_COORDINATOR, username="coord2", first_name="Bo", last_name="Li")
    case = pathway.scheduled()
    mri = case.mri_requests.get()
    item = WorkItem.objects.get(mri_request=mri, kind=WorkItemKind.PERFORM_MRI, status=WorkItemStatus.OPEN)
    workitems.work_item_claim(work_item_id=item.pk, actor=other)
    later = timezone.localtime(timezone.now() + timedelta(days=12)).strftime("%Y-%m-%dT%H:%M")
    post = {
        "machine": "mri",
        "object": mri.pk,
        "transition": "reschedule",
        "version": mri.version,
        "scheduled_start": later,
        "reason": "The family asked for another day.",
    }
    client = signed_in(pathway.coord)

    asked = client.post("/mri/board/", post)

    assert asked.status_code == 409 and "Take over from Bo Li and continue" in asked.content.decode()
    assert client.post("/mri/board/", {**post, "take_over": "1"}).status_code == 302
    assert CaseEvent.objects.filter(referral=case, kind=CaseEvent.Kind.TAKE_OVER).count() == 1
