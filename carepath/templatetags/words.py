"""Template filters that turn stored codes into the words users read (docs/ui.md, "Words on forms")."""

from django import template

from carepath.pathway.priority import PRIORITY_WORDS

register = template.Library()


@register.filter
def priority_word(code) -> str:
    """`asap` → "ASAP", `routine` → "Routine": a priority badge's text (the code stays its CSS class)."""
    return PRIORITY_WORDS.get(code, code or "")
