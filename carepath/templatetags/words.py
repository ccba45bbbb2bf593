"""Template filters that turn stored codes into the words users read (docs/ui.md, "Words on forms")."""

from django import template

from carepath.pathway.priority import PRIORITY_WORDS
from carepath.pathway.workflow import SECONDARY

register = template.Library()


@register.filter
def priority_word(code) -> str:
    """`asap` → "ASAP", `routine` → "Routine": a priority badge's text (the code stays its CSS class)."""
    return PRIORITY_WORDS.get(code, code or "")


@register.filter
def quieter(actions) -> list:
    """The action forms whose transition is declared `group=SECONDARY` (cancel, a failed scan, not
    brought…): the MRI board puts them under one "Other actions" so a card shows its next step first."""
    return [a for a in actions if a.transition.group == SECONDARY]


@register.filter
def main(actions) -> list:
    return [a for a in actions if a.transition.group != SECONDARY]
