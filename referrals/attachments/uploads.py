"""Refuse a file while it streams in, before it is all on disk (docs/security.md, "Attachments").

Django's upload handlers see the body chunk by chunk (64 KiB); this one spools to a temporary file
(never the whole file in memory), reads the type from the first chunk, and stops reading as soon as
the file is longer than its kind may be, or its first bytes are no accepted type. The service checks
the whole file again (referrals/attachments/services.py): this is the early door, not the only one.

Install it before anything reads the body: `install(request)` at the top of a view that is
`csrf_exempt` outside and `csrf_protect` inside (the CSRF check reads the body), or in an API view's
`initial()` before authentication (DRF's session CSRF check reads it too).
"""

from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler

from carepath.pathway.errors import InvalidData

from . import content
from .errors import TooLarge, UnsupportedType


class CheckedUploadHandler(TemporaryFileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.refusal: Exception | None = None
        self.received = 0
        self.limit = content.largest_limit()

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        """A body longer than any file may be is refused at its first chunk (raising here would escape
        Django's parser, which only catches StopUpload while it reads the parts)."""
        if content_length and content_length > content.largest_limit() + content.MB:  # room for the form's fields
            self.refusal = TooLarge(f"A file may be at most {content.limit_words('video')}.")

    def new_file(self, *args, **kwargs):
        self.received = 0
        super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        if self.refusal is not None:
            raise StopUpload(connection_reset=True)
        if start == 0:
            accepted = content.sniff(raw_data)
            if accepted is None:
                self.refusal = UnsupportedType(
                    f"Only {content.ACCEPTED_WORDS} are accepted; this file is none of them."
                )
                raise StopUpload(connection_reset=False)
            self.limit = content.limit_for(accepted.kind)
            self.kind = accepted.kind
        self.received += len(raw_data)
        if self.received > self.limit:
            self.refusal = TooLarge(f"A {self.kind} may be at most {content.limit_words(self.kind)}.")
            raise StopUpload(connection_reset=False)
        return super().receive_data_chunk(raw_data, start)


def install(request) -> CheckedUploadHandler:
    handler = CheckedUploadHandler(request)
    request.upload_handlers = [handler]
    return handler


def received_file(request, handler: CheckedUploadHandler, message: str):
    """The form's `file`, read through the handler; the handler's refusal (TooLarge, UnsupportedType)
    or InvalidData (`message`) when there is none."""
    upload = request.FILES.get("file")  # reads the body: the handler sees it here, chunk by chunk
    if handler.refusal is not None:
        raise handler.refusal
    if upload is None:
        raise InvalidData({"file": message})
    return upload
