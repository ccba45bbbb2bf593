"""The case page's "Ask the family for a video" choice (docs/ui.md, "Attachments"): send the link to
one of the child's parents or carers, by name as the schedule form names them, each with how it
would go (or why it cannot), or show it once to copy. Drawn by templates/includes/field.html."""

from carepath.notify.family import channels
from carepath.pathway import access
from carepath.web.formfields import OBJECT_CHOICES, FieldSpec

from ..models import Guardian, Referral
from .sending import BY

COPY = ""  # the choice's value for "show me the link to copy"
NO_CONTACT = "no phone or e-mail on record"
COPY_WORDS = "Show me the link to copy (for example, the family is with you)"


def link_field(referral: Referral, user, *, chosen: str | None = None, errors: list | None = None) -> FieldSpec:
    """Radios: each parent or carer (parental responsibility first), then "show me the link". The
    first one we can reach is chosen unless the clinician chose; with nobody to reach, the copy."""
    names, _ = OBJECT_CHOICES["guardian"](referral)
    guardians = {str(g.pk): g for g in referral.patient.guardians.all()}
    show_addresses = access.can_see_family_contacts(user)
    choices = [(pk, f"Send to {name}, {_how(guardians[pk], show_addresses)}") for pk, name in names]
    reachable = [pk for pk, _ in names if guardians[pk].has_contact]
    return FieldSpec(
        name="guardian",
        label="How should the family get the link?",
        widget="radios",
        help_text="The message names the clinic and you, not the condition; it says what to film, that the "
        "link works once, and until when.",
        choices=[*choices, (COPY, COPY_WORDS)],
        value=chosen if chosen is not None else (reachable[0] if reachable else COPY),
        errors=list(errors or []),
    )


def _how(guardian: Guardian, show_addresses: bool) -> str:
    if not guardian.has_contact:
        return "not possible: " + ("asked not to be contacted" if guardian.phone or guardian.email else NO_CONTACT)
    via = channels(guardian)
    return "by " + " and ".join(f"{BY[c]} to {to}" if show_addresses else BY[c] for c, to in via)
