"""The writers of attachments (docs/design.md, "Attachments"): a file uploaded by staff, an upload
link made by a clinician (shown to copy, or sent to a parent or carer: sending.py), a file sent by
a family through it. Every file is checked before it is
stored: its type from its bytes (content.py), its size, its SHA-256, the virus scan (scanning.py);
then stored through Django's storage API, and the row, the timeline event and the audit row written
in one short transaction (a family's link is claimed there, compare-and-set: single use)."""

import dataclasses
import hashlib
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from carepath.models import AuditLog, CaseEvent
from carepath.pathway import access, audit
from carepath.pathway.errors import Forbidden, TransitionNotAllowed
from carepath.pathway.roles import Role, get_system_user, user_roles

from ..models import OPEN_STATES, Guardian, Referral
from . import content, scanning, sending, video
from .errors import LinkGone, LinkMadeMeanwhile, Refused, TooLarge, UnsupportedType
from .models import Attachment, AttachmentCategory, AttachmentKind, UploadLink

# Staff who may add a file to a case they may see: the clinical roles (integrations do not upload).
UPLOAD_ROLES = frozenset(
    {
        Role.PEDIATRICIAN,
        Role.NEUROLOGIST,
        Role.NEUROSURGEON,
        Role.IMAGING_COORDINATOR,
        Role.NEURORADIOLOGIST,
        Role.ADMIN,
    }
)
# Who asks a family for a video: the referrer and neurology (docs/design.md, "Attachments").
LINK_ROLES = frozenset({Role.PEDIATRICIAN, Role.NEUROLOGIST})
CHUNK = 1024 * 1024
USED = "This link has been used already. Ask the clinic for a new one if you need to send more."
NAME_MAX = 200
MEANWHILE = "A link was made for this family a moment ago (see Waiting for the family): nothing more was sent."


def may_upload(user) -> bool:
    return bool(user_roles(user) & UPLOAD_ROLES)


def may_make_link(user, referral: Referral) -> bool:
    return bool(user_roles(user) & LINK_ROLES) and referral.state in OPEN_STATES


def visible_case(user, referral_id: int) -> Referral:
    """The case if `user` may see it (carepath/pathway/access.py); else Referral.DoesNotExist (404)."""
    return Referral.objects.filter(access.referral_q(user)).select_related("patient").get(pk=referral_id)


@dataclasses.dataclass
class Checked:
    accepted: content.Accepted
    size: int
    sha256: str
    scanned: bool


def check(file, *, referral: Referral, actor=None, via: str) -> Checked:
    """Type from the first bytes, size, hash, scan: every refusal before anything is stored."""
    file.seek(0)
    accepted = content.sniff(file.read(content.HEAD_BYTES))
    if accepted is None:
        raise UnsupportedType(f"Only {content.ACCEPTED_WORDS} are accepted; this file is none of them.")
    digest, size = hashlib.sha256(), 0
    file.seek(0)
    while chunk := file.read(CHUNK):
        size += len(chunk)
        if size > content.limit_for(accepted.kind):
            raise TooLarge(f"A {accepted.kind} may be at most {content.limit_words(accepted.kind)}.")
        digest.update(chunk)
    try:
        scanned = scanning.scan(file)
    except scanning.Infected as exc:
        audit.record_event(
            actor,
            AuditLog.Action.CREATE,
            "referrals.attachment",
            patient_id=referral.patient_id,
            changes={"refused": "virus scan", "threat": exc.threat, "sha256": digest.hexdigest(), "via": via},
        )
        raise Refused({"file": "The virus scanner refused this file; it was not stored."}) from exc
    return Checked(accepted, size, digest.hexdigest(), scanned)


def attachment_upload(*, referral_id: int, actor, file, original_name="", category="", title="") -> Attachment:
    """A file added by staff to a case they may see (404 otherwise; 403 for a role that may not)."""
    referral = visible_case(actor, referral_id)
    if not may_upload(actor):
        raise Forbidden("Your role may not add files to a case.")
    checked = check(file, referral=referral, actor=actor, via="staff")
    return _store(referral, file, checked, actor=actor, original_name=original_name, category=category, title=title)


def upload_link_create(*, referral_id: int, actor, days: int | None = None) -> tuple[UploadLink, str]:
    """A one-time link for the family, shown once to copy; returns the row and the token (stored hashed)."""
    referral = linkable_case(actor, referral_id)
    with transaction.atomic():
        return _make_link(referral, actor, days)


@dataclasses.dataclass
class Sent:
    link: UploadLink
    guardian: Guardian
    channels: list[str]


def upload_link_send(
    *, referral_id: int, actor, guardian: int | None = None, days: int | None = None, newest_seen: int | None = None
) -> Sent:
    """A one-time link sent to one of the child's parents or carers (by default the first with
    parental responsibility) by their contact preference; nobody sees the token. A person who is
    not the child's (400) or has no usable contact (422) is refused before anything is written.
    `newest_seen`: the case's newest link when the form was drawn; a link made since (a double
    click, a colleague) refuses this one (409), so the family is not sent two."""
    referral = linkable_case(actor, referral_id)
    recipient = sending.recipient(referral, guardian)
    with transaction.atomic():
        if newest_seen is not None:
            list(Referral.objects.select_for_update().filter(pk=referral.pk).values_list("pk"))  # one sender at a time
            if referral.upload_links.filter(pk__gt=newest_seen).exists():
                raise LinkMadeMeanwhile(MEANWHILE)
        link, token = _make_link(referral, actor, days)
        via = sending.send(link, token, recipient, actor=actor)
    return Sent(link, recipient, via)


def upload_link_withdraw(*, referral_id: int, link_id: int, actor) -> UploadLink:
    """A link sent to the wrong person, or no longer wanted, stops working now (it expires at once):
    a message not sent yet is not sent, and the address leaves every message that carried it. Who
    may make links on the case may withdraw them, also once it is closed. Idempotent."""
    referral = visible_case(actor, referral_id)
    if not user_roles(actor) & LINK_ROLES:
        raise Forbidden("Only the referring pediatrician or neurology may withdraw a family's link.")
    with transaction.atomic():
        link = UploadLink.objects.select_for_update().get(pk=link_id, referral=referral)
        now = timezone.now()
        if link.used_at is not None or link.expires_at <= now:
            return link
        link.expires_at = now
        link.save(update_fields=["expires_at"])
        sending.forget_used(link, reason=sending.WITHDRAWN)
        sending.record_withdrawn(link, actor=actor, at=now)
    return link


def linkable_case(actor, referral_id: int) -> Referral:
    referral = visible_case(actor, referral_id)
    if not user_roles(actor) & LINK_ROLES:
        raise Forbidden("Only the referring pediatrician or neurology may ask a family for a video.")
    if referral.state not in OPEN_STATES:
        raise TransitionNotAllowed("The case is closed: a family can no longer send files to it.")
    return referral


def _make_link(referral: Referral, actor, days: int | None) -> tuple[UploadLink, str]:
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    link = UploadLink.objects.create(
        referral=referral,
        token_hash=token_hash(token),
        created_by=actor,
        created_at=now,
        expires_at=now + timedelta(days=days or settings.CAREPATH_UPLOAD_LINK_DAYS),
    )
    audit.record_event(
        actor,
        AuditLog.Action.CREATE,
        "referrals.uploadlink",
        link.pk,
        patient_id=referral.patient_id,
        changes={"expires_at": link.expires_at.isoformat()},
    )
    return link, token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def usable_link(token: str) -> UploadLink:
    """The link this token opens: UploadLink.DoesNotExist (404) if none, LinkGone (410) if used or expired."""
    link = UploadLink.objects.select_related("referral__patient").get(token_hash=token_hash(token))
    if link.used_at is not None:
        raise LinkGone(USED)
    if link.expires_at <= timezone.now():
        raise LinkGone("This link has expired. Ask the clinic for a new one.")
    return link


def family_upload(*, token: str, file, original_name="", title="") -> Attachment:
    """A file sent by a family through their link: the link is used up only if the file is stored."""
    link = usable_link(token)
    checked = check(file, referral=link.referral, via="upload link")
    return _store(link.referral, file, checked, link=link, original_name=original_name, title=title)


def _store(referral, file, checked: Checked, *, actor=None, link=None, original_name="", category="", title=""):
    stem = f"attachments/{referral.pk}/{uuid.uuid4().hex}"
    stored = [default_storage.save(f"{stem}.{checked.accepted.extension}", File(file))]
    try:
        preview = video.preview(file) if checked.accepted.kind == AttachmentKind.VIDEO else video.Preview()
        if preview.poster:
            stored.append(default_storage.save(f"{stem}-poster.jpg", ContentFile(preview.poster)))
        with transaction.atomic():
            if link is not None:
                _claim(link)
                sending.forget_used(link)
            attachment = Attachment.objects.create(
                referral=referral,
                kind=checked.accepted.kind,
                content_type=checked.accepted.content_type,
                category=category or (AttachmentCategory.FAMILY_MEDIA if link else AttachmentCategory.OTHER),
                title=title[:NAME_MAX],
                original_name=(original_name or "")[:NAME_MAX],
                file=stored[0],
                size=checked.size,
                sha256=checked.sha256,
                duration_seconds=preview.duration,
                poster=stored[1] if len(stored) > 1 else "",
                preview_note=preview.note,
                scanned=checked.scanned,
                uploaded_by=actor,
                upload_link=link,
                uploaded_at=timezone.now(),
            )
            _record(attachment, actor)
    except BaseException:
        for name in stored:  # nothing half-stored: a refused or failed upload leaves no file behind
            default_storage.delete(name)
        raise
    return attachment


def _claim(link: UploadLink) -> None:
    """Single use, against a race of two uploads through the same link: exactly one row changes."""
    now = timezone.now()
    claimed = UploadLink.objects.filter(pk=link.pk, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
    if claimed != 1:
        raise LinkGone(USED)


def _record(attachment: Attachment, actor) -> None:
    by = "family" if attachment.from_family else "staff"
    CaseEvent.objects.create(
        referral=attachment.referral,
        machine="referral",
        kind=CaseEvent.Kind.NOTE,
        transition="attachment",
        actor=actor or get_system_user(),
        at=attachment.uploaded_at,
        data={"attachment": attachment.pk, "kind": attachment.kind, "title": attachment.title, "by": by},
    )
    audit.record_event(
        actor,
        AuditLog.Action.CREATE,
        "referrals.attachment",
        attachment.pk,
        patient_id=attachment.referral.patient_id,
        changes={"sha256": attachment.sha256, "size": attachment.size, "type": attachment.content_type, "by": by},
    )
