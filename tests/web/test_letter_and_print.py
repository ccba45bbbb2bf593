"""The outcome letter starts from a template filled with the case's facts, the neurologist edits it,
and what they send is what is saved; print views of the letter and the case summary."""

import html
import re

import pytest
from django.urls import reverse

from carepath.models import AuditLog
from referrals import letters, services
from referrals.models import Referral

from .. import factories


def case_url(referral):
    return reverse("case", args=[referral.pk])


def conclude_letter(markup: str) -> str:
    form = re.search(r'id="action-referral-\d+-conclude".*?</details>', markup, re.S)
    assert form, "no conclude form"
    textarea = re.search(r'<textarea id="[^"]*-f-letter"[^>]*>(.*?)</textarea>', form.group(0), re.S)
    assert textarea, "no letter field"
    return html.unescape(textarea.group(1))


def conclude_form(referral, *, plan: str, follow_up: str, letter: str) -> dict:
    """The case page's conclude form as a browser posts it."""
    return {
        "machine": "referral",
        "transition": "conclude",
        "version": referral.version,
        "diagnosis": "hfs_primary",
        "plan": plan,
        "follow_up": follow_up,
        "letter": letter,
    }


# --- the letter's draft ---------------------------------------------------------------------------
def test_the_conclude_form_starts_from_a_letter_filled_with_the_cases_facts(signed_in, pathway):
    referral = pathway.results_review(category="routine")
    patient = referral.patient

    letter = conclude_letter(signed_in(pathway.neuro).get(case_url(referral)).content.decode())

    assert f"{patient.given_name} {patient.family_name}" in letter
    assert letters.age_in_words(patient.birth_date) in letter  # "8 years" for the factory's child
    assert "Diagnosis: [to complete: the diagnosis]" in letter  # the form's diagnosis, written in on concluding
    assert "categorised as routine" in letter  # the MRI's category
    assert "Left AICA indenting the root exit zone" in letter  # the impression
    assert "Neurovascular compression: present (left, AICA, root exit point, indentation)" in letter
    assert "Plan: [to complete:" in letter and "Follow-up: [to complete:" in letter
    assert "hfs_primary" not in letter and "aica" not in letter  # words, not codes


def test_the_diagnosis_plan_and_follow_up_are_given_once_and_written_into_the_letter(signed_in, pathway):
    referral = pathway.results_review()
    client = signed_in(pathway.neuro)
    draft = conclude_letter(client.get(case_url(referral)).content.decode())

    response = client.post(
        case_url(referral),
        conclude_form(
            referral,
            plan="botulinum_toxin",
            follow_up="Clinic in 3 months; sooner if the eye will not open.",
            letter=draft,
        ),
    )

    assert response.status_code == 302
    letter = Referral.objects.get(pk=referral.pk).outcome.letter
    assert "Diagnosis: Hemifacial spasm, primary (neurovascular)" in letter
    assert "Plan: Botulinum toxin" in letter
    assert "Follow-up: Clinic in 3 months; sooner if the eye will not open." in letter
    assert "[to complete:" not in letter


def test_the_draft_carries_neurosurgerys_recommendation(signed_in, pathway):
    referral = pathway.neurosurgery()
    services.referral_record_consult(
        referral_id=referral.pk, actor=pathway.surg, recommendation="mvd_candidate", note="Discuss MVD at 12."
    )

    letter = conclude_letter(signed_in(pathway.neuro).get(case_url(referral)).content.decode())

    assert "Neurosurgery: recommendation: candidate for microvascular decompression. Discuss MVD at 12." in letter


def test_the_conclude_form_preselects_the_working_diagnosis(signed_in, pathway):
    referral = pathway.results_review()
    markup = signed_in(pathway.neuro).get(case_url(referral)).content.decode()
    form = re.search(r'id="action-referral-\d+-conclude".*?</details>', markup, re.S).group(0)
    assert re.search(r'<option value="hfs_primary" selected>', form)


def test_the_referrer_is_offered_no_draft(signed_in, pathway):
    referral = pathway.results_review()
    markup = signed_in(pathway.ped).get(case_url(referral)).content.decode()
    assert "[to complete:" not in markup and "-conclude" not in markup


def test_what_is_saved_is_the_letter_the_neurologist_edited(signed_in, pathway):
    referral = pathway.results_review()
    client = signed_in(pathway.neuro)
    draft = conclude_letter(client.get(case_url(referral)).content.decode())
    edited = (
        draft.replace("[to complete: the plan agreed with the family]", "botulinum toxin every 3 months")
        .replace("[to complete: the follow-up, and what should prompt an earlier review]", "clinic in 3 months")
        .replace("Dear ", "Dear Dr ")
    )

    response = client.post(
        case_url(referral),
        conclude_form(referral, plan="botulinum_toxin", follow_up="Clinic in 3 months.", letter=edited),
    )

    assert response.status_code == 302
    outcome = Referral.objects.get(pk=referral.pk).outcome
    # DRF trims the ends; the diagnosis chosen on the form is written into its place
    sent = edited.replace("[to complete: the diagnosis]", "Hemifacial spasm, primary (neurovascular)")
    assert outcome.letter == sent.replace("\r\n", "\n").strip()
    assert "Dear Dr " in outcome.letter and "botulinum toxin every 3 months" in outcome.letter


def test_a_letter_with_a_part_still_to_complete_is_refused_and_kept(signed_in, pathway):
    referral = pathway.results_review()
    client = signed_in(pathway.neuro)
    draft = conclude_letter(client.get(case_url(referral)).content.decode())

    response = client.post(case_url(referral), conclude_form(referral, plan="observation", follow_up="", letter=draft))

    markup = response.content.decode()
    assert response.status_code == 400
    assert "still has parts marked [to complete: …]" in markup
    assert conclude_letter(markup).strip() == draft.strip()  # nothing typed is lost
    assert Referral.objects.get(pk=referral.pk).state == "results_review"


def test_the_api_refuses_a_letter_with_a_part_still_to_complete(pathway):
    from rest_framework.test import APIClient

    from carepath.api.tokens import token_issue

    referral = pathway.results_review()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=pathway.neuro, name='test')[1]}")
    response = client.post(
        f"/api/v1/referrals/{referral.pk}/transitions/",
        {
            "transition": "conclude",
            "version": referral.version,
            "data": {
                "diagnosis": "hfs_primary",
                "plan": "observation",
                "follow_up": "",
                "letter": "Plan: [to complete: the plan]",
            },
        },
        format="json",
    )
    assert response.status_code == 400 and "letter" in response.json()["errors"]


def test_the_letter_template_is_one_file_a_site_can_replace(settings, tmp_path, pathway):
    site = tmp_path / "referrals" / "letters"
    site.mkdir(parents=True)
    (site / "outcome_letter.txt").write_text("Dear {{ referrer }}, about {{ child }} ({{ working_diagnosis }}).")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    referral = pathway.results_review()

    draft = letters.outcome_letter_draft(Referral.objects.get(pk=referral.pk), author=pathway.neuro)

    patient = referral.patient
    assert draft.startswith("Dear ") and f"about {patient.given_name} {patient.family_name}" in draft


@pytest.mark.parametrize(
    ("birth", "on", "words"),
    [
        ("2026-01-15", "2026-02-15", "1 month"),
        ("2025-01-15", "2026-12-14", "22 months"),
        ("2018-03-01", "2026-04-01", "8 years 1 month"),
        ("2018-03-01", "2026-03-01", "8 years"),
    ],
)
def test_ages_read_as_a_paediatrician_writes_them(birth, on, words):
    from datetime import date

    assert letters.age_in_words(date.fromisoformat(birth), date.fromisoformat(on)) == words


# --- print views ----------------------------------------------------------------------------------
PRINT_VIEWS = ["case_print_summary", "case_print_letter"]


@pytest.fixture
def concluded(pathway):
    return pathway.concluded()


def assert_printable(markup: str) -> None:
    """No navigation, no forms, no buttons: the record only."""
    for tag in ("<nav", "<form", "<button", "<details", "<input", "<select", "<textarea"):
        assert tag not in markup, tag
    assert 'class="print-page"' in markup


@pytest.mark.parametrize("view", PRINT_VIEWS)
def test_the_referrer_prints_their_case_and_the_print_is_audited(signed_in, pediatrician, concluded, view):
    response = signed_in(pediatrician).get(reverse(view, args=[concluded.pk]))

    markup = response.content.decode()
    assert response.status_code == 200
    assert_printable(markup)
    assert concluded.reference in markup
    what = "print: case summary" if view == "case_print_summary" else "print: outcome letter"
    assert AuditLog.objects.filter(
        action="view",
        object_type="referrals.referral",
        object_id=str(concluded.pk),
        actor=pediatrician,
        changes={"what": what},
    ).exists()


@pytest.mark.parametrize("view", PRINT_VIEWS)
def test_the_care_team_prints_the_case(signed_in, neurologist, concluded, view):
    response = signed_in(neurologist).get(reverse(view, args=[concluded.pk]))
    assert response.status_code == 200
    assert_printable(response.content.decode())


@pytest.mark.parametrize("view", PRINT_VIEWS)
def test_another_pediatrician_and_an_outsider_get_404_and_nothing_is_audited_as_read(
    signed_in, other_pediatrician, outsider, concluded, view
):
    for user in (other_pediatrician, outsider):
        assert signed_in(user).get(reverse(view, args=[concluded.pk])).status_code == 404
        assert not AuditLog.objects.filter(action="view", actor=user, object_type="referrals.referral").exists()


@pytest.mark.parametrize("view", PRINT_VIEWS)
def test_anonymous_users_are_sent_to_sign_in_from_a_print_view(client, concluded, view):
    response = client.get(reverse(view, args=[concluded.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_letter_print_shows_the_letter_as_sent(signed_in, pediatrician, concluded):
    markup = signed_in(pediatrician).get(reverse("case_print_letter", args=[concluded.pk])).content.decode()
    assert factories.CONCLUSION["letter"] in markup


def test_a_case_without_an_outcome_has_no_letter_to_print(signed_in, neurologist, referral):
    assert signed_in(neurologist).get(reverse("case_print_letter", args=[referral.pk])).status_code == 404


def test_the_case_summary_has_child_referral_mri_report_outcome_and_timeline(signed_in, neurologist, concluded):
    markup = signed_in(neurologist).get(reverse("case_print_summary", args=[concluded.pk])).content.decode()

    patient = concluded.patient
    for heading in ("Child", "Referral", "Neurology assessment", "Neuroradiology report", "Outcome", "Timeline"):
        assert f">{heading}</h" in markup, heading
    assert patient.mrn in markup and "Left AICA indenting the root exit zone" in markup
    assert "Neurovascular compression: present" in markup and "Botulinum toxin" in markup
    assert "Triage" in markup and "Sign the report" in markup and "Reminder" not in markup


def test_the_case_page_links_to_the_print_views(signed_in, pediatrician, concluded, referral):
    markup = signed_in(pediatrician).get(case_url(concluded)).content.decode()
    assert reverse("case_print_summary", args=[concluded.pk]) in markup
    assert reverse("case_print_letter", args=[concluded.pk]) in markup
    markup = signed_in(pediatrician).get(case_url(referral)).content.decode()
    assert reverse("case_print_letter", args=[referral.pk]) not in markup  # no outcome yet


def test_only_concluding_straight_after_the_assessment_asks_why_there_is_no_mri(signed_in, pathway):
    reviewed = pathway.results_review()
    assessed = pathway.assessed()
    client = signed_in(pathway.neuro)

    after_mri = client.get(case_url(reviewed)).content.decode()
    without_mri = client.get(case_url(assessed)).content.decode()

    assert 'name="imaging_waived_reason"' not in after_mri
    assert 'name="imaging_waived_reason"' in without_mri
