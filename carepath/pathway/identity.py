"""A child's identity: the MRN and the name as CarePath compares them (issue 13 item 9;
docs/decisions.md, "Patient identity").

An MRN typed from a letter, pasted from an EHR screen or sent by an integration can differ from
the stored one in ways no clinician sees: full-width digits, a trailing space, a zero-width space
copied with it, lower case. Two records for one child split the child's history, so every write
and every look-up goes through `mrn_key`: Unicode NFKC, zero-width and soft-hyphen characters
removed, trimmed, case-folded (NFKC again after folding, as Unicode's NFKC_Casefold). The MRN is
shown as written (`clean_mrn`: the same, without the case-folding); `mrn_key` is what is unique.

`name_key` is the name compared for near-duplicates and searched: family name then given name(s),
normalised the same way, runs of spaces as one.
"""

import unicodedata

from django import forms
from rest_framework import serializers

# zero-width space, non-joiner, joiner, word joiner, BOM, soft hyphen, Mongolian vowel separator
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)
MRN_MAX = 32


def clean(value: str) -> str:
    """NFKC, invisible characters removed, trimmed."""
    return unicodedata.normalize("NFKC", str(value or "")).translate(INVISIBLE).strip()


def fold(value: str) -> str:
    return unicodedata.normalize("NFKC", clean(value).casefold())


def clean_mrn(raw: str) -> str:
    """The MRN as stored and shown: the user's letters, without what no one can see."""
    return clean(raw)


def mrn_key(raw: str) -> str:
    """The MRN as compared: unique per child, and what every look-up matches."""
    return fold(raw)


def name_key(given_name: str, family_name: str) -> str:
    return " ".join(fold(f"{family_name} {given_name}").split())


def search_key(query: str) -> str:
    """A search box's words, normalised as `name_key` is (so "  MORGAN  alex" finds Alex Morgan)."""
    return " ".join(fold(query).split())


# --- the MRN fields: cleaned before any validator sees the value ---------------------------------
# The text guard (carepath/pathway/text.py) refuses invisible characters in single-line fields; an MRN's
# are removed instead, as its normalisation says, so a number pasted with a zero-width space from an
# EHR screen is the number, not an error about a character nobody can see.


class MRNField(serializers.CharField):
    def to_internal_value(self, data):
        return clean_mrn(super().to_internal_value(data))


class MRNFormField(forms.CharField):
    def to_python(self, value):
        return clean_mrn(super().to_python(value))
