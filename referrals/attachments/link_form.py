"""The case page's "Ask the family for a video" (docs/ui.md, "Attachments"): send the link to one of
the child's parents or carers, named as the schedule form names them, each saying how it would go
(or why it cannot: that choice is disabled); or show it once to copy, a button of its own. Drawn
by templates/referrals/attachments/_link_form.html."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from carepath.notify.family import channels
from carepath.pathway import access
from carepath.web.formfields import OBJECT_CHOICES, SummaryItem

from ..models import Guardian, Referral
from .sending import BY, preview

LEGEND = "Send the link to"
NO_CONTACT = "no phone or e-mail on record"
ANCHOR = "link-guardian-1"  # the first choice: where an error summary leads


@dataclass
class Option:
    value: str
    name: str  # "Jo Hale (mother)"
    how: str  # "by SMS to +44… and e-mail to …", or why it cannot go
    reachable: bool


@dataclass
class LinkChoice:
    options: list[Option]
    chosen: str
    expires_on: object
    preview: str
    newest_seen: int  # the case's newest link as drawn: a link made since refuses a second send
    errors: list[str] = field(default_factory=list)

    @property
    def any_reachable(self) -> bool:
        return any(o.reachable for o in self.options)

    def summary(self) -> list[SummaryItem]:
        return [SummaryItem(LEGEND, message, ANCHOR) for message in self.errors]


def link_field(referral: Referral, user, *, chosen: str | None = None, errors: list | None = None) -> LinkChoice:
    """Each parent or carer (parental responsibility first), the first one we can reach chosen
    unless the clinician chose."""
    names, _ = OBJECT_CHOICES["guardian"](referral)
    guardians = {str(g.pk): g for g in referral.patient.guardians.all()}
    show_addresses = access.can_see_family_contacts(user)
    options = [Option(pk, name, _how(guardians[pk], show_addresses), guardians[pk].has_contact) for pk, name in names]
    reachable = [o.value for o in options if o.reachable]
    return LinkChoice(
        options=options,
        chosen=chosen if chosen is not None else (reachable[0] if reachable else ""),
        expires_on=timezone.localtime() + timedelta(days=settings.CAREPATH_UPLOAD_LINK_DAYS),
        preview=preview(referral, user),
        newest_seen=referral.upload_links.order_by("-pk").values_list("pk", flat=True).first() or 0,
        errors=list(errors or []),
    )


def _how(guardian: Guardian, show_addresses: bool) -> str:
    if not guardian.has_contact:
        return "cannot be sent: " + ("asked not to be contacted" if guardian.phone or guardian.email else NO_CONTACT)
    via = channels(guardian)
    return "by " + " and ".join(f"{BY[c]} to {to}" if show_addresses else BY[c] for c, to in via)
