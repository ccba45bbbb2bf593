"""The relay: turns committed events nobody has fanned out yet into their receivers' rows
(integrations/events.py `fan_out`), marks them fanned out in the same transaction, and queues their
sending once that has committed (docs/integrations.md, "The outbox").

Run by `manage.py outbox_relay` as its own process, polling the partial index of the events not fanned
out every ~200 ms, and by `integrations.tick` every minute in case that process is down. Any number of
them may run at once:

- exactly once: events are claimed with `SELECT … FOR UPDATE SKIP LOCKED`, and the rows written and the
  mark set in one transaction; a relay killed mid-batch commits neither, and the next pass takes the
  events again;
- in each case's order: a case's events are fanned out in id order (its transitions are serialized by
  the case's row lock, so that is their commit order). A relay leaves a case's claimed events whose
  earlier event is not fanned out yet and not its own (claimed by another relay, not committed): they
  wait for a later pass, so a receiver's rows about one case are written, and sent (by lane), in order.
"""

from django.db import transaction
from django.utils import timezone

from integrations import events as events_
from integrations.outbox.models import Event

BATCH = 500


def waiting():
    """Events committed and not fanned out yet (the `integrations_event_unrelayed` index)."""
    return Event.objects.filter(fanned_out_at__isnull=True)


def relay_once(limit: int = BATCH) -> list[int]:
    """One pass over at most `limit` waiting events; returns the ids it fanned out. Their sending is
    queued once this pass has committed."""
    with transaction.atomic():
        claimed = list(waiting().order_by("id").select_for_update(skip_locked=True)[:limit])
        ready = in_case_order(claimed)
        if not ready:
            return []
        with_rows = events_.fan_out(ready)
        waiting().filter(pk__in=[e.pk for e in ready]).update(fanned_out_at=timezone.now())
        transaction.on_commit(lambda: events_.send(with_rows))
    return [e.pk for e in ready]


def relay_all(limit: int = BATCH, most: int = 100 * BATCH) -> int:
    """Passes until nothing is left to fan out (or `most` events); returns how many were."""
    done = 0
    while done < most:
        fanned = relay_once(limit)
        if not fanned:
            break
        done += len(fanned)
    return done


def in_case_order(claimed: list[Event]) -> list[Event]:
    """The claimed events that may be fanned out now: an event without a case, or one no earlier event
    of its case waits for, outside this claim."""
    mine = {e.pk for e in claimed}
    cases = {e.referral_id for e in claimed if e.referral_id is not None}
    held_from: dict[int, int] = {}  # case → its first waiting event this pass did not claim
    earlier = waiting().filter(referral_id__in=cases, id__lte=max(mine, default=0)).order_by("id")
    for case, pk in earlier.values_list("referral_id", "id"):
        if pk not in mine:
            held_from.setdefault(case, pk)
    return [e for e in claimed if e.referral_id not in held_from or e.pk < held_from[e.referral_id]]
