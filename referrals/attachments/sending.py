"""Sending a family's upload link (docs/design.md, "Attachments"): to one of the child's parents or
carers, by their contact preference (`channels` of carepath/notify/family.py, as the MRI reminders),
as `Delivery` rows that carepath/notify/delivery.py sends like any other message: claimed once,
retried with back-off, dead-lettered. The rows' dedupe keys start with `delivery.ONE_TIME`, so the
link is blanked from a row's body once it is sent, and from every row of a link the family has used
(docs/decisions.md, "Upload links sent to the family").

The message names the clinic (`CAREPATH_CLINIC_NAME`) and the clinician, never the condition; it
says what to film, until when the link works, and that it works once."""

import dataclasses
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from carepath.models import AuditLog, CaseEvent, Channel, Delivery, DeliveryState, Machine
from carepath.notify import delivery
from carepath.notify.family import channels
from carepath.pathway import audit
from carepath.pathway.errors import InvalidData, Unprocessable
from carepath.pathway.text import single_line

from ..choices import ContactPreference
from ..models import Guardian, Referral
from .models import UploadLink

TEMPLATE = "referrals/attachments/upload_link_message.txt"
BY = {Channel.SMS: "SMS", Channel.EMAIL: "e-mail"}
NOT_THEIRS = "This person is not one of the child's parents or carers."
# A message's state as the clinician reads it beside the link.
STATE_WORDS = {
    DeliveryState.PENDING: "being sent",
    DeliveryState.SENT: "sent",
    DeliveryState.FAILED: "not sent yet, retrying",
    DeliveryState.DEAD: "could not be sent",
    DeliveryState.SKIPPED: "not sent",
}
PREVIEW_URL = "(the link)"
USED_ALREADY = "the family used the link before this message went"


def recipient(referral: Referral, guardian_id: int | None) -> Guardian:
    """Who the link goes to: the named parent or carer of this child (400 for anyone else), or by
    default the first with parental responsibility; refused (422) without a phone or e-mail we may use."""
    guardians = list(referral.patient.guardians.all())  # parental responsibility first (Guardian.Meta)
    if guardian_id is None:
        guardian = guardians[0] if guardians else None
        if guardian is None:
            raise Unprocessable({"guardian": "No parent or carer is recorded for this child: show the link to copy."})
    else:
        guardian = next((g for g in guardians if g.pk == guardian_id), None)
        if guardian is None:
            raise InvalidData({"guardian": NOT_THEIRS})
    if not guardian.has_contact:
        raise Unprocessable({"guardian": no_contact_words(guardian)})
    return guardian


def no_contact_words(guardian: Guardian) -> str:
    unwilling = guardian.contact_preference == ContactPreference.NONE
    why = "asked not to be contacted" if unwilling else "has no phone number or e-mail"
    return f"{guardian.name} {why}: choose someone else, or show the link to copy and give it to the family."


def how_words(via: list[str]) -> str:
    """ "SMS", "e-mail", "SMS and e-mail": how a message went, as the timeline says it."""
    return " and ".join(BY[c] for c in via)


def send(link: UploadLink, token: str, guardian: Guardian, *, actor) -> list[str]:
    """Write the link's messages (one per channel), the timeline line and the audit row; the rows
    are queued once the caller's transaction commits. Returns the channels used."""
    now = timezone.now()
    via = channels(guardian)
    rows = Delivery.objects.bulk_create(
        [_row(link, token, guardian, channel, to, actor=actor, now=now) for channel, to in via]
    )
    used = [c for c, _ in via]
    _record(link, guardian, used, [r.pk for r in rows], actor=actor, at=now)
    delivery.queue_delivery([r.pk for r in rows])
    return used


def dedupe_key(link: UploadLink, channel: str) -> str:
    return f"{delivery.ONE_TIME}uploadlink:{link.pk}:{channel}"


def _row(link: UploadLink, token: str, guardian: Guardian, channel: str, to: str, *, actor, now) -> Delivery:
    subject, body = message(link, token, actor=actor, sms=channel == Channel.SMS)
    return Delivery(
        dedupe_key=dedupe_key(link, channel),
        channel=channel,
        to=to,
        subject=subject,
        body=body,
        referral_id=link.referral_id,
        guardian=guardian,
        created_at=now,
        next_attempt_at=now + delivery.lease(),  # queued now; tick picks it up if that message is lost
    )


def message(link: UploadLink, token: str, *, actor, sms: bool) -> tuple[str, str]:
    """(subject, body): dates in the family's time zone; the first line of the text is the subject."""
    url = settings.CAREPATH_BASE_URL.rstrip("/") + reverse("family_upload", args=[token])
    return _text(link.referral.patient, actor, url=url, expires=link.expires_at, sms=sms)


def preview(referral: Referral, actor) -> str:
    """The text message as the family would get it from `actor` now, the link left out (the form shows it)."""
    expires = timezone.now() + timedelta(days=settings.CAREPATH_UPLOAD_LINK_DAYS)
    return _text(referral.patient, actor, url=PREVIEW_URL, expires=expires, sms=True)[1]


def _text(patient, actor, *, url: str, expires, sms: bool) -> tuple[str, str]:
    context = {
        "sms": sms,
        "clinic": single_line(settings.CAREPATH_CLINIC_NAME),
        "sender": single_line(actor.get_full_name()),
        "child": single_line(patient.given_name),
        "url": url,
        "expires": expires,
    }
    with timezone.override(ZoneInfo(patient.time_zone or settings.TIME_ZONE)):
        text = render_to_string(TEMPLATE, context).strip()
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip()


def _record(link: UploadLink, guardian: Guardian, via: list[str], ids: list[int], *, actor, at) -> None:
    label = f"Upload link sent to {guardian.name} by {how_words(via)}"
    CaseEvent.objects.create(
        referral_id=link.referral_id,
        machine=Machine.REFERRAL,
        kind=CaseEvent.Kind.NOTE,
        transition="upload_link_sent",
        actor=actor,
        at=at,
        data={"label": label, "link": link.pk, "guardian": guardian.pk, "channels": via},
    )
    audit.record_event(
        actor,
        AuditLog.Action.CREATE,
        "referrals.uploadlink",
        link.pk,
        patient_id=link.referral.patient_id,
        changes={"label": label, "guardian": guardian.pk, "channels": via, "deliveries": ids},
    )


@dataclasses.dataclass
class Waiting:
    """A link the family has not used yet, and what became of its messages (none: shown to copy)."""

    link: UploadLink
    messages: list[Delivery]

    @property
    def how(self) -> str:
        """ "sent to Jo Hale by SMS (sent) and e-mail (not sent yet, retrying)", or "shown to copy"."""
        if not self.messages:
            return "shown to copy"
        each = [f"{BY[m.channel]} ({STATE_WORDS.get(m.state, m.state)})" for m in self.messages]
        name = self.messages[0].guardian.name if self.messages[0].guardian else "the family"
        return f"sent to {name} by " + " and ".join(each)


def waiting_links(referral: Referral) -> list[Waiting]:
    """The case's links still usable, newest first, each with its messages (for the case page)."""
    waiting = referral.upload_links.filter(used_at__isnull=True, expires_at__gt=timezone.now())
    links = list(waiting.select_related("created_by"))
    keys = {dedupe_key(link, c): link.pk for link in links for c in Channel.values}
    # SMS first, as the timeline says it
    rows = Delivery.objects.filter(dedupe_key__in=keys).select_related("guardian").order_by("-channel")
    by_link: dict[int, list[Delivery]] = {}
    for row in rows.only("dedupe_key", "channel", "state", "guardian__name"):
        by_link.setdefault(keys[row.dedupe_key], []).append(row)
    return [Waiting(link, by_link.get(link.pk, [])) for link in links]


WITHDRAWN = "the clinic withdrew the link before this message went"


def forget_used(link: UploadLink, *, reason: str = USED_ALREADY) -> None:
    """The family used the link (or the clinic withdrew it): its address leaves every message that
    carried it, and a message not sent yet is not sent at all (it could only lead to a dead link)."""
    rows = Delivery.objects.filter(dedupe_key__in=[dedupe_key(link, c) for c in Channel.values])
    rows.filter(state__in=delivery.UNSENT).update(state=DeliveryState.SKIPPED, last_error=reason)
    for row in rows.only("pk", "body"):
        delivery.forget_addresses(row)


def record_withdrawn(link: UploadLink, *, actor, at) -> None:
    """The timeline's line and the audit row of a withdrawn link."""
    CaseEvent.objects.create(
        referral_id=link.referral_id,
        machine=Machine.REFERRAL,
        kind=CaseEvent.Kind.NOTE,
        transition="upload_link_withdrawn",
        actor=actor,
        at=at,
        data={"label": "Upload link withdrawn: it no longer works", "link": link.pk},
    )
    audit.record_event(
        actor,
        AuditLog.Action.UPDATE,
        "referrals.uploadlink",
        link.pk,
        patient_id=link.referral.patient_id,
        changes={"withdrawn": True, "expires_at": at.isoformat()},
    )
