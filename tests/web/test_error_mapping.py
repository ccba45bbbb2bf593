"""Each domain refusal is mapped once: to problem+json for the API (carepath/api/problems.py) and to
a form error, a banner or an error page for the pages (carepath/web/webforms.py, the fields' errors
flattened by carepath/web/formfields.py, carepath/web/middleware.py)."""

from unittest import mock

import pytest
from django.http import QueryDict
from django.urls import reverse

from carepath.api.problems import PROBLEM, TYPE_BASE, exception_handler
from carepath.pathway import workflow
from carepath.pathway.errors import (
    Blocked,
    Forbidden,
    InvalidData,
    RuleBroken,
    StaleVersion,
    StepTaken,
    TransitionNotAllowed,
    Unprocessable,
)
from carepath.web import formfields, webforms
from referrals.machine import REFERRAL_MACHINE

REFUSALS = {
    "invalid": InvalidData({"priority": ["Choose a priority."]}),
    "unprocessable": Unprocessable({"priority": ["Not this one."]}),
    "rule": RuleBroken({"priority": ["A red flag needs asap."]}),
    "forbidden": Forbidden("Your role may not triage."),
    "state": TransitionNotAllowed("Cannot triage while the case is closed."),
    "stale": StaleVersion("Someone else changed this case."),
    "taken": StepTaken(holder_name="Dr Patel", step="Triage"),
    "blocked": Blocked("Acknowledge the critical result first."),
}
# refusal → (API status, problem type)
API = {
    "invalid": (400, "invaliddata"),
    "unprocessable": (422, "unprocessable"),
    "rule": (422, "rulebroken"),
    "forbidden": (403, "forbidden"),
    "state": (409, "transitionnotallowed"),
    "stale": (409, "staleversion"),
    "taken": (409, "steptaken"),
    "blocked": (409, "blocked"),
}


@pytest.mark.parametrize("kind", sorted(API))
def test_the_api_maps_each_domain_refusal_to_its_status_and_problem_type(kind):
    response = exception_handler(REFUSALS[kind], {})

    status, problem = API[kind]
    assert (response.status_code, response.data["type"], response.content_type) == (
        status,
        TYPE_BASE + problem,
        PROBLEM,
    )
    assert response.data["detail"] == REFUSALS[kind].detail


def test_the_api_problem_for_a_taken_step_says_who_holds_it():
    assert exception_handler(REFUSALS["taken"], {}).data["taken_by"] == "Dr Patel"


def _post(referral) -> QueryDict:
    post = QueryDict(mutable=True)
    post.update({"transition": "triage", "version": str(referral.version), "priority": "routine"})
    return post


def _run(kind, referral, neurologist) -> webforms.Outcome:
    with mock.patch.object(workflow, "perform", side_effect=REFUSALS[kind]):
        return webforms.run_action("referral", REFERRAL_MACHINE, referral, neurologist, "triage", _post(referral))


@pytest.mark.parametrize("kind", ["invalid", "unprocessable", "rule"])
def test_a_page_shows_invalid_data_beside_its_field_and_keeps_the_input(kind, referral, neurologist):
    outcome = _run(kind, referral, neurologist)

    priority = next(f for f in outcome.form.fields if f.name == "priority")
    assert (outcome.ok, outcome.status) == (False, 400)
    assert priority.errors == REFUSALS[kind].errors["priority"] and priority.value == "routine"


@pytest.mark.parametrize("kind", ["state", "stale"])
def test_a_page_shows_a_moved_on_case_as_a_banner(kind, referral, neurologist):
    outcome = _run(kind, referral, neurologist)
    assert (outcome.status, outcome.banner) == (409, REFUSALS[kind].detail)


def test_a_page_offers_to_take_over_a_taken_step(referral, neurologist):
    outcome = _run("taken", referral, neurologist)
    assert (outcome.status, outcome.form.take_over_from) == (409, "Dr Patel")


def test_a_page_shows_a_blocked_action_above_its_form(referral, neurologist):
    outcome = _run("blocked", referral, neurologist)
    assert (outcome.status, outcome.form.errors) == (409, [REFUSALS["blocked"].detail])


def test_a_forbidden_action_reaches_the_one_page_mapping_as_a_403_page(signed_in, neurologist, referral):
    with mock.patch.object(workflow, "perform", side_effect=REFUSALS["forbidden"]):
        response = signed_in(neurologist).post(reverse("case", args=[referral.pk]), _post(referral))

    assert response.status_code == 403
    assert "Your role may not triage." in response.content.decode()


def test_a_damaged_form_reaches_the_one_page_mapping_as_a_400_page(signed_in, neurologist, referral):
    post = {"machine": "referral", "transition": "triage", "version": "not-a-number", "priority": "routine"}
    response = signed_in(neurologist).post(reverse("case", args=[referral.pk]), post)

    assert response.status_code == 400
    assert "The form is damaged" in response.content.decode()


def test_a_forbidden_work_item_action_is_the_403_page_not_a_message(signed_in, neurologist, referral):
    item = referral.work_items.get()
    with mock.patch("carepath.pathway.workitems.work_item_release", side_effect=REFUSALS["forbidden"]):
        response = signed_in(neurologist).post(reverse("work_item_release", args=[item.pk]))
    assert response.status_code == 403


def test_a_list_item_error_from_the_api_shape_lands_on_the_list_field():
    assert formfields.flatten_errors({"muscles.0": ["Not a muscle."]}) == {"muscles": ["Not a muscle."]}
