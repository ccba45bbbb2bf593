"""Attachments in an S3-compatible bucket (CAREPATH_S3_BUCKET; docs/decisions.md, "Attachments in an
S3-compatible bucket"): the same flows as on the filesystem, against a real S3 API (moto's server on
localhost, reached over HTTP by boto3 exactly as a bucket would be), with the storage built from
the environment by carepath/storage_settings.py as the settings build it."""

import dataclasses
import hashlib
import importlib.util
import logging
import re
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from carepath import storage_settings
from carepath.api.tokens import token_issue
from referrals.attachments import services
from referrals.attachments.bucket import NoBucketAddress
from referrals.attachments.models import Attachment
from tests.attachments.conftest import PDF, file_of, upload
from tests.attachments.test_family_links import make_link, send
from tests.conftest import need

pytestmark = pytest.mark.django_db
REGION = "eu-west-2"
STORED_NAME = re.compile(r"^attachments/(\d+)/[0-9a-f]{32}(\.webm|\.mp4|\.pdf|-poster\.jpg)$")


@dataclasses.dataclass
class Bucket:
    name: str
    endpoint: str
    client: object  # boto3's S3 client, talking to the bucket directly (what the test checks against)
    reads: list  # the Range of every GetObject CarePath sent ("" for a whole object)

    def keys(self) -> list[str]:
        return sorted(item["Key"] for item in self.client.list_objects_v2(Bucket=self.name).get("Contents", []))

    def bytes_of(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def names(self) -> tuple[str, ...]:
        """What would give the bucket away in a page or an answer."""
        host = self.endpoint.removeprefix("http://")
        return (self.name, host, "X-Amz-", "amazonaws", "s3.")


@pytest.fixture(scope="module")
def s3_endpoint():
    need(importlib.util.find_spec("moto") is not None, "moto (requirements-dev.txt)")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the server's line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, settings, monkeypatch) -> Bucket:
    """A new, empty bucket per test, and the default storage pointed at it through the environment."""
    import boto3

    for variable, value in {"AWS_ACCESS_KEY_ID": "carepath-test", "AWS_SECRET_ACCESS_KEY": "not-a-secret"}.items():
        monkeypatch.setenv(variable, value)
    name = f"carepath-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("CAREPATH_S3_BUCKET", name)
    monkeypatch.setenv("CAREPATH_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("CAREPATH_S3_REGION", REGION)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION)
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    settings.STORAGES = {**settings.STORAGES, "default": storage_settings.attachment_storage()}
    reads: list[str] = []
    default_storage.connection.meta.client.meta.events.register(
        "before-parameter-build.s3.GetObject", lambda params, **_: reads.append(params.get("Range", ""))
    )
    return Bucket(name, s3_endpoint, client, reads)


def api_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user, name='test')[1]}")
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def file_url(attachment, suffix="") -> str:
    return f"/cases/{attachment.referral_id}/attachments/{attachment.pk}/{suffix}"


def test_the_environment_chooses_the_bucket_and_the_settings_hold_no_credentials(monkeypatch):
    monkeypatch.delenv("CAREPATH_S3_BUCKET", raising=False)
    assert storage_settings.attachment_storage() == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    monkeypatch.setenv("CAREPATH_S3_BUCKET", "carepath-files")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret")
    chosen = storage_settings.attachment_storage()
    options = chosen["OPTIONS"]
    assert chosen["BACKEND"] == "referrals.attachments.bucket.PrivateS3Storage"
    assert options["bucket_name"] == "carepath-files" and options["file_overwrite"] is False
    assert options["default_acl"] is None and options["custom_domain"] is None
    assert options["object_parameters"] == {"ServerSideEncryption": "AES256"}
    assert "AKIAEXAMPLE" not in str(chosen) and "very-secret" not in str(chosen)
    monkeypatch.setenv("CAREPATH_S3_ENCRYPTION", "aws:kms")
    monkeypatch.setenv("CAREPATH_S3_KMS_KEY_ID", "alias/carepath")
    kms = storage_settings.encryption_parameters()
    assert kms == {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/carepath"}
    monkeypatch.setenv("CAREPATH_S3_ENCRYPTION", "none")
    assert storage_settings.encryption_parameters() == {}
    monkeypatch.setenv("CAREPATH_S3_ENCRYPTION", "rot13")
    with pytest.raises(ImproperlyConfigured, match="CAREPATH_S3_ENCRYPTION"):
        storage_settings.attachment_storage()


def test_a_staff_upload_lands_in_the_bucket_encrypted_under_a_random_name_with_its_hash(
    client, neurologist, referral, webm, bucket, settings
):
    client.force_login(neurologist)
    added = client.post(f"/cases/{referral.pk}/attachments/", {"file": upload("Alex spasm.webm", webm), "title": "x"})
    assert added.status_code == 302
    attachment = Attachment.objects.get(referral=referral)
    assert bucket.keys() == sorted([attachment.file.name, attachment.poster.name])
    for key in bucket.keys():
        assert STORED_NAME.match(key) and STORED_NAME.match(key).group(1) == str(referral.pk)
        assert "Alex" not in key and "spasm" not in key
        assert bucket.client.head_object(Bucket=bucket.name, Key=key)["ServerSideEncryption"] == "AES256"
    assert bucket.bytes_of(attachment.file.name) == webm
    assert attachment.sha256 == hashlib.sha256(webm).hexdigest() and attachment.size == len(webm)
    assert bucket.bytes_of(attachment.poster.name)[:3] == b"\xff\xd8\xff"  # the poster frame, a JPEG
    assert attachment.duration_seconds == pytest.approx(2, abs=0.2)
    assert not settings.MEDIA_ROOT.exists()  # nothing written to the local disk


def test_a_family_sends_a_video_by_link_into_the_bucket(client, pediatrician, referral, webm, bucket):
    path = make_link(client, pediatrician, referral)
    done = send(client, path, webm, title="after school")
    assert done.status_code == 200 and "Thank you" in done.content.decode()
    attachment = Attachment.objects.get(referral=referral)
    assert attachment.from_family and bucket.bytes_of(attachment.file.name) == webm
    assert send(client, path, PDF, name="more.pdf").status_code == 410  # still single use
    assert len(bucket.keys()) == 2  # the video and its poster; nothing from the refused second file


def test_the_case_page_plays_the_video_from_the_bucket_a_range_at_a_time(client, neurologist, referral, webm, bucket):
    video = services.attachment_upload(referral_id=referral.pk, actor=neurologist, file=file_of(webm), title="spasm")
    client.force_login(neurologist)
    page = client.get(f"/cases/{referral.pk}/").content.decode()
    assert f'<source src="{file_url(video)}"' in page and f'poster="{file_url(video, "poster/")}"' in page
    part = client.get(file_url(video), HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and body(part) == webm[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{len(webm)}"
    tail = client.get(file_url(video), HTTP_RANGE="bytes=-16")
    assert tail.status_code == 206 and body(tail) == webm[-16:]
    whole = client.get(file_url(video))
    assert whole.status_code == 200 and body(whole) == webm
    poster = client.get(file_url(video, "poster/"))
    assert poster["Content-Type"] == "image/jpeg" and body(poster) == bucket.bytes_of(video.poster.name)
    # each seek asked the bucket for those bytes only, never the whole video
    assert bucket.reads[:3] == ["bytes=100-199", f"bytes={len(webm) - 16}-{len(webm) - 1}", f"bytes=0-{len(webm) - 1}"]


def test_the_api_uploads_to_and_streams_from_the_bucket(neurologist, referral, mp4, bucket):
    client = api_client(neurologist)
    created = client.post(
        f"/api/v1/referrals/{referral.pk}/attachments/", {"file": upload("clip.mp4", mp4)}, format="multipart"
    )
    assert created.status_code == 201, created.content
    attachment = Attachment.objects.get(pk=created.json()["id"])
    assert bucket.bytes_of(attachment.file.name) == mp4
    part = client.get(created.json()["links"]["file"], HTTP_RANGE="bytes=0-7")
    assert part.status_code == 206 and body(part) == mp4[:8]


def test_a_prefix_puts_the_files_in_a_folder_of_a_shared_bucket_and_they_still_play(
    client, neurologist, referral, webm, bucket, settings, monkeypatch
):
    monkeypatch.setenv("CAREPATH_S3_PREFIX", "/carepath/files/")
    settings.STORAGES = {**settings.STORAGES, "default": storage_settings.attachment_storage()}
    video = services.attachment_upload(referral_id=referral.pk, actor=neurologist, file=file_of(webm))
    assert bucket.keys() == sorted(f"carepath/files/{name}" for name in (video.file.name, video.poster.name))
    client.force_login(neurologist)
    part = client.get(file_url(video), HTTP_RANGE="bytes=0-9")
    assert part.status_code == 206 and body(part) == webm[:10]


def test_someone_who_may_not_see_the_case_gets_nothing_from_the_bucket(
    client, neurologist, other_pediatrician, outsider, referral, webm, bucket
):
    video = services.attachment_upload(referral_id=referral.pk, actor=neurologist, file=file_of(webm))
    for user in (other_pediatrician, outsider):
        client.force_login(user)
        assert client.get(file_url(video)).status_code == 404
        assert client.get(file_url(video, "poster/")).status_code == 404
        api = api_client(user).get(f"/api/v1/referrals/{referral.pk}/attachments/{video.pk}/file/")
        assert api.status_code == 404
    assert bucket.reads == []  # the bucket was never asked


def test_no_page_or_answer_gives_the_bucket_away(client, neurologist, pediatrician, referral, webm, bucket):
    video = services.attachment_upload(referral_id=referral.pk, actor=neurologist, file=file_of(webm))
    family_page = client.get(make_link(client, pediatrician, referral))
    client.force_login(neurologist)
    api = api_client(neurologist)
    answers = [
        family_page,
        client.get(f"/cases/{referral.pk}/"),
        api.get(f"/api/v1/referrals/{referral.pk}/attachments/"),
        api.get(f"/api/v1/referrals/{referral.pk}/"),
    ]
    streamed = [client.get(file_url(video)), client.get(file_url(video, "poster/"), HTTP_RANGE="bytes=0-3")]
    for response in answers + streamed:
        assert response.status_code in (200, 206), response
        text = str(dict(response.items())) + (response.content.decode() if response in answers else "")
        for giveaway in bucket.names():
            assert giveaway not in text, (giveaway, response)
    with pytest.raises(NoBucketAddress):
        video.file.url  # noqa: B018  the storage will not make an address, even a signed one


def test_a_failed_upload_leaves_nothing_in_the_bucket(neurologist, referral, webm, bucket, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "_record", fail)
    with pytest.raises(RuntimeError):
        services.attachment_upload(referral_id=referral.pk, actor=neurologist, file=file_of(webm))
    assert bucket.keys() == [] and not Attachment.objects.exists()


def test_check_deploy_stays_clean_with_production_settings_and_a_bucket():
    from tests.test_commands import _check_deploy, _production_env

    env = _production_env(CAREPATH_S3_BUCKET="carepath-files", CAREPATH_S3_REGION=REGION)
    result = _check_deploy(env)
    assert result.returncode == 0, result.stdout + result.stderr
