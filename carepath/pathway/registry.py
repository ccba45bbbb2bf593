"""What the apps tell carepath about themselves, filled in their `AppConfig.ready()`
(docs/architecture.md, "Imports run one way").

carepath's lower layers never import `referrals` or `imaging`: where a page or an access rule needs
something only an app knows, the app registers it here at start-up. Other registries of the same
kind: `carepath.notify.effects.register_transition` (what a timer of a kind does) and
`carepath.notify.inbox.register_on_read` (what reading a notification also does).
"""

from collections.abc import Callable, Iterable

# work item kind → the role whose queue holds it (the apps' STEPS tables), for the worklist filter
STEP_QUEUES: dict[str, str] = {}
# MRI request states in which the imaging roles still see a request (imaging/choices.py)
_open_mri_states: set[str] = set()
# who may use the header's search box (referrals/search.py); nobody until an app says
_may_search: list[Callable] = []


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
