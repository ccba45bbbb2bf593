"""Template filters that turn stored codes into the words users read (docs/ui.md, "Words on forms")."""

from django import template

from carepath.web import wording

register = template.Library()


@register.filter
def priority_word(code) -> str:
    """`asap` → "ASAP", `routine` → "Routine": a priority badge's text (the code stays its CSS class)."""
    return wording.PRIORITY_WORDS.get(code, code or "")
