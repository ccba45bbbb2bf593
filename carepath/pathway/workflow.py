"""A small declarative state machine (docs/design.md §3).

Each machine is one table of `Transition`s. The service layer (`check`), the API's `pathway/`
endpoint and the UI's buttons (`allowed_for`, `describe`) all read the same table, so there is no
second copy of the rules. A transition with no roles is allowed to nobody (protected by default).

We chose this over django-fsm-2 because the table also has to carry, per transition, the roles,
the caller's relation to the case ("the referring pediatrician"), the input it requires and the
service that performs it, and has to be readable at run time as data; a ~150-line table does that
with less indirection than decorators on model methods (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from django.utils.module_loading import import_string

from carepath.pathway import ownership, text
from carepath.pathway.errors import Forbidden, InvalidData, StaleVersion, TransitionNotAllowed, Unprocessable
from carepath.pathway.roles import Role, user_roles


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]
    target: str | None  # None: the state does not change (e.g. reschedule)
    roles: frozenset[str]
    label: str
    service: str  # dotted path of the service function that performs it
    input: str | None = None  # dotted path of the serializer that validates its data
    relation: str | None = None  # e.g. "referrer": the relation that `relation_roles` need
    relation_roles: frozenset[str] = frozenset()  # roles allowed only when they hold `relation`
    description: str = ""

    def target_for(self, source: str) -> str:
        return self.target or source

    @property
    def is_system(self) -> bool:
        return self.roles == frozenset({Role.SYSTEM}) and not self.relation_roles

    @cached_property
    def service_func(self) -> Callable:
        return import_string(self.service)

    @cached_property
    def input_serializer(self):
        return import_string(self.input) if self.input else None


@dataclass
class Machine:
    name: str
    states: type  # a TextChoices
    terminal: frozenset[str]
    transitions: tuple[Transition, ...]
    pk_kwarg: str = "pk"  # how services name the object's id (referral_id, mri_request_id)
    # relation name → predicate(obj, user); e.g. "referrer": is the user the case's referrer?
    relations: dict[str, Callable] = field(default_factory=dict)

    def __post_init__(self):
        self._by_name = {t.name: t for t in self.transitions}
        known = set(self.states.values)
        for t in self.transitions:
            assert set(t.sources) <= known and (t.target is None or t.target in known), t.name
            # only a self-loop (e.g. amend_report) may start from a terminal state: nothing leaves one
            assert t.target is None or not set(t.sources) & self.terminal, f"{t.name} leaves a terminal state"

    @property
    def open_states(self) -> tuple[str, ...]:
        return tuple(s for s in self.states.values if s not in self.terminal)

    def get(self, name: str) -> Transition:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(sorted(self._by_name))
            raise TransitionNotAllowed(f"There is no action called {name!r}. Known actions: {known}.") from None

    def may_perform(self, transition: Transition, obj, user) -> bool:
        """Role and relation only: whether this user may take this action on this object at all."""
        roles = user_roles(user)
        if transition.roles & roles:
            return True
        if transition.relation_roles & roles:
            return bool(self.relations[transition.relation](obj, user))
        return False

    def check(self, obj, name: str, *, actor, version: int | None = None) -> Transition:
        """Raise unless `actor` may take action `name` on `obj` now. Call it on a locked row.
        Last: a step someone else has taken needs a take-over (carepath/ownership.py)."""
        transition = self.get(name)
        if not self.may_perform(transition, obj, actor):
            raise Forbidden(f"Your role may not {transition.label.lower()} on this case.")
        if version is not None and int(version) != obj.version:
            # no version numbers in the words: they mean nothing to a clinician (the API's ETag has it)
            raise StaleVersion(
                "Someone else changed this case after you opened it: check it as it is now and try again."
            )
        if obj.state not in transition.sources:
            raise TransitionNotAllowed(
                f"Cannot {transition.label.lower()} while the case is "
                f"{self.states(obj.state).label.lower()}; allowed from: "
                f"{', '.join(self.states(s).label.lower() for s in transition.sources)}."
            )
        ownership.guard(self.name, obj, transition, actor)
        return transition

    def validate(self, name: str, data) -> dict:
        """The transition's data, checked by its input serializer; raises InvalidData naming the fields."""
        transition = self.get(name)
        serializer_class = transition.input_serializer
        if serializer_class is None:
            return {}
        if data is None:
            data = {}
        if not hasattr(data, "get"):
            raise InvalidData({"data": "Expected an object with the action's fields."})
        serializer = serializer_class(data=data)
        if not serializer.is_valid():
            refused = text.only_text_errors(serializer)  # control characters alone: 422, not 400
            raise (Unprocessable if refused else InvalidData)(_flatten(serializer.errors))
        return dict(serializer.validated_data)

    def run(self, name: str, *, pk: int, actor, data=None, version: int | None = None, take_over: bool = False):
        """Validate the data, then perform the transition through its service (API and UI share this).
        `take_over`: the actor takes over the step if someone else holds it (carepath/ownership.py)."""
        transition = self.get(name)
        if transition.is_system:
            raise Forbidden(f"{transition.label} is done by the system, not by a person.")
        validated = self.validate(name, data)
        with ownership.taking_over(take_over):
            return transition.service_func(**{self.pk_kwarg: pk}, actor=actor, expected_version=version, **validated)

    def allowed_for(self, obj, user) -> list[str]:
        """The actions this user may take on this object in its current state (for buttons and API)."""
        return [
            t.name
            for t in self.transitions
            if obj.state in t.sources and not t.is_system and self.may_perform(t, obj, user)
        ]

    def transitions_from(self, state: str) -> Iterable[Transition]:
        return (t for t in self.transitions if state in t.sources)

    def describe(self) -> dict:
        """The machine as data, for `GET /api/v1/pathway/` and the UI."""
        return {
            "name": self.name,
            "states": [
                {"name": value, "label": label, "terminal": value in self.terminal}
                for value, label in self.states.choices
            ],
            "transitions": [self._describe_transition(t) for t in self.transitions],
        }

    def _describe_transition(self, t: Transition) -> dict:
        serializer = t.input_serializer
        fields = []
        if serializer is not None:
            for fname, f in serializer().fields.items():
                if not f.read_only:
                    fields.append({"name": fname, "required": f.required, "help_text": str(f.help_text or "")})
        return {
            "name": t.name,
            "label": t.label,
            "from": list(t.sources),
            "to": t.target,
            "roles": sorted(t.roles),
            "relation": t.relation,
            "relation_roles": sorted(t.relation_roles),
            "system": t.is_system,
            "data": fields,
            "description": t.description,
        }


def _flatten(errors, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error dict → {"severity.score": [...]} so every message names its field."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = key if not prefix else (prefix if key == "non_field_errors" else f"{prefix}.{key}")
            for k, v in _flatten(value, name).items():
                flat.setdefault(k, []).extend(v)
    elif isinstance(errors, list) and errors and all(isinstance(e, (dict, list)) for e in errors):
        for index, item in enumerate(errors):
            flat.update(_flatten(item, f"{prefix}.{index}"))
    else:
        items = errors if isinstance(errors, list) else [errors]
        flat[prefix or "non_field_errors"] = [str(e) for e in items]
    return flat
