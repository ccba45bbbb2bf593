"""What a file is, read from its first bytes (magic numbers, `filetype`), never from its name or the
type the client declares; and how large each kind may be (docs/security.md, "Attachments")."""

import dataclasses

import filetype
from django.conf import settings

from .models import AttachmentKind

HEAD_BYTES = 8192  # more than any of filetype's matchers reads (it reads 8 KiB at most)
MB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Accepted:
    kind: str
    content_type: str
    extension: str


# The only types accepted: detected MIME type → what it is and the extension stored names carry.
ACCEPTED = {
    "video/mp4": Accepted(AttachmentKind.VIDEO, "video/mp4", "mp4"),
    "video/quicktime": Accepted(AttachmentKind.VIDEO, "video/quicktime", "mov"),
    "video/webm": Accepted(AttachmentKind.VIDEO, "video/webm", "webm"),
    "image/jpeg": Accepted(AttachmentKind.PHOTO, "image/jpeg", "jpg"),
    "image/png": Accepted(AttachmentKind.PHOTO, "image/png", "png"),
    "image/heic": Accepted(AttachmentKind.PHOTO, "image/heic", "heic"),
    "application/pdf": Accepted(AttachmentKind.PDF, "application/pdf", "pdf"),
}
ACCEPTED_WORDS = "videos (MP4, MOV, WebM), photos (JPEG, PNG, HEIC) and PDF documents"


def sniff(head: bytes) -> Accepted | None:
    """The accepted type these first bytes begin, or None (anything else, whatever its name)."""
    guess = filetype.guess(head[:HEAD_BYTES]) if head else None
    return ACCEPTED.get(guess.mime) if guess else None


def limit_for(kind: str) -> int:
    """Bytes a file of this kind may have (settings CAREPATH_ATTACHMENT_MAX_VIDEO_MB, …_OTHER_MB)."""
    if kind == AttachmentKind.VIDEO:
        return settings.CAREPATH_ATTACHMENT_MAX_VIDEO_MB * MB
    return settings.CAREPATH_ATTACHMENT_MAX_OTHER_MB * MB


def largest_limit() -> int:
    return max(limit_for(kind) for kind in AttachmentKind.values)


def limit_words(kind: str) -> str:
    return f"{limit_for(kind) // MB} MB"
