"""A request's priority, defined once for referrals, MRI requests, work items, SLA policies and
the lists that filter or sort by it. The codes are FHIR request priorities (`stat` is not used in
this pathway); a red flag asks for asap (referrals/rules.py)."""

from django.db import models


class Priority(models.TextChoices):
    ASAP = "asap", "ASAP (red flag: seen within 48 h)"
    URGENT = "urgent", "Urgent"
    ROUTINE = "routine", "Routine"


# A priority in a badge, a filter or the SLA policy list: short, in capitals where clinicians write
# it so. Also the SLA policy's choices (its label needs no red-flag explanation).
PRIORITY_WORDS = {Priority.ASAP.value: "ASAP", Priority.URGENT.value: "Urgent", Priority.ROUTINE.value: "Routine"}

# Most pressing first, for lists that sort in Python; an unknown or blank priority sorts last.
PRIORITY_RANK = {Priority.ASAP.value: 0, Priority.URGENT.value: 1, Priority.ROUTINE.value: 2}


def priority_rank(code: str) -> int:
    return PRIORITY_RANK.get(code, len(PRIORITY_RANK))


# What a FHIR resource's `priority` may hold: ours and FHIR's `stat`, which this pathway never sets.
FHIR_PRIORITIES = frozenset({*Priority.values, "stat"})
