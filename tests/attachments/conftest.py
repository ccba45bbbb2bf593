"""Attachments' fixtures: files of each kind made at test time (no binary kept in the repository),
a private MEDIA_ROOT per test, and the fake virus scanner."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from referrals.attachments import video

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
# The EICAR test string (a harmless file every scanner reports), inside a PDF so it passes the type check.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
NOT_A_VIDEO = b"<html><script>alert(1)</script></html>" * 10


def fake_scan(file) -> str | None:
    """The tests' scanner (CAREPATH_ATTACHMENT_SCANNER): reports the EICAR string, passes the rest."""
    return "EICAR-Test-File" if EICAR in file.read() else None


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture(autouse=True)
def _plain_http_no_scanner(settings):
    """No scanner; plain HTTP and source static files (as tests/web/). MEDIA_ROOT: tests/conftest.py."""
    settings.CAREPATH_ATTACHMENT_SCANNER = ""
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session")
def webm() -> bytes:
    return video.sample("webm")


@pytest.fixture(scope="session")
def mp4() -> bytes:
    return video.sample("mp4")


@pytest.fixture
def scanner(settings):
    settings.CAREPATH_ATTACHMENT_SCANNER = "tests.attachments.conftest.fake_scan"


def file_of(data: bytes):
    return io.BytesIO(data)


class RecordingSms:
    """The tests' SMS gateway (CAREPATH_SMS_CHANNEL): keeps each text it is given."""

    sent: list[dict] = []

    def send(self, *, to: str, body: str, reference: str) -> None:
        self.sent.append({"to": to, "body": body, "reference": reference})


@pytest.fixture
def sms(settings):
    settings.CAREPATH_SMS_CHANNEL = "tests.attachments.conftest.RecordingSms"
    RecordingSms.sent.clear()
    return RecordingSms.sent
