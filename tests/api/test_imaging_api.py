"""MRI requests and reports over the API."""

import pytest
from django.utils import timezone

from carepath.pathway.roles import Role
from tests.factories import EARLY_SCAN, FINDINGS_NVC, user_with_role

from .conftest import transition


def mri_of(pathway, case):
    return pathway.mri(case)


def test_a_neuroradiologist_protocols_an_mri_request(api, pathway, neuroradiologist):
    mri = mri_of(pathway, pathway.imaging())

    response = transition(
        api(neuroradiologist),
        "mri-requests",
        mri.pk,
        "protocol",
        {"protocol": "cpa_t2_tof", "contrast": False, "duration_minutes": 30},
    )

    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "protocoled"
    assert response.json()["deadlines"][0]["kind"] == "schedule_mri"


def test_a_coordinator_may_not_protocol(api, pathway, coordinator):
    mri = mri_of(pathway, pathway.imaging())

    response = transition(
        api(coordinator),
        "mri-requests",
        mri.pk,
        "protocol",
        {"protocol": "cpa_t2_tof", "contrast": False, "duration_minutes": 30},
    )

    assert response.status_code == 403


def test_a_ris_client_marks_a_scan_performed_and_signs_the_report(api, pathway, django_capture_on_commit_callbacks):
    ris = api(user_with_role(Role.RIS_CLIENT, "ris"))
    case = pathway.scheduled()
    mri = mri_of(pathway, case)

    performed = transition(
        ris,
        "mri-requests",
        mri.pk,
        "mark_performed",
        {"accession_number": "RIS-1", "performed_at": timezone.now().isoformat(), "early_scan_reason": EARLY_SCAN},
    )
    with django_capture_on_commit_callbacks(execute=True):  # the referral reacts after commit
        signed = transition(
            ris,
            "mri-requests",
            mri.pk,
            "sign_report",
            {"findings": FINDINGS_NVC, "impression": "AICA loop.", "category": "routine"},
        )

    assert (performed.status_code, signed.status_code) == (200, 200)
    assert signed.json()["links"]["report"] is not None
    case.refresh_from_db()
    assert case.state == "results_review"


def test_flag_missed_is_403_even_for_a_coordinator(api, pathway, coordinator):
    mri = mri_of(pathway, pathway.scheduled())

    assert transition(api(coordinator), "mri-requests", mri.pk, "flag_missed").status_code == 403


@pytest.mark.parametrize(
    "persona, status", [("coordinator", 200), ("pediatrician", 200), ("outsider", 404), ("other_pediatrician", 404)]
)
def test_mri_request_detail_personas(api, pathway, request, persona, status):
    mri = mri_of(pathway, pathway.imaging())

    assert api(request.getfixturevalue(persona)).get(f"/api/v1/mri-requests/{mri.pk}/").status_code == status


def test_a_coordinator_does_not_see_cases_before_imaging(api, pathway, coordinator):
    pathway.assessed()
    mri = mri_of(pathway, pathway.imaging())

    results = api(coordinator).get("/api/v1/mri-requests/").json()["results"]

    assert [r["id"] for r in results] == [mri.pk]


@pytest.mark.parametrize(
    "persona, count", [("neuroradiologist", 1), ("pediatrician", 1), ("outsider", 0), ("other_pediatrician", 0)]
)
def test_reports_list_personas(api, pathway, request, persona, count):
    pathway.results_review()

    assert len(api(request.getfixturevalue(persona)).get("/api/v1/reports/").json()["results"]) == count


def test_a_report_shows_its_structured_findings_and_links(api, pathway, neurologist):
    case = pathway.results_review(category="urgent")

    report = api(neurologist).get("/api/v1/reports/?category=urgent").json()["results"][0]

    assert report["findings"]["nvc"]["vessel"] == "aica"
    assert report["links"]["referral"] == f"/api/v1/referrals/{case.pk}/"


def test_mri_state_filter(api, pathway, coordinator):
    pathway.imaging()
    scheduled = mri_of(pathway, pathway.scheduled())

    results = api(coordinator).get("/api/v1/mri-requests/?state=scheduled").json()["results"]

    assert [r["id"] for r in results] == [scheduled.pk]
