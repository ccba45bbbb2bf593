"""The MDT and follow-up API: the same rules as the pages, as problem+json."""

from datetime import timedelta

import pytest
from django.utils import timezone

from carepath.models import AuditLog
from referrals.followup.models import FollowUpVisit

pytestmark = pytest.mark.django_db
V1 = "/api/v1"


def test_neurology_plans_a_meeting_adds_a_case_and_signs_its_decision(api, neurologist, neurosurgeon, site, reviewed):
    client = api(neurologist)
    starts = (timezone.now() - timedelta(minutes=5)).isoformat()
    body = {"starts_at": starts, "site": site.pk, "attendees": [neurologist.pk, neurosurgeon.pk]}
    meeting = client.post(f"{V1}/mdt-meetings/", body, format="json")
    assert meeting.status_code == 201, meeting.content
    mid = meeting.json()["id"]
    entry = client.post(f"{V1}/mdt-meetings/{mid}/cases/", {"referral": reviewed.pk, "question": "MVD?"}, format="json")
    assert entry.status_code == 201
    eid = entry.json()["id"]
    signed = client.post(f"{V1}/mdt-cases/{eid}/decisions/", {"outcome": "repeat_mri"}, format="json")
    assert signed.status_code == 201 and signed.json()["signed_by"] == neurologist.pk
    detail = client.get(f"{V1}/mdt-meetings/{mid}/").json()
    assert detail["cases"][0]["decision"] == signed.json()["id"] and detail["hidden_cases"] == 0
    again = client.post(f"{V1}/mdt-cases/{eid}/decisions/", {"outcome": "botulinum_toxin"}, format="json")
    assert again.status_code == 409 and again["Content-Type"] == "application/problem+json"
    fix = client.post(
        f"{V1}/mdt-cases/{eid}/decisions/",
        {"outcome": "botulinum_toxin", "corrects": signed.json()["id"], "rationale": "Misheard: toxin"},
        format="json",
    )
    assert fix.status_code == 201 and fix.json()["corrects"] == signed.json()["id"]


def test_roles_are_refused_with_problem_json(api, pediatrician, neurosurgeon, meeting, on_list, reviewed):
    assert api(pediatrician).get(f"{V1}/mdt-meetings/").status_code == 403
    added = api(neurosurgeon).post(
        f"{V1}/mdt-meetings/{meeting.pk}/cases/", {"referral": reviewed.pk, "question": "Q"}, format="json"
    )
    assert added.status_code in (403, 404)  # the neurosurgeon does not see this case yet
    other = api(pediatrician).post(f"{V1}/mdt-cases/{on_list.pk}/decisions/", {"outcome": "other"}, format="json")
    assert other.status_code == 403


def test_other_without_words_is_a_400_naming_the_field(api, neurologist, on_list):
    response = api(neurologist).post(f"{V1}/mdt-cases/{on_list.pk}/decisions/", {"outcome": "other"}, format="json")
    assert response.status_code == 400 and "other_text" in response.json()["errors"]


def test_a_treatment_is_recorded_and_its_visits_read_and_recorded(api, neurologist, reviewed):
    client = api(neurologist)
    day = timezone.localdate().isoformat()
    made = client.post(
        f"{V1}/referrals/{reviewed.pk}/treatments/", {"kind": "botulinum_toxin", "treated_on": day}, format="json"
    )
    assert made.status_code == 201 and len(made.json()["visits"]) == 1
    listed = client.get(f"{V1}/referrals/{reviewed.pk}/treatments/").json()
    visit = listed[0]["visits"][0]
    assert visit["state"] == "planned" and visit["planned_on"] == str(timezone.localdate() + timedelta(weeks=12))
    assert AuditLog.objects.filter(changes__what="api: treatments and follow-up").exists()
    done = client.post(f"{V1}/follow-up-visits/{visit['id']}/record/", {"attended": False}, format="json")
    assert done.status_code == 200 and FollowUpVisit.objects.get().state == "missed"


def test_a_future_treatment_date_is_a_422(api, neurologist, reviewed):
    day = (timezone.localdate() + timedelta(days=2)).isoformat()
    response = api(neurologist).post(
        f"{V1}/referrals/{reviewed.pk}/treatments/", {"kind": "mvd", "treated_on": day}, format="json"
    )
    assert response.status_code == 422 and "treated_on" in response.json()["errors"]


def test_an_outsider_gets_404_for_a_case_they_cannot_see(api, outsider, reviewed):
    assert api(outsider).get(f"{V1}/referrals/{reviewed.pk}/treatments/").status_code == 404


def test_the_meetings_list_pages_and_audits_what_it_shows(api, neurologist, meeting, on_list):
    response = api(neurologist).get(f"{V1}/mdt-meetings/")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["id"] == meeting.pk and row["cases"][0]["question"] == on_list.question
    assert AuditLog.objects.filter(action="list", changes__query="api: MDT meetings").exists()
