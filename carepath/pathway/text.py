"""Text that people type: the characters refused at input, and single-line values made safe for
message headers (docs/security.md, "Control characters").

Refused in a **single-line** value (a name, an MRN, a phone number, a place, any field shown as one
line): every C0 and C1 control character, TAB, CR and LF included, DEL, the Unicode line and
paragraph separators (U+2028, U+2029), and the invisible characters that can disguise a name in a
list: zero-width space (U+200B), word joiner (U+2060), byte-order mark (U+FEFF) and the bidirectional
embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069). Zero-width (non-)joiners
(U+200C, U+200D) and the left-to-right/right-to-left marks are allowed: names in Persian, Arabic and
the Indic scripts need them.
Refused in **multi-line** text (reasons, notes, letters): the control characters other than TAB, CR
and LF. Everything else is text.

Enforced centrally: the API's input serializers and model serializers (`TextGuard`), the web's
forms (`TextGuardForm`) and the admin's (`GuardedModelForm`); a CharField longer than
`SINGLE_LINE_MAX` is multi-line, like the web form that draws it as a textarea. Whatever is already
stored is made single-line where a header is built (`single_line`), so no stored value can make a
message fail.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from rest_framework import serializers

TEXT = 4000  # bounds free text so no body of any size reaches the database unchecked
SINGLE_LINE_MAX = 300  # CharFields up to this long are one line (carepath/web/formfields.py LONG_TEXT)
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_INVISIBLE = "\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069"
SINGLE_LINE_REFUSED = re.compile(f"[{_CONTROL}\t\n\r\u2028\u2029{_INVISIBLE}]")
MULTI_LINE_REFUSED = re.compile(f"[{_CONTROL}]")
CODE = "control_characters"


def problem(value: str, *, multi_line: bool = False) -> str | None:
    """What is wrong with `value`, in words (naming the character, never echoing the value), or None."""
    found = (MULTI_LINE_REFUSED if multi_line else SINGLE_LINE_REFUSED).search(value)
    if found is None:
        return None
    char = found.group()
    if char in "\r\n\u2028\u2029":
        return "Keep this on one line: remove the line break."
    if char == "\t":
        return "Remove the tab character."
    return f"Remove the hidden control character (U+{ord(char):04X})."


def single_line(value: str) -> str:
    """`value` as one clean line: every refused character becomes a space, runs of spaces one."""
    return " ".join(SINGLE_LINE_REFUSED.sub(" ", value).split())


@deconstructible
class TextValidator:
    def __init__(self, multi_line: bool = False):
        self.multi_line = multi_line

    def __call__(self, value):
        if isinstance(value, str):
            message = problem(value, multi_line=self.multi_line)
            if message:
                raise ValidationError(message, code=CODE)

    def __eq__(self, other):
        return isinstance(other, TextValidator) and other.multi_line == self.multi_line

    def __hash__(self):
        return hash(self.multi_line)


SINGLE_LINE = TextValidator()
MULTI_LINE = TextValidator(multi_line=True)


class _DrfValidator:
    """A DRF field validator (DRF turns Django's ValidationError into its own, keeping the code)."""

    def __init__(self, multi_line: bool):
        self.multi_line = multi_line

    def __call__(self, value):
        if isinstance(value, str):
            message = problem(value, multi_line=self.multi_line)
            if message:
                raise serializers.ValidationError(message, code=CODE)

    def __eq__(self, other):
        return isinstance(other, _DrfValidator) and other.multi_line == self.multi_line

    def __hash__(self):
        return hash(self.multi_line)


_DRF = {False: _DrfValidator(False), True: _DrfValidator(True)}


def _guard_drf(field) -> None:
    if isinstance(field, serializers.ListField | serializers.DictField) and field.child is not None:
        _guard_drf(field.child)
    elif isinstance(field, serializers.Serializer):
        for child in field.fields.values():  # a nested serializer that is not a TextGuard itself
            _guard_drf(child)
    elif isinstance(field, serializers.ListSerializer):
        _guard_drf(field.child)
    elif isinstance(field, serializers.CharField) and not field.read_only:
        if field.style.get("input_type") == "password":
            return  # checked against a hash, never stored or shown
        validator = _DRF[(field.max_length or SINGLE_LINE_MAX + 1) > SINGLE_LINE_MAX]
        if validator not in field.validators:
            field.validators.append(validator)


class TextGuard:
    """Serializer mixin: every writable CharField, nested ones too, refuses control characters."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            _guard_drf(field)
        return fields


def only_text_errors(serializer) -> bool:
    """Did `serializer` (validated) fail on the text rule alone? The API answers those 422."""
    return set(leaf_codes(serializers.ValidationError(serializer.errors).get_codes())) == {CODE}


def leaf_codes(codes) -> list:
    if isinstance(codes, dict):
        return [c for value in codes.values() for c in leaf_codes(value)]
    if isinstance(codes, list):
        return [c for value in codes for c in leaf_codes(value)]
    return [codes]


class Input(TextGuard, serializers.Serializer):
    """Base of every input serializer (an action's data, a request body)."""


def _guard_form(form) -> None:
    for field in form.fields.values():
        if isinstance(field, forms.CharField) and not isinstance(field.widget, forms.PasswordInput):
            validator = MULTI_LINE if isinstance(field.widget, forms.Textarea) else SINGLE_LINE
            if validator not in field.validators:
                field.validators.append(validator)


class TextGuardForm:
    """Form mixin: every CharField refuses control characters (a textarea's keeps its line breaks)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _guard_form(self)


class GuardedModelForm(TextGuardForm, forms.ModelForm):
    """The admin's forms (carepath/admin_base.py)."""


def optional_text(**kwargs) -> serializers.CharField:
    """A free-text input that may be left out or blank (then ""): a reason a rule asks for only in
    some cases, a note."""
    return serializers.CharField(max_length=TEXT, required=False, allow_blank=True, default="", **kwargs)
