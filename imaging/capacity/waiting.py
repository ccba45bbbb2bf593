"""The waiting list (docs/capacity.md, "The waiting list"): MRI requests awaiting a booking, the scan
most due first, each with how many slots like its own are still free before its due time.

"Awaiting a booking" is protocoled or needs rebooking. The scan's due time is the finder's
(`scan_due_at`: the "Perform the MRI" service level from the request). The list is bounded
(`LIMIT` rows): each row asks the finder how many slots are free before the due time, and, only when
none is, for the earliest slot after it (how late the scan will be).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from carepath.pathway.errors import DomainError
from imaging.choices import MRIState, Sedation
from imaging.models import MRIRequest
from imaging.rules import mass_suspected, sedation_default

from . import finder

AWAITING = (MRIState.PROTOCOLED, MRIState.NEEDS_REBOOKING)
LIMIT = 25  # like the board's columns: each row costs a search or two (~10–50 ms each)


@dataclass
class Row:
    mri: MRIRequest
    due: datetime | None
    overdue: bool
    sedation: str  # the child's default today
    slots_before_due: int  # up to finder.COUNT_CAP
    earliest: finder.Slot | None  # asked only when no slot is free before the due time

    @property
    def capped(self) -> bool:
        return self.slots_before_due >= finder.COUNT_CAP

    @property
    def sedation_label(self) -> str:
        return Sedation(self.sedation).label


def rows(visible: QuerySet[MRIRequest], *, now: datetime | None = None, limit: int = LIMIT) -> tuple[list[Row], int]:
    """The first `limit` requests awaiting booking among `visible`, most due first; and how many
    await in all."""
    now = now or timezone.now()
    waiting = visible.filter(state__in=AWAITING)
    narrow = [
        MRIRequest(pk=pk, priority=priority, requested_at=at)
        for pk, priority, at in waiting.values_list("pk", "priority", "requested_at")
    ]
    due = {m.pk: finder.scan_due_at(m) for m in narrow}
    first = sorted(narrow, key=lambda m: (due[m.pk] is None, due[m.pk] or now, m.requested_at, m.pk))[:limit]
    full = {m.pk: m for m in waiting.filter(pk__in=[m.pk for m in first]).select_related("referral__patient")}
    today = timezone.localdate(now)
    result = []
    for m in first:
        mri = full[m.pk]
        patient = mri.referral.patient
        default = sedation_default(birth_date=patient.birth_date, on=today, mass_suspected=mass_suspected(mri))
        try:
            count = finder.count_slots_before(mri, due[m.pk], now=now)
            earliest = [] if count else finder.find_slots(mri, limit=1, now=now)
        except DomainError:  # no slot rule for the plan: nothing can be offered until an admin adds one
            earliest, count = [], 0
        result.append(
            Row(
                mri=mri,
                due=due[m.pk],
                overdue=due[m.pk] is not None and due[m.pk] < now,
                sedation=default,
                slots_before_due=count,
                earliest=earliest[0] if earliest else None,
            )
        )
    return result, len(narrow)
