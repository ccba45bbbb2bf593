"""The outbox: every change other systems may hear of becomes an `Event` row in the change's own
transaction; once it has committed, the relay (integrations/outbox/relay.py) has each registered
consumer add its outbound rows for it (docs/integrations.md, "The outbox").

carepath tells us of a change through `carepath.pathway.registry.announce` (a transition, a new
notification); `IntegrationsConfig.ready()` registers `announced` there. A consumer, registered with
`register_consumer`, says who listens (a queryset of its listeners) and writes its rows for the
events: the webhooks a delivery per endpoint that asked for the event's type
(integrations/webhooks/fanout.py), the FHIR subscriptions one per matching subscription. Who listens
to any consumer is read in one query per announcement (`listeners`); with nobody listening, that query
is, with the event row, the outbox's whole cost in the change's transaction (with nobody listening,
the event is written fanned out already). A consumer runs in the relay's transaction, which also
marks the events fanned out: if it raises, neither is written and the next pass tries again.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet, Value
from django.urls import reverse
from django.utils import timezone

from carepath.api.common import link
from carepath.db import bulk
from carepath.db.compiled import CompiledValues
from imaging.models import NeuroradiologyReport
from integrations.outbox.models import Event, EventType


@dataclass(frozen=True)
class Consumer:
    """`listening(now)`: who listens now, a queryset with the columns `pk`, `wants` (text: what it
    asked for) and `whose` (an owner's user id, or NULL); `write(events, listeners)`: the consumer's
    rows for the events just written, given its listeners as dicts of those columns; returns how many
    `OutboundDelivery` rows it wrote (0 when it keeps its own queue)."""

    name: str
    listening: Callable[[datetime], QuerySet]
    write: Callable[[list[Event], list[dict]], int]


_consumers: list[Consumer] = []
_senders: list[Callable[[list[int]], None]] = []
_relay: list[Callable[[], int]] = []  # the relay's pass (integrations/outbox/relay.py), run eagerly in tests
_listeners: list[CompiledValues] = []  # the one query for every consumer's listeners, rebuilt on registration

MACHINE_TYPES = {"referral": EventType.REFERRAL_TRANSITIONED, "mri": EventType.MRI_REQUEST_TRANSITIONED}
REPORT_TYPES = {"sign_report": EventType.REPORT_SIGNED, "amend_report": EventType.REPORT_AMENDED}


def register_consumer(consumer: Consumer) -> None:
    """`consumer.write` runs in the relay's transaction with committed events (saved, in id order),
    when `consumer.listening` found someone."""
    if consumer.name in {c.name for c in _consumers}:
        return
    _consumers.append(consumer)
    consumers = tuple(_consumers)
    _listeners[:] = [CompiledValues(lambda now: _union(consumers, now))]


def _union(consumers: tuple[Consumer, ...], now: datetime) -> QuerySet:
    """Every consumer's listeners, tagged with the consumer's name: one UNION ALL."""
    parts = [
        c.listening(now).order_by().annotate(consumer=Value(c.name)).values("pk", "wants", "whose", "consumer")
        for c in consumers
    ]
    return parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]


def listeners(now: datetime | None = None) -> dict[str, list[dict]]:
    """{consumer name: its listeners} of the consumers someone listens to: one query, compiled once
    and prepared on PostgreSQL (elsewhere, where the compiled plan cannot take a time, built each time)."""
    if not _listeners:
        return {}
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        found = _listeners[0].rows(None, now=now)
    else:
        found = list(_union(tuple(_consumers), now))
    rows = sorted(found, key=lambda r: r["consumer"])
    return {name: list(found) for name, found in groupby(rows, key=lambda r: r["consumer"])}


def register_sender(sender: Callable[[list[int]], None]) -> None:
    """`sender(event_ids)` queues the events' deliveries once the relay has committed them
    (integrations/outbox/tasks.py)."""
    _senders[:] = [sender]


def register_relay(relay_all: Callable[[], int]) -> None:
    _relay[:] = [relay_all]


def announced(kind: str, **facts) -> None:
    """carepath's announcement → events (registered in `carepath.pathway.registry`)."""
    if kind == "transition":
        record(transition_events(facts["event"]))
    elif kind == "notifications":
        record([notification_event(n, pk) for n, pk in facts["notifications"]])


def transition_events(case_event) -> list[Event]:
    """A transition's events: `<machine>.transitioned`; a report signed or amended adds
    `report.signed`/`report.amended`; the referral's `request_mri` (which creates the MRI request,
    no MRI transition) adds the MRI request's first `mri_request.transitioned`, to `requested`."""
    mri_request_id = case_event.mri_request_id or (case_event.data or {}).get("mri_request")
    common = dict(occurred_at=case_event.at, referral_id=case_event.referral_id, mri_request_id=mri_request_id)
    data = {"transition": case_event.transition, "from_state": case_event.from_state, "to_state": case_event.to_state}
    kind = MACHINE_TYPES.get(case_event.machine)
    if kind is None:  # a machine other systems are not told of (yet)
        return []
    events = [Event(type=kind, data=data, **common)]
    if case_event.machine == "mri" and case_event.transition in REPORT_TYPES:
        report = (case_event.data or {}).get("report") or report_of(mri_request_id)
        events.append(Event(type=REPORT_TYPES[case_event.transition], data={**data, "report_id": report}, **common))
    if case_event.machine == "referral" and case_event.transition == "request_mri":
        created = {"transition": "request_mri", "from_state": None, "to_state": "requested"}
        events.append(Event(type=EventType.MRI_REQUEST_TRANSITIONED, data=created, **common))
    return events


def report_of(mri_request_id: int) -> int | None:
    return NeuroradiologyReport.objects.filter(mri_request_id=mri_request_id).values_list("pk", flat=True).first()


def notification_event(notification, notification_id: int) -> Event:
    return Event(
        type=EventType.NOTIFICATION_CREATED,
        occurred_at=notification.created_at,
        referral_id=notification.referral_id,
        data={"notification_id": notification_id, "kind": notification.kind},
    )


def record(events: list[Event]) -> list[Event]:
    """Read who listens (one query) and write the events (one INSERT) in the caller's transaction.
    With nobody listening they are written fanned out already; otherwise the relay writes their
    receivers' rows once the change has committed (integrations/outbox/relay.py), nothing else here."""
    if not events:
        return events
    anyone = bool(listeners())
    now = timezone.now()
    for event in events:
        event.fanned_out_at = None if anyone else now
    ids = bulk.insert(events, key="uid")
    for event in events:
        event.pk = ids[event.uid]
    if anyone and getattr(settings, "CAREPATH_OUTBOX_RELAY_EAGER", False):
        relay_after_commit()
    return events


def relay_after_commit() -> None:
    """Tests (CAREPATH_OUTBOX_RELAY_EAGER, as Celery's `task_always_eager`): the relay's pass once the
    transaction commits, in this process, instead of the relay process's next poll."""
    if _relay:
        transaction.on_commit(_relay[0])


def fan_out(events: list[Event]) -> list[int]:
    """The relay's step, in its transaction: each consumer someone listens to now writes its rows for
    the events (committed, saved, in id order); returns the ids of the events some row was written for."""
    found = listeners()
    written = sum(c.write(events, found[c.name]) for c in _consumers if c.name in found)
    return [e.pk for e in events] if written else []


def send(event_ids: list[int]) -> None:
    """Queue the sending of the events' rows (one message; integrations/outbox/tasks.py)."""
    if event_ids and _senders:
        _senders[0](event_ids)


# --- what the receivers are sent -------------------------------------------------------------------
def absolute(path: str) -> str:
    return settings.CAREPATH_BASE_URL.rstrip("/") + path


def thin_payload(event: Event) -> dict:
    """The event as receivers get it: ids, type, time, state and links to the API (fetched with the
    receiver's own token); nothing that names the child."""
    data = {"id": event.public_id, **event.data}
    if event.referral_id:
        data["referral"] = {"id": event.referral_id, "url": absolute(link("api-referral-detail", event.referral_id))}
    if event.mri_request_id:
        data["mri_request"] = {
            "id": event.mri_request_id,
            "url": absolute(link("api-mri-request-detail", event.mri_request_id)),
        }
    if data.get("report_id"):
        data["report"] = {"id": data["report_id"], "url": absolute(link("api-report-detail", data["report_id"]))}
    if data.get("notification_id"):
        # notifications are read by their recipient, as a list (docs/api.md, "Resources")
        data["notification"] = {"id": data["notification_id"], "url": absolute(reverse("api-notification-list"))}
    return {"type": event.type, "timestamp": iso(event.occurred_at), "data": data}


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")
