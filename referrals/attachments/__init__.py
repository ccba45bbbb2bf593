"""Attachments of a case: parents' videos and photos, letters, outside reports (docs/design.md,
"Attachments"; docs/security.md, "Attachments").

- models.py: `Attachment` (the file's facts, never its bytes), `UploadLink` (a family's one-time link);
- content.py: what a file is, read from its first bytes (never its name), and the size limits;
- uploads.py: the upload handler that refuses too large or unknown files while they stream in;
- video.py: a video's duration and poster frame (PyAV);
- scanning.py: the virus-scan hook;
- services.py: the writers (staff upload, a link made and used);
- sending.py: a link sent to a parent or carer (e-mail and/or SMS deliveries); link_form.py: the
  case page's choice of who gets it (or the link shown to copy);
- serving.py: streaming a file to a reader, with byte ranges;
- views.py, urls.py (pages), api.py (API routes).
"""
