"""A family sends a video through a one-time, expiring link a pediatrician or neurologist made: no
sign-in, the token stored hashed, single use, a page that shows only the child's first name
(docs/design.md, "Attachments")."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from carepath.models import AuditLog, CaseEvent
from carepath.pathway.errors import Forbidden
from referrals.attachments import services
from referrals.attachments.errors import LinkGone
from referrals.attachments.models import Attachment, UploadLink
from tests.attachments.conftest import NOT_A_VIDEO, PDF, upload

pytestmark = pytest.mark.django_db


def make_link(client, user, referral) -> str:
    client.force_login(user)
    page = client.post(f"/cases/{referral.pk}/upload-links/").content.decode()
    client.logout()
    return re.search(r'value="http://testserver(/family/upload/[^"]+/)"', page).group(1)


def send(client, path, data=b"", name="spasm.webm", **fields):
    return client.post(path, {"file": upload(name, data), **fields})


def test_a_neurologist_makes_a_link_the_family_sends_a_video_and_the_neurologist_sees_it(
    client, neurologist, referral, webm
):
    path = make_link(client, neurologist, referral)
    page = client.get(path)
    assert page.status_code == 200 and "Send a video of Alex" in page.content.decode()
    done = send(client, path, webm, title="after school")
    assert done.status_code == 200 and "Thank you" in done.content.decode()
    attachment = Attachment.objects.get(referral=referral)
    assert attachment.from_family and attachment.uploaded_by is None and attachment.kind == "video"
    assert attachment.category == "family_media" and attachment.title == "after school"
    event = CaseEvent.objects.get(transition="attachment")
    assert event.data["by"] == "family"
    client.force_login(neurologist)
    case = client.get(f"/cases/{referral.pk}/").content.decode()
    assert "The family sent a video: after school" in case and "<video controls" in case
    assert "the family, by upload link" in case  # not the system user the event is stored under


def test_the_token_is_random_and_only_its_hash_is_stored(client, neurologist, referral):
    path = make_link(client, neurologist, referral)
    token = path.split("/")[-2]
    link = UploadLink.objects.get()
    assert len(token) >= 40 and token not in link.token_hash and link.token_hash == services.token_hash(token)
    created = AuditLog.objects.get(object_type="referrals.uploadlink", action="create")
    assert token not in str(created.changes)


def test_the_family_page_shows_no_clinical_data_beyond_the_first_name(client, pediatrician, referral):
    path = make_link(client, pediatrician, referral)
    page = client.get(path).content.decode()
    patient = referral.patient
    assert patient.given_name in page
    for private in (patient.family_name, patient.mrn, referral.reason, referral.reference, "Sign out"):
        assert private not in page
    assert 'name="viewport"' in page and "What to film" in page and "<script" not in page


def test_a_link_works_once(client, neurologist, referral):
    path = make_link(client, neurologist, referral)
    assert send(client, path, PDF, name="photo.pdf").status_code == 200
    again = send(client, path, PDF, name="photo.pdf")
    assert again.status_code == 410 and "used already" in again.content.decode()
    assert client.get(path).status_code == 410
    assert Attachment.objects.count() == 1


def test_an_expired_link_answers_410_and_accepts_nothing(client, neurologist, referral):
    path = make_link(client, neurologist, referral)
    UploadLink.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    page = client.get(path)
    assert page.status_code == 410 and "expired" in page.content.decode()
    assert send(client, path, PDF).status_code == 410 and not Attachment.objects.exists()


def test_the_expiry_is_configurable(settings, neurologist, referral):
    settings.CAREPATH_UPLOAD_LINK_DAYS = 2
    link, _ = services.upload_link_create(referral_id=referral.pk, actor=neurologist)
    assert link.expires_at - link.created_at == timedelta(days=2)


def test_a_refused_file_leaves_the_link_usable(client, neurologist, referral, webm):
    path = make_link(client, neurologist, referral)
    refused = send(client, path, NOT_A_VIDEO, name="spasm.mp4")
    assert refused.status_code == 415 and "Only videos" in refused.content.decode()
    assert send(client, path, webm).status_code == 200


def test_an_unknown_token_is_404(client):
    assert client.get("/family/upload/not-a-token/").status_code == 404


def test_two_uploads_racing_through_one_link_store_one(neurologist, referral, webm):
    import io

    _, token = services.upload_link_create(referral_id=referral.pk, actor=neurologist)
    services.usable_link(token)  # both uploads found the link usable before either claimed it
    UploadLink.objects.update(used_at=timezone.now())  # the other one claimed it first
    with pytest.raises(LinkGone):
        services.family_upload(token=token, file=io.BytesIO(webm))


def test_only_the_referrer_and_neurology_make_links_and_only_for_an_open_case(
    client, coordinator, neurosurgeon, pathway, neurologist
):
    case = pathway.neurosurgery()
    for user in (coordinator, neurosurgeon):
        with pytest.raises(Forbidden):
            services.upload_link_create(referral_id=case.pk, actor=user)
    client.force_login(neurosurgeon)
    assert client.post(f"/cases/{case.pk}/upload-links/").status_code == 403
    assert "Ask the family for a video" not in client.get(f"/cases/{case.pk}/").content.decode()
    client.force_login(neurologist)
    assert "Ask the family for a video" in client.get(f"/cases/{case.pk}/").content.decode()


def test_a_closed_case_takes_no_new_link(pathway, neurologist):
    from carepath.pathway.errors import TransitionNotAllowed

    closed = pathway.closed()
    with pytest.raises(TransitionNotAllowed):
        services.upload_link_create(referral_id=closed.pk, actor=neurologist)


def test_the_case_page_says_a_link_is_waiting_for_the_family_until_it_is_used(client, neurologist, referral, webm):
    path = make_link(client, neurologist, referral)
    client.force_login(neurologist)
    assert "Waiting for the family" in client.get(f"/cases/{referral.pk}/").content.decode()

    client.logout()
    send(client, path, webm)
    client.force_login(neurologist)
    assert "Waiting for the family" not in client.get(f"/cases/{referral.pk}/").content.decode()
