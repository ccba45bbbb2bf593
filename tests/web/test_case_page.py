"""The case page: what each persona sees, the generic action forms, refusals and stale forms."""

import pytest
from django.urls import reverse

from carepath.models import AuditLog
from referrals.models import Referral


def case_url(referral):
    return reverse("case", args=[referral.pk])


def test_the_referrer_sees_their_case_and_the_view_is_audited(signed_in, pediatrician, referral):
    response = signed_in(pediatrician).get(case_url(referral))

    assert response.status_code == 200
    assert referral.reference in response.content.decode()
    assert AuditLog.objects.filter(
        action="view", object_type="referrals.referral", object_id=str(referral.pk), actor=pediatrician
    ).exists()


def test_another_pediatrician_gets_404_for_a_case_they_did_not_refer(signed_in, other_pediatrician, referral):
    assert signed_in(other_pediatrician).get(case_url(referral)).status_code == 404


def test_an_outsider_gets_404(signed_in, outsider, referral):
    assert signed_in(outsider).get(case_url(referral)).status_code == 404


def test_anonymous_users_are_sent_to_sign_in(client, referral):
    response = client.get(case_url(referral))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_neurologist_is_offered_only_the_actions_allowed_now(signed_in, neurologist, referral):
    html = signed_in(neurologist).get(case_url(referral)).content.decode()

    assert 'value="triage"' in html and 'value="decline"' in html and 'value="return_to_referrer"' in html
    assert 'value="record_assessment"' not in html and 'value="conclude"' not in html


def test_the_referrer_is_offered_no_neurology_actions(signed_in, pediatrician, referral):
    html = signed_in(pediatrician).get(case_url(referral)).content.decode()

    assert 'value="triage"' not in html
    assert 'value="cancel"' in html  # the referrer may withdraw their own referral


def test_triage_from_the_form_moves_the_case(signed_in, neurologist, referral):
    response = signed_in(neurologist).post(
        case_url(referral),
        {"machine": "referral", "transition": "triage", "version": referral.version, "priority": "urgent"},
    )

    assert response.status_code == 302
    assert Referral.objects.get(pk=referral.pk).state == "triaged"


def test_a_red_flag_guard_is_shown_beside_the_priority_and_the_input_is_kept(signed_in, neurologist, pediatrician):
    from tests.factories import make_referral

    flagged = make_referral(pediatrician, red_flags=["papilloedema"])
    response = signed_in(neurologist).post(
        case_url(flagged),
        {
            "machine": "referral",
            "transition": "triage",
            "version": flagged.version,
            "priority": "routine",
            "override_reason": "",
        },
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "red flag" in html and 'value="routine" checked' in html
    assert Referral.objects.get(pk=flagged.pk).state == "submitted"


def test_nested_assessment_fields_post_as_dotted_names_and_errors_land_beside_them(signed_in, neurologist, pathway):
    referral = pathway.triaged()
    post = {
        "machine": "referral",
        "transition": "record_assessment",
        "version": referral.version,
        "findings": "Twitching of the left eye.",
        "working_diagnosis": "hfs_primary",
        "brow_lift_sign": "true",
        "severity.scale": "smc",
        "severity.score": "7",
        "mri_indicated": "true",
    }
    client = signed_in(neurologist)

    refused = client.post(case_url(referral), post)
    assert refused.status_code == 400
    assert "runs from 0 to 4" in refused.content.decode()
    assert "Twitching of the left eye.</textarea>" in refused.content.decode()

    accepted = client.post(case_url(referral), {**post, "severity.score": "3"})
    assert accepted.status_code == 302
    referral.refresh_from_db()
    assert referral.state == "assessed" and referral.assessment.severity_score == 3


def test_a_stale_form_says_someone_else_acted_and_shows_the_new_state(signed_in, neurologist, referral):
    from referrals import services

    stale_version = referral.version
    services.referral_triage(referral_id=referral.pk, actor=neurologist, priority="routine")

    response = signed_in(neurologist).post(
        case_url(referral),
        {"machine": "referral", "transition": "decline", "version": stale_version, "reason": "x", "advice": "y"},
    )

    html = response.content.decode()
    assert response.status_code == 409
    assert "Nothing was changed" in html and "Someone else changed this case" in html
    assert 'value="record_assessment"' in html  # the actions of the new state


def test_a_transition_the_role_may_not_take_gets_a_clean_403(signed_in, pediatrician, referral):
    response = signed_in(pediatrician).post(
        case_url(referral),
        {"machine": "referral", "transition": "triage", "version": referral.version, "priority": "asap"},
    )

    assert response.status_code == 403
    assert Referral.objects.get(pk=referral.pk).state == "submitted"


def test_a_system_transition_cannot_be_posted(signed_in, neurologist, pathway):
    referral = pathway.imaging()
    post = {"machine": "referral", "transition": "imaging_complete"}
    response = signed_in(neurologist).post(case_url(referral), post)
    assert response.status_code == 403


@pytest.mark.parametrize("field,value", [("version", "abc"), ("transition", "no_such_thing"), ("machine", "nope")])
def test_tampered_hidden_fields_get_a_clean_error_page(signed_in, neurologist, referral, field, value):
    post = {"machine": "referral", "transition": "triage", "version": referral.version, "priority": "asap"}
    response = signed_in(neurologist).post(case_url(referral), {**post, field: value})

    assert response.status_code in (400, 404)
    assert Referral.objects.get(pk=referral.pk).state == "submitted"


def test_an_mri_action_for_another_cases_request_is_404(signed_in, coordinator, pathway):
    first, second = pathway.protocoled(), pathway.protocoled()
    mri = second.mri_requests.get()
    response = signed_in(coordinator).post(
        case_url(first), {"machine": "mri", "object": mri.pk, "transition": "schedule", "version": mri.version}
    )
    assert response.status_code == 404


def test_the_schedule_form_explains_the_sedation_default(signed_in, coordinator, pathway):
    referral = pathway.protocoled()
    html = signed_in(coordinator).get(case_url(referral)).content.decode()

    assert 'value="schedule"' in html
    assert "Sedation default for this child" in html
    assert "fasting cut-offs as clock times" in html


def test_a_critical_result_shows_a_banner_until_a_neurologist_acknowledges_it(signed_in, neurologist, pathway):
    referral = pathway.results_review(category="critical")
    client = signed_in(neurologist)
    assert "Critical MRI result" in client.get(case_url(referral)).content.decode()

    report = referral.mri_requests.get().report
    client.post(case_url(referral), {"machine": "report_ack", "object": report.pk})

    assert "Critical MRI result" not in client.get(case_url(referral)).content.decode()


def test_only_neurology_may_acknowledge_a_result(signed_in, coordinator, pathway):
    referral = pathway.results_review(category="critical")
    report = referral.mri_requests.get().report
    response = signed_in(coordinator).post(case_url(referral), {"machine": "report_ack", "object": report.pk})
    assert response.status_code == 403


def test_the_case_page_runs_a_bounded_number_of_queries(signed_in, neurologist, pathway, django_assert_max_num_queries):
    referral = pathway.concluded()
    client = signed_in(neurologist)
    with django_assert_max_num_queries(30):
        assert client.get(case_url(referral)).status_code == 200


def test_the_neurosurgeon_sees_the_consult_question_in_the_next_step(signed_in, neurosurgeon, pathway):
    referral = pathway.neurosurgery()
    html = signed_in(neurosurgeon).get(case_url(referral)).content.decode()
    next_step = html[html.index('id="next-step"') : html.index("What you can do now")]
    assert "MVD candidate?" in next_step and 'value="record_consult"' in html


def test_a_referrer_waiting_on_neurology_is_told_there_is_nothing_to_do_above_the_cancel_action(
    signed_in, referral, pediatrician
):
    page = signed_in(pediatrician).get(f"/cases/{referral.pk}/").content.decode()
    assert "There is nothing for you to do on this case now." in page
    assert "What you can do now" not in page  # a heading with nothing under it but "Other actions"
    assert "Cancel the referral" in page


def test_the_timeline_names_a_critical_results_alert_in_words_not_its_timer_code(signed_in, neurologist, pathway):
    from django.utils import timezone

    from carepath.models import CaseEvent
    from carepath.pathway.roles import get_system_user

    referral = pathway.results_review(category="critical")
    CaseEvent.objects.create(  # as carepath/notify/effects.py writes it when the alert timer fires
        referral=referral,
        machine="mri",
        kind=CaseEvent.Kind.NOTE,
        transition="alert",
        at=timezone.now(),
        actor=get_system_user(),
        data={"step": "Acknowledge a critical or urgent MRI result", "notified": [neurologist.username]},
    )
    page = signed_in(neurologist).get(case_url(referral)).content.decode()
    assert "Alert: Acknowledge a critical or urgent MRI result" in page
    assert "<strong>alert</strong>" not in page


def test_the_conclude_form_says_up_front_that_a_critical_result_must_be_acknowledged_first(
    signed_in, neurologist, pathway
):
    referral = pathway.results_review(category="critical")
    client = signed_in(neurologist)
    before = (
        "The critical MRI result is not acknowledged yet: acknowledge it in the red banner above before concluding."
    )
    assert before in client.get(case_url(referral)).content.decode()

    report = referral.mri_requests.get().report
    client.post(case_url(referral), {"machine": "report_ack", "object": report.pk})
    assert before not in client.get(case_url(referral)).content.decode()


def test_the_priority_says_what_was_requested_only_when_it_differs(signed_in, neurologist, pathway):
    same = pathway.triaged()  # triaged routine, as requested
    page = signed_in(neurologist).get(case_url(same)).content.decode()
    assert "Routine, as the referrer asked" in page and "(requested: Routine)" not in page

    waiting = pathway.submitted()
    assert "not triaged yet (requested: Routine)" in signed_in(neurologist).get(case_url(waiting)).content.decode()
