"""Stream a stored file to a reader who may see it, with byte ranges (RFC 9110 §14) so a video
player can seek: `Range: bytes=a-b`, `a-` or `-n` answers 206 with that part; a range past the end
416; no range the whole file (200). The file is read from storage in chunks, never whole in memory:
from a bucket as one ranged GET of just those bytes (bucket.py), from the filesystem by a seek.
The caller has checked access and audits the read (referrals/attachments/views.py, api.py)."""

import re

from django.core.files.storage import default_storage
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

CHUNK = 256 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# The file's own answer: nothing in it runs or loads anything (an SVG or HTML smuggled as a PDF
# cannot script our origin); media and images may load from us (the browser's own viewers).
FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; object-src 'self'; frame-ancestors 'self'"


def byte_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(first, last) inclusive for a single satisfiable range; None for no or an unreadable header
    (the whole file, as RFC 9110 allows); False for a range past the end (416)."""
    match = RANGE.match((header or "").strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # the last n bytes
        length = int(last)
        return (max(0, size - length), size - 1) if length and size else False
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return False
    return start, end


def stream(name: str, *, content_type: str, size: int, range_header: str, filename: str, inline: bool = True):
    wanted = byte_range(range_header, size)
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    first, last = wanted or (0, size - 1)
    response = StreamingHttpResponse(
        _chunks(name, first, last), content_type=content_type, status=206 if wanted else 200
    )
    response["Content-Length"] = str(max(0, last - first + 1))
    if wanted:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = content_disposition_header(not inline, filename)
    response["Content-Security-Policy"] = FILE_CSP
    return response


def _chunks(name: str, first: int, last: int):
    if last < first:
        return
    read_range = getattr(default_storage, "read_range", None)  # a bucket's ranged GET (bucket.py)
    if read_range is not None:
        yield from read_range(name, first, last, CHUNK)
        return
    with default_storage.open(name, "rb") as handle:
        handle.seek(first)
        left = last - first + 1
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
