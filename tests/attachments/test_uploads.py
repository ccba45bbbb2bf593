"""Staff upload a file to a case: the type is read from the bytes, the size is limited while the
body streams in, the file is hashed, scanned when a scanner is set, stored privately, and shown on
the timeline and in the audit (docs/security.md, "Attachments")."""

import hashlib

import pytest
from django.core.files.storage import default_storage

from carepath.models import AuditLog, CaseEvent
from referrals.attachments import services
from referrals.attachments.errors import Refused, TooLarge, UnsupportedType
from referrals.attachments.models import Attachment
from tests.attachments.conftest import EICAR, NOT_A_VIDEO, PDF, PNG, file_of, upload

pytestmark = pytest.mark.django_db


def add(client, referral, name, data, **fields):
    return client.post(f"/cases/{referral.pk}/attachments/", {"file": upload(name, data), **fields})


def test_a_neurologist_adds_a_letter_that_is_hashed_stored_privately_and_audited(client, neurologist, referral):
    client.force_login(neurologist)
    response = add(client, referral, "clinic letter.pdf", PDF, category="letter", title="GP letter")
    assert response.status_code == 302 and response["Location"].endswith("#attachments")
    attachment = Attachment.objects.get(referral=referral)
    assert (attachment.kind, attachment.content_type, attachment.category) == ("pdf", "application/pdf", "letter")
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest() and attachment.size == len(PDF)
    assert attachment.file.name.startswith(f"attachments/{referral.pk}/") and "clinic" not in attachment.file.name
    assert default_storage.open(attachment.file.name).read() == PDF
    assert attachment.uploaded_by == neurologist and attachment.original_name == "clinic letter.pdf"
    created = AuditLog.objects.get(action="create", object_type="referrals.attachment")
    assert created.actor == neurologist and created.patient_id == referral.patient_id
    assert created.changes["sha256"] == attachment.sha256
    event = CaseEvent.objects.get(referral=referral, transition="attachment")
    assert event.actor == neurologist and event.data["attachment"] == attachment.pk


def test_the_case_page_shows_the_file_and_the_timeline_names_it(client, neurologist, referral):
    client.force_login(neurologist)
    add(client, referral, "letter.pdf", PDF, category="letter", title="GP letter")
    page = client.get(f"/cases/{referral.pk}/").content.decode()
    attachment = Attachment.objects.get()
    assert f'href="/cases/{referral.pk}/attachments/{attachment.pk}/"' in page
    assert "Open the PDF" in page and "Added a PDF: GP letter" in page


def test_a_video_gets_its_duration_and_a_poster_frame(neurologist, referral, mp4):
    attachment = services.attachment_upload(
        referral_id=referral.pk, actor=neurologist, file=file_of(mp4), title="spasm"
    )
    assert attachment.kind == "video" and attachment.content_type == "video/mp4"
    assert attachment.duration_seconds == pytest.approx(2.0, abs=0.2)
    poster = default_storage.open(attachment.poster.name).read()
    assert poster[:3] == b"\xff\xd8\xff" and attachment.preview_note == ""


def test_a_video_the_library_cannot_decode_is_kept_and_says_why_it_has_no_preview(neurologist, referral, webm):
    broken = webm[:200]  # the WebM header, then nothing: the bytes say video, FFmpeg finds no frame
    attachment = services.attachment_upload(referral_id=referral.pk, actor=neurologist, file=file_of(broken))
    assert attachment.kind == "video" and not attachment.poster and attachment.duration_seconds is None
    assert attachment.preview_note.startswith("No preview")


def test_a_file_named_mp4_that_is_not_a_video_is_refused_whatever_its_declared_type(client, neurologist, referral):
    client.force_login(neurologist)
    spoofed = upload("spasm.mp4", NOT_A_VIDEO, content_type="video/mp4")
    response = client.post(f"/cases/{referral.pk}/attachments/", {"file": spoofed}, follow=True)
    assert "The file was not added: Only videos (MP4, MOV, WebM)" in response.content.decode()
    assert not Attachment.objects.exists()
    with pytest.raises(UnsupportedType):
        services.attachment_upload(referral_id=referral.pk, actor=neurologist, file=file_of(NOT_A_VIDEO))


def test_the_type_comes_from_the_bytes_not_the_name(neurologist, referral):
    attachment = services.attachment_upload(
        referral_id=referral.pk, actor=neurologist, file=upload("report.pdf", PNG), original_name="report.pdf"
    )
    assert (attachment.kind, attachment.content_type) == ("photo", "image/png")
    assert attachment.file.name.endswith(".png")


def test_a_file_over_its_kinds_limit_is_refused_while_it_streams_in(client, settings, neurologist, referral):
    settings.CAREPATH_ATTACHMENT_MAX_OTHER_MB = 1
    client.force_login(neurologist)
    big = PDF + b"0" * (1024 * 1024)
    response = client.post(f"/cases/{referral.pk}/attachments/", {"file": upload("big.pdf", big)}, follow=True)
    assert "The file was not added: A pdf may be at most 1 MB." in response.content.decode()
    assert not Attachment.objects.exists()
    assert not default_storage.exists("attachments")


def test_the_video_limit_is_separate_and_larger(settings, neurologist, referral, mp4):
    settings.CAREPATH_ATTACHMENT_MAX_OTHER_MB = 0  # photos and PDFs: nothing fits
    assert services.attachment_upload(referral_id=referral.pk, actor=neurologist, file=file_of(mp4)).kind == "video"
    with pytest.raises(TooLarge):
        services.attachment_upload(referral_id=referral.pk, actor=neurologist, file=file_of(PDF))


def test_the_scanner_refuses_an_infected_file_which_is_never_stored_and_is_audited(scanner, neurologist, referral):
    with pytest.raises(Refused):
        services.attachment_upload(referral_id=referral.pk, actor=neurologist, file=file_of(PDF + EICAR))
    assert not Attachment.objects.exists() and not default_storage.exists("attachments")
    refusal = AuditLog.objects.get(action="create", object_type="referrals.attachment")
    assert refusal.changes["threat"] == "EICAR-Test-File" and refusal.patient_id == referral.patient_id


def test_a_clean_file_is_marked_scanned_and_without_a_scanner_it_says_not_scanned(settings, neurologist, referral):
    unscanned = services.attachment_upload(referral_id=referral.pk, actor=neurologist, file=file_of(PDF))
    settings.CAREPATH_ATTACHMENT_SCANNER = "tests.attachments.conftest.fake_scan"
    scanned = services.attachment_upload(referral_id=referral.pk, actor=neurologist, file=file_of(PDF))
    assert (unscanned.scanned, scanned.scanned) == (False, True)


def test_a_scanner_that_fails_refuses_the_file(settings, neurologist, referral):
    settings.CAREPATH_ATTACHMENT_SCANNER = "tests.attachments.test_uploads.broken_scanner"
    with pytest.raises(Refused):
        services.attachment_upload(referral_id=referral.pk, actor=neurologist, file=file_of(PDF))


def broken_scanner(file):
    raise ConnectionError("scanner down")


def test_an_integration_may_not_add_files_and_a_role_that_cannot_see_the_case_gets_404(
    client, coordinator, other_pediatrician, referral
):
    client.force_login(other_pediatrician)
    assert add(client, referral, "a.pdf", PDF).status_code == 404
    client.force_login(coordinator)  # imaging does not see a case before its MRI
    assert add(client, referral, "a.pdf", PDF).status_code == 404
    assert not Attachment.objects.exists()
