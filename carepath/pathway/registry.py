"""What the apps tell carepath about themselves, filled in their `AppConfig.ready()`
(docs/architecture.md, "Imports run one way").

carepath's lower layers never import `referrals` or `imaging`: where a page or an access rule needs
something only an app knows, the app registers it here at start-up. Other registries of the same
kind: `carepath.notify.effects.register_transition` (what a timer of a kind does) and
`carepath.notify.inbox.register_on_read` (what reading a notification also does); what a change
tells other systems is `register_announcer` below (filled by `integrations`).
"""

from collections.abc import Callable, Iterable

# work item kind → the role whose queue holds it (the apps' STEPS tables), for the worklist filter
STEP_QUEUES: dict[str, str] = {}
# MRI request states in which the imaging roles still see a request (imaging/choices.py)
_open_mri_states: set[str] = set()
# who may use the header's search box (referrals/search.py); nobody until an app says
_may_search: list[Callable] = []
# models the access rules read ("case", "patient_share"), registered by the app that owns them
_models: dict[str, type] = {}
# URL name (or API basename) → (model label, path to its patient): a denied attempt on one of these
# records is attributed to the child (carepath/web/middleware.py); each app registers its own
DENIED_RECORDS: dict[str, tuple[str, str]] = {}


def register_steps(table: dict) -> None:
    """`table`: state → (work item kind, queue role), as the apps' services declare their steps."""
    STEP_QUEUES.update({kind: queue for kind, queue in table.values()})


def register_open_mri_states(states: Iterable[str]) -> None:
    _open_mri_states.update(states)


def open_mri_states() -> frozenset[str]:
    return frozenset(_open_mri_states)


def register_search(may_search: Callable) -> None:
    _may_search[:] = [may_search]


def may_search(user) -> bool:
    return bool(_may_search) and _may_search[0](user)


def register_models(**models: type) -> None:
    _models.update(models)


def model(name: str) -> type:
    """A registered model; a KeyError names a missing registration at the first request."""
    return _models[name]


def register_denied_records(table: dict[str, tuple[str, str]]) -> None:
    DENIED_RECORDS.update(table)


# Who hears of a change inside its own transaction (integrations/events.py writes the outbox row, so
# the event commits or rolls back with the change). Called by carepath/pathway/transitions.py for each
# transition ("transition", event=<CaseEvent>) and carepath/notify/notifications.py for the new
# notifications of a batch ("notifications", notifications=[(<Notification>, its id), …]).
_announcers: list[Callable] = []


def register_announcer(announcer: Callable) -> None:
    if announcer not in _announcers:
        _announcers.append(announcer)


def announce(kind: str, **facts) -> None:
    for announcer in _announcers:
        announcer(kind, **facts)
