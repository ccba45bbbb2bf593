"""docs/api.md's curl walk-through, step by step through the test client, with the seed_demo users."""

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

PASSWORD = "carepath-demo"
EARLY = "A slot came free on an earlier list."


def signed_in(username):
    token = APIClient().post("/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json")
    assert token.status_code == 201, token.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['token']}")
    return client


def act(client, path, name, data):
    response = client.post(f"/api/v1/{path}/transitions/", {"transition": name, "data": data}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["state"]


@pytest.mark.slow
def test_the_readme_walk_through_carries_a_case_to_a_closed_loop(db, django_capture_on_commit_callbacks):
    call_command("seed_demo", "--force", verbosity=0)
    ped, neuro, rad, coord = (signed_in(u) for u in ("dr.khan", "dr.patel", "dr.garcia", "coord.jones"))

    patient = ped.post(
        "/api/v1/patients/",
        {
            "mrn": "WALK-0001",
            "given_name": "Robin",
            "family_name": "Hale",
            "birth_date": "2018-04-02",
            "sex": "male",
            "guardians": [
                {
                    "name": "Jo Hale",
                    "relationship": "mother",
                    "phone": "+447700900001",
                    "email": "jo@example.org",
                    "has_parental_responsibility": True,
                }
            ],
        },
        format="json",
    ).json()["id"]
    ref = ped.post(
        "/api/v1/referrals/",
        {
            "patient": patient,
            "reason": "Left eye twitching spreading to the cheek",
            "symptom_onset": "2025-06-01",
            "side": "left",
            "muscles": ["orbicularis_oculi", "buccinator"],
            "red_flags": [],
            "requested_priority": "routine",
            "clinical_notes": "",
        },
        format="json",
    ).json()["id"]

    assert act(neuro, f"referrals/{ref}", "triage", {"priority": "routine"}) == "triaged"
    assert (
        act(
            neuro,
            f"referrals/{ref}",
            "record_assessment",
            {
                "findings": "Clonic twitching, left orbicularis oculi",
                "working_diagnosis": "hfs_primary",
                "brow_lift_sign": True,
                "severity": {"scale": "smc", "score": 2},
                "mri_indicated": True,
            },
        )
        == "assessed"
    )
    assert (
        act(
            neuro, f"referrals/{ref}", "request_mri", {"clinical_question": "NVC of CN VII?", "suspected_lesion": False}
        )
        == "imaging"
    )
    mri = neuro.get(f"/api/v1/referrals/{ref}/").json()["mri_requests"][0]

    assert (
        act(
            rad,
            f"mri-requests/{mri}",
            "protocol",
            {"protocol": "cpa_t2_tof", "contrast": False, "duration_minutes": 30},
        )
        == "protocoled"
    )
    # the earliest free slot ($find) is booked; a slot came free sooner, and the scan was done now
    slot = coord.get(f"/api/v1/mri-requests/{mri}/slots/?limit=1").json()["slots"][0]
    booking = {"scanner": slot["scanner"], "scheduled_start": slot["start"]}
    assert act(coord, f"mri-requests/{mri}", "schedule", booking) == "scheduled"
    now = timezone.now().replace(second=0, microsecond=0)
    scan = {"accession_number": "WALK-ACC-1", "performed_at": now.isoformat(), "early_scan_reason": EARLY}
    assert act(coord, f"mri-requests/{mri}", "mark_performed", scan) == "performed"
    with django_capture_on_commit_callbacks(execute=True):  # the worker's imaging_complete
        assert (
            act(
                rad,
                f"mri-requests/{mri}",
                "sign_report",
                {
                    "findings": {
                        "nvc": {
                            "status": "present",
                            "side": "left",
                            "vessel": "aica",
                            "segment": "root_exit_point",
                            "severity": "indentation",
                        },
                        "lesion": {"present": False},
                    },
                    "impression": "Left AICA indents the root exit zone of CN VII.",
                    "category": "routine",
                },
            )
            == "reported"
        )
    assert neuro.get(f"/api/v1/referrals/{ref}/").json()["state"] == "results_review"

    assert (
        act(
            neuro,
            f"referrals/{ref}",
            "conclude",
            {
                "diagnosis": "hfs_primary",
                "plan": "botulinum_toxin",
                "follow_up": "Review in 3 months",
                "letter": "Dear Dr Khan, ...",
            },
        )
        == "concluded"
    )
    assert act(ped, f"referrals/{ref}", "acknowledge", {"note": "Thank you"}) == "closed"
    events = neuro.get(f"/api/v1/referrals/{ref}/events/").json()
    assert events[-1]["transition"] == "acknowledge"
    bundle = neuro.get(f"/api/v1/referrals/{ref}/fhir/").json()
    assert {"Patient", "ServiceRequest", "Task", "DiagnosticReport"} <= {
        e["resource"]["resourceType"] for e in bundle["entry"]
    }
