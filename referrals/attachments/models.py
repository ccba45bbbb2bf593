"""An attachment's facts and a family's upload link (referrals/attachments/__init__.py). Fields only:
every write is in referrals/attachments/services.py."""

from django.conf import settings
from django.db import models


class AttachmentKind(models.TextChoices):
    """What the bytes are (read from them: referrals/attachments/content.py)."""

    VIDEO = "video", "Video"
    PHOTO = "photo", "Photo"
    PDF = "pdf", "PDF document"


class AttachmentCategory(models.TextChoices):
    """What the uploader says it is."""

    FAMILY_MEDIA = "family_media", "Parent's video or photo"
    LETTER = "letter", "Letter"
    OUTSIDE_REPORT = "outside_report", "Outside report"
    OTHER = "other", "Other"


class Attachment(models.Model):
    referral = models.ForeignKey("referrals.Referral", on_delete=models.PROTECT, related_name="attachments")
    kind = models.CharField(max_length=8, choices=AttachmentKind.choices)
    content_type = models.CharField(max_length=64, help_text="Read from the file's bytes, not its name.")
    category = models.CharField(max_length=16, choices=AttachmentCategory.choices)
    title = models.CharField(max_length=200, blank=True)
    original_name = models.CharField(max_length=200, blank=True, help_text="As the uploader's device named it.")
    file = models.FileField(max_length=200)  # a random name under attachments/<case>/, never the original
    size = models.BigIntegerField(help_text="Bytes.")
    sha256 = models.CharField(max_length=64)
    duration_seconds = models.FloatField(null=True, blank=True)
    poster = models.FileField(max_length=200, blank=True)
    preview_note = models.CharField(max_length=200, blank=True, help_text="Why a video has no poster or duration.")
    scanned = models.BooleanField(default=False, help_text="A virus scanner passed it (off when none is set).")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    upload_link = models.OneToOneField(
        "referrals.UploadLink", null=True, blank=True, on_delete=models.PROTECT, related_name="attachment"
    )
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        indexes = [models.Index(fields=["referral", "uploaded_at"], name="attachment_referral_at")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.title or self.original_name} on {self.referral_id}"

    @property
    def audit_patient_id(self) -> int:
        return self.referral.patient_id

    @property
    def from_family(self) -> bool:
        return self.upload_link_id is not None


class UploadLink(models.Model):
    """A one-time address a family uploads through, without signing in. The token is shown once to
    the clinician who made it; only its SHA-256 is kept."""

    referral = models.ForeignKey("referrals.Referral", on_delete=models.PROTECT, related_name="upload_links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Upload link {self.pk} for {self.referral_id}"

    @property
    def audit_patient_id(self) -> int:
        return self.referral.patient_id
