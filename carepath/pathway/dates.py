"""Small rules about dates and due times, defined once: a child's age in whole months, when a step
is overdue and when it is due soon. Pages, the API's JSON and the sedation default all read them.

The database side of "overdue" (an open work item with `due_at` before now) is the same rule as a
filter: `carepath.pathway.selectors.overdue`.
"""

from datetime import date, datetime, timedelta

# My work's and the MRI board's due groups: overdue, due in the next 24 hours, later.
DUE_SOON = timedelta(hours=24)


def age_in_months(birth: date, on: date) -> int:
    """Whole months from birth to `on`: a month is complete on the day of the month of birth (the
    sedation bands and the ages pages and letters show count this way)."""
    months = (on.year - birth.year) * 12 + on.month - birth.month
    return months - (1 if on.day < birth.day else 0)


def is_overdue(due_at: datetime | None, now: datetime) -> bool:
    """Past its due time; a step without one is never overdue."""
    return due_at is not None and due_at < now


def is_due_soon(due_at: datetime | None, now: datetime) -> bool:
    """Due in the next 24 hours and not yet overdue."""
    return due_at is not None and now <= due_at < now + DUE_SOON
