"""How much a search reads (docs/capacity.md, "How the finder reads"): the weekly templates (sessions,
anaesthesia lists, closures) once per search, then one query per range of days, whatever the number
of weeks a child's search has to go through. A GA child whose lists are full for weeks is the search
that reads most (docs/benchmarks.md, scenario 5): with the templates read again for every range it
made 23 queries, and each is a round trip the coordinator waits for."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from carepath.models import Holiday
from carepath.pathway import sla
from imaging.capacity import finder
from imaging.capacity.models import Closure
from imaging.models import MRIRequest

from . import places
from .test_finder import LONDON, MONDAY, NOW, local

pytestmark = pytest.mark.django_db
# slot rules, scanners, then the templates: sessions, anaesthesia lists, closures
READ_ONCE = 5


@pytest.fixture
def site():
    """Two scanners (one takes GA) open on Mondays, a site closure on the first Monday afternoon,
    and a GA list on Monday mornings that starts in four weeks."""
    Holiday.objects.all().delete()  # the seeded bank holidays would move these weeks' sessions
    site = places.site()
    ga_scanner, awake_scanner = places.scanner("MR1", at=site, ga=True), places.scanner("MR2", at=site)
    for scanner in (ga_scanner, awake_scanner):
        places.session(scanner, MONDAY.weekday(), "08:00", "18:00")
    Closure.objects.create(site=site, start=local(MONDAY, "13:00"), end=local(MONDAY, "18:00"), reason="Power work")
    places.anaesthesia_list(site, MONDAY.weekday(), "09:00", "12:00", since=MONDAY + timedelta(weeks=4))
    sla.holidays()  # the holiday calendar and service levels are cached in the process, not read per search
    return site


def loaded(mri) -> MRIRequest:
    return MRIRequest.objects.select_related("referral__patient").get(pk=mri.pk)


def found_with_queries(mri, **kwargs) -> tuple[list[finder.Slot], int]:
    with CaptureQueriesContext(connection) as queries:
        slots = finder.find_slots(mri, now=NOW, **kwargs)
    return slots, len(queries)


def test_a_ga_search_through_three_ranges_reads_the_templates_once_and_each_range_in_one_query(pathway, site):
    ga_child = loaded(pathway.mri(pathway.protocoled(suspected_lesion=True)))  # a suspected mass: GA

    slots, queries = found_with_queries(ga_child, limit=1)

    # the first GA list is in four weeks: the search read a week, then two, then four
    first = slots[0].start.astimezone(LONDON)
    assert (first.date(), f"{first:%H:%M}", slots[0].sedation) == (
        MONDAY + timedelta(weeks=4),
        "09:00",
        "general_anaesthesia",
    )
    assert queries == READ_ONCE + 3


def test_a_search_found_in_the_first_week_reads_one_range(pathway, site):
    awake_child = loaded(pathway.mri(pathway.protocoled()))

    slots, queries = found_with_queries(awake_child, limit=3)

    assert [f"{s.start.astimezone(LONDON):%a %H:%M} {s.scanner_name}" for s in slots] == [
        "Mon 08:00 MR1",
        "Mon 08:00 MR2",
        "Mon 08:15 MR1",
    ]
    assert queries == READ_ONCE + 1


def test_the_waiting_lists_count_reads_the_same_way(pathway, site):
    ga_child = loaded(pathway.mri(pathway.protocoled(suspected_lesion=True)))

    with CaptureQueriesContext(connection) as queries:
        count = finder.count_slots_before(ga_child, local(MONDAY + timedelta(weeks=4), "12:00"), now=NOW)

    assert count == 2  # 09:00 and 10:30 (60 + 30 minutes, one child at a time on the list)
    assert len(queries) == READ_ONCE + 3
