"""Least privilege over time (docs/security.md): people in imaging see a case while its MRI is open
and for CAREPATH_IMAGING_ACCESS_DAYS (30) after the report is signed or the request cancelled, not
for ever; guardians' phone and e-mail only for the roles that contact families."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from carepath.api.tokens import token_issue
from carepath.pathway.roles import Role
from imaging import selectors as imaging_selectors
from imaging import services as imaging
from imaging.models import MRIRequest
from referrals import selectors
from referrals.models import Referral
from tests import factories as f


@pytest.fixture(autouse=True)
def _plain_http(settings):
    """Pages over plain HTTP with source static files (as tests/web/conftest.py)."""
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def visible(user) -> set[int]:
    return set(selectors.referrals_visible_to(user).values_list("pk", flat=True))


def visible_mri(user) -> set[int]:
    return set(imaging_selectors.mri_requests_visible_to(user).values_list("referral_id", flat=True))


def ended_days_ago(referral: Referral, days: int) -> None:
    """As if the case's imaging ended `days` ago (the report signed, nothing changed since)."""
    then = timezone.now() - timedelta(days=days)
    Referral.objects.filter(pk=referral.pk).update(imaging_closed_at=then)
    MRIRequest.objects.filter(referral=referral).update(updated_at=then)


@pytest.fixture
def reported(pathway):
    return pathway.results_review()


def test_signing_the_report_starts_the_imaging_window_at_the_signing(reported):
    mri = reported.mri_requests.get()
    assert reported.imaging_closed_at == mri.report.signed_at


@pytest.mark.parametrize("role", ["coordinator", "neuroradiologist"])
def test_imaging_staff_see_a_reported_case_within_the_window(reported, role, request):
    user = request.getfixturevalue(role)
    ended_days_ago(reported, 29)
    assert reported.pk in visible(user) and reported.pk in visible_mri(user)


@pytest.mark.parametrize("role", ["coordinator", "neuroradiologist"])
def test_imaging_staff_no_longer_see_a_case_30_days_after_its_report(reported, role, request):
    user = request.getfixturevalue(role)
    ended_days_ago(reported, 31)

    assert reported.pk not in visible(user)
    assert reported.pk not in visible_mri(user)
    assert not imaging_selectors.reports_visible_to(user).filter(mri_request__referral=reported).exists()


def test_the_window_is_a_setting(reported, coordinator, settings):
    ended_days_ago(reported, 31)
    settings.CAREPATH_IMAGING_ACCESS_DAYS = 60
    assert reported.pk in visible(coordinator)


def test_an_open_mri_is_visible_however_old(pathway, coordinator, neuroradiologist):
    waiting = pathway.scheduled()
    Referral.objects.filter(pk=waiting.pk).update(mri_requested_at=timezone.now() - timedelta(days=400))
    MRIRequest.objects.filter(referral=waiting).update(updated_at=timezone.now() - timedelta(days=400))
    for user in (coordinator, neuroradiologist):
        assert waiting.pk in visible(user) and waiting.pk in visible_mri(user)


def test_a_cancelled_request_ends_the_window_and_a_new_one_opens_it_again(pathway, neurologist, coordinator):
    from referrals import services

    case = pathway.imaging()
    imaging.mri_cancel(mri_request_id=pathway.mri(case).pk, actor=neurologist, reason="Family moved away.")
    case.refresh_from_db()
    assert case.imaging_closed_at is not None
    ended_days_ago(case, 31)
    assert case.pk not in visible(coordinator)

    assert case.state == "assessed"
    services.referral_request_mri(
        referral_id=case.pk, actor=neurologist, clinical_question="NVC?", suspected_lesion=False
    )
    case.refresh_from_db()
    assert case.imaging_closed_at is None and case.pk in visible(coordinator)


def test_the_ris_and_neurology_keep_seeing_old_cases(reported, neurologist, groups):
    ris = f.user_with_role(Role.RIS_CLIENT, "ris")
    ended_days_ago(reported, 400)
    assert reported.pk in visible(ris) and reported.pk in visible_mri(ris)
    assert reported.pk in visible(neurologist)


def test_an_old_case_is_404_for_imaging_staff_on_the_web_and_the_api(reported, client, neuroradiologist):
    ended_days_ago(reported, 31)
    client.force_login(neuroradiologist)
    assert client.get(reverse("case", args=[reported.pk])).status_code == 404

    _, raw = token_issue(user=neuroradiologist)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    mri = reported.mri_requests.get()
    assert api.get(f"/api/v1/referrals/{reported.pk}/").status_code == 404
    assert api.get(f"/api/v1/mri-requests/{mri.pk}/").status_code == 404
    assert api.get(f"/api/v1/reports/{mri.report.pk}/").status_code == 404


# --- guardians' contact details ------------------------------------------------------------------
CONTACTS = ("+447700900123", "sam.carer@example.org")  # tests/factories.make_patient's carer


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("pediatrician", True),
        ("neurologist", True),
        ("coordinator", True),
        ("neuroradiologist", False),
        ("neurosurgeon", False),
    ],
)
def test_the_case_page_shows_a_familys_phone_and_email_only_to_who_contacts_them(pathway, client, role, sees, request):
    case = pathway.neurosurgery()  # a case every one of these roles may open
    client.force_login(request.getfixturevalue(role))

    page = client.get(reverse("case", args=[case.pk])).content.decode()

    assert "Sam Carer" in page
    assert all((c in page) == sees for c in CONTACTS), role


@pytest.mark.parametrize(("role", "sees"), [("pediatrician", True), ("coordinator", True), ("neuroradiologist", False)])
def test_the_api_gives_a_familys_phone_and_email_only_to_who_contacts_them(pathway, role, sees, request):
    case = pathway.scheduled()
    _, raw = token_issue(user=request.getfixturevalue(role))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    patient = api.get(f"/api/v1/patients/{case.patient_id}/").json()
    bundle = api.get(f"/api/v1/referrals/{case.pk}/fhir/").content.decode()

    guardian = patient["guardians"][0]
    assert guardian["name"] == "Sam Carer"
    assert ("phone" in guardian and "email" in guardian) == sees
    assert all((c in bundle) == sees for c in CONTACTS)
