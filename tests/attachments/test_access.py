"""Who may open a case's files, how they are served (streamed, with byte ranges, never a public
address), and that every read is audited: the family via their link, a clinician who may see the
case, and one who may not (docs/security.md, "Attachments")."""

import pytest
from django.conf import settings

from carepath.models import AuditLog
from referrals.attachments import services, serving
from tests.attachments.conftest import PDF, file_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def video(neurologist, referral, webm):
    return services.attachment_upload(referral_id=referral.pk, actor=neurologist, file=file_of(webm), title="spasm")


def url(attachment, suffix=""):
    return f"/cases/{attachment.referral_id}/attachments/{attachment.pk}/{suffix}"


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_clinician_who_may_see_the_case_gets_the_file_and_the_read_is_audited(client, pediatrician, video, webm):
    client.force_login(pediatrician)  # the referrer of this case
    response = client.get(url(video))
    assert response.status_code == 200 and body(response) == webm
    assert response["Content-Type"] == "video/webm" and response["Accept-Ranges"] == "bytes"
    assert "no-store" in response["Cache-Control"]
    read = AuditLog.objects.get(action="view", object_type="referrals.attachment")
    assert (read.actor, read.object_id, read.patient_id) == (pediatrician, str(video.pk), video.referral.patient_id)


def test_the_referrer_of_another_case_and_an_outsider_get_404_and_the_attempt_is_audited(
    client, other_pediatrician, outsider, video
):
    for user in (other_pediatrician, outsider):
        client.force_login(user)
        assert client.get(url(video)).status_code == 404
        assert client.get(url(video, "poster/")).status_code == 404
    denied = AuditLog.objects.filter(action="denied", actor=other_pediatrician).first()
    assert denied is not None and denied.patient_id == video.referral.patient_id
    assert not AuditLog.objects.filter(action="view", object_type="referrals.attachment").exists()


def test_the_family_cannot_read_files_back_signed_out_and_the_sign_in_page_is_all_they_get(client, video):
    response = client.get(url(video))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_file_of_one_case_is_not_reachable_through_another_case(client, neurologist, pediatrician, video):
    from tests.factories import make_referral

    other = make_referral(pediatrician)
    client.force_login(neurologist)
    assert client.get(f"/cases/{other.pk}/attachments/{video.pk}/").status_code == 404


def test_a_range_request_answers_206_with_that_part_so_the_player_can_seek(client, neurologist, video, webm):
    client.force_login(neurologist)
    part = client.get(url(video), HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206 and body(part) == webm[10:20]
    assert part["Content-Range"] == f"bytes 10-19/{len(webm)}" and part["Content-Length"] == "10"
    tail = client.get(url(video), HTTP_RANGE="bytes=-5")
    assert tail.status_code == 206 and body(tail) == webm[-5:]
    rest = client.get(url(video), HTTP_RANGE=f"bytes={len(webm) - 3}-")
    assert body(rest) == webm[-3:]
    beyond = client.get(url(video), HTTP_RANGE=f"bytes={len(webm)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(webm)}"
    assert AuditLog.objects.filter(action="view", object_type="referrals.attachment").count() == 4  # every read


def test_the_poster_frame_is_served_as_a_jpeg_to_the_same_people(client, neurologist, video):
    client.force_login(neurologist)
    response = client.get(url(video, "poster/"))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert body(response)[:3] == b"\xff\xd8\xff"


def test_a_download_is_an_attachment_and_a_view_is_inline_both_with_a_locked_down_policy(client, neurologist, referral):
    letter = services.attachment_upload(
        referral_id=referral.pk, actor=neurologist, file=file_of(PDF), original_name="letter.pdf"
    )
    client.force_login(neurologist)
    assert client.get(url(letter))["Content-Disposition"].startswith("inline")
    downloaded = client.get(url(letter) + "?download=1")
    assert downloaded["Content-Disposition"] == 'attachment; filename="letter.pdf"'
    assert downloaded["Content-Security-Policy"] == serving.FILE_CSP and "script-src" not in serving.FILE_CSP


def test_files_are_stored_outside_the_static_files_and_have_no_public_address(video):
    assert settings.MEDIA_URL is None
    with pytest.raises(ValueError):
        video.file.url  # noqa: B018  the storage has no URL to give
    assert not str(settings.MEDIA_ROOT).startswith(str(settings.STATIC_ROOT))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", None),
        ("bytes=0-", (0, 99)),
        ("bytes=5-9", (5, 9)),
        ("bytes=-10", (90, 99)),
        ("bytes=90-500", (90, 99)),
        ("bytes=100-", False),
        ("bytes=9-5", False),
        ("bytes=1-2,5-6", None),
        ("items=0-1", None),
        ("bytes=-", None),
    ],
)
def test_byte_ranges_are_read_as_rfc_9110_says(header, expected):
    assert serving.byte_range(header, 100) == expected
