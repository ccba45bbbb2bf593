"""Attachments over the API (docs/api.md, "Attachments"): list, multipart upload, download with
ranges, upload links, the family's upload; refusals as problem+json."""

import pytest
from rest_framework.test import APIClient

from carepath.api.tokens import token_issue
from carepath.models import AuditLog
from referrals.attachments.models import Attachment, UploadLink
from tests.attachments.conftest import EICAR, NOT_A_VIDEO, PDF, upload

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


@pytest.fixture
def api():
    def make(user=None):
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user, name='test')[1]}")
        return client

    return make


def post_file(client, referral, name, data, **fields):
    return client.post(
        f"/api/v1/referrals/{referral.pk}/attachments/", {"file": upload(name, data), **fields}, format="multipart"
    )


def test_upload_list_and_download(api, neurologist, referral, mp4):
    client = api(neurologist)
    created = post_file(client, referral, "spasm.mp4", mp4, category="family_media", title="at home")
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["kind"], data["content_type"], data["category"], data["uploaded_by"]) == (
        "video",
        "video/mp4",
        "family_media",
        neurologist.username,
    )
    assert set(data["links"]) == {"file", "poster"} and data["duration_seconds"] == pytest.approx(2.0, abs=0.2)
    listed = client.get(f"/api/v1/referrals/{referral.pk}/attachments/")
    assert [a["id"] for a in listed.json()] == [data["id"]]
    assert AuditLog.objects.filter(action="list", object_type="referrals.attachment").exists()
    file = client.get(data["links"]["file"], HTTP_RANGE="bytes=0-99", HTTP_ACCEPT="video/mp4")
    assert file.status_code == 206 and b"".join(file.streaming_content) == mp4[:100]


def test_a_spoofed_type_is_415_problem_json(api, neurologist, referral):
    response = post_file(api(neurologist), referral, "spasm.mp4", NOT_A_VIDEO)
    assert response.status_code == 415 and response["Content-Type"] == PROBLEM
    assert response.json()["title"] == "Unsupported file type"


def test_a_file_too_large_is_413_problem_json(api, settings, neurologist, referral):
    settings.CAREPATH_ATTACHMENT_MAX_OTHER_MB = 1
    response = post_file(api(neurologist), referral, "big.pdf", PDF + b"0" * (1024 * 1024))
    assert response.status_code == 413 and response.json()["detail"] == "A pdf may be at most 1 MB."
    assert not Attachment.objects.exists()


def test_an_infected_file_is_422_and_not_stored(api, scanner, neurologist, referral):
    response = post_file(api(neurologist), referral, "letter.pdf", PDF + EICAR)
    assert response.status_code == 422 and response["Content-Type"] == PROBLEM
    assert not Attachment.objects.exists()


def test_no_file_is_400(api, neurologist, referral):
    response = api(neurologist).post(f"/api/v1/referrals/{referral.pk}/attachments/", {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["errors"]


def test_an_integration_role_is_403_and_a_case_you_may_not_see_is_404(api, groups, other_pediatrician, referral):
    from carepath.pathway.roles import Role
    from tests.factories import UserFactory

    ehr = UserFactory(role=Role.EHR_CLIENT, username="ehr")
    referral.created_by = ehr  # the EHR that sent this case sees it, and still may not add files
    referral.save(update_fields=["created_by"])
    assert post_file(api(ehr), referral, "a.pdf", PDF).status_code == 403
    assert post_file(api(other_pediatrician), referral, "a.pdf", PDF).status_code == 404
    assert api(other_pediatrician).get(f"/api/v1/referrals/{referral.pk}/attachments/").status_code == 404
    assert api().get(f"/api/v1/referrals/{referral.pk}/attachments/").status_code == 401


def test_a_family_uploads_through_the_api_once_then_410(api, neurologist, referral, webm):
    made = api(neurologist).post(f"/api/v1/referrals/{referral.pk}/upload-links/")
    assert made.status_code == 201
    path = made.json()["url"].removeprefix("http://testserver").replace("/family/upload/", "/api/v1/family-uploads/")
    family = api()
    first = family.post(path, {"file": upload("v.webm", webm)}, format="multipart")
    assert first.status_code == 201 and first.json() == {"received": True}
    second = family.post(path, {"file": upload("v.webm", webm)}, format="multipart")
    assert second.status_code == 410 and second["Content-Type"] == PROBLEM
    assert UploadLink.objects.get().used_at is not None


def test_a_coordinator_may_not_make_a_link(api, coordinator, pathway):
    case = pathway.scheduled()
    response = api(coordinator).post(f"/api/v1/referrals/{case.pk}/upload-links/")
    assert response.status_code == 403 and response["Content-Type"] == PROBLEM
