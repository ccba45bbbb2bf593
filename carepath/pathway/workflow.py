"""A small declarative state machine (docs/design.md §3).

Each machine is one table of keyword-argument `Transition` declarations: sources, target, roles,
relation, input serializer, guards, effects (the step it closes and opens, the clock it starts or
stops) and UI grouping, with the service bound by reference (`@machine.service(name)`). The
service layer (`check`), `perform` (the one way in for the API, the pages and the tasks), the
API's `pathway/` endpoint and the UI's buttons (`allowed_for`, `describe`) all read the same
declarations, so there is no second copy of the rules. A transition with no roles is allowed to
nobody (protected by default).

We chose this over django-fsm-2 because the table also has to carry, per transition, the roles,
the caller's relation to the case ("the referring pediatrician"), the input it requires and the
service that performs it, and has to be readable at run time as data; a ~150-line table does that
with less indirection than decorators on model methods (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

from carepath.pathway import ownership, text
from carepath.pathway.errors import Forbidden, InvalidData, StaleVersion, TransitionNotAllowed, Unprocessable
from carepath.pathway.roles import Role, has_role, user_roles

# How the step being left closes (carepath/pathway/workitems.py): "done", or "cancelled" when the case is ended.
DONE, CANCELLED = "done", "cancelled"
# What a transition does to the case's 18-week clock (carepath/pathway/case_clock.py).
CLOCK_START, CLOCK_STOP = "start", "stop"
PRIMARY, SECONDARY = "primary", "secondary"  # UI grouping: the main next step, or a quieter button


@dataclass(frozen=True, kw_only=True)
class Transition:
    """One transition, declared once with everything the service, the API and the pages read.

    `guards` are pure checks `guard(obj, data)` of the locked object and the validated input that
    raise a DomainError (run by `Machine.check` when the service passes its data); the service is
    bound by reference with `@machine.service(name)` on the service function (docs/decisions.md,
    "State machines")."""

    name: str
    sources: tuple[str, ...]
    target: str | None  # None: the state does not change (e.g. reschedule)
    label: str
    roles: frozenset[str] = frozenset()
    relation: str | None = None  # e.g. "referrer": the relation that `relation_roles` need
    relation_roles: frozenset[str] = frozenset()  # roles allowed only when they hold `relation`
    description: str = ""
    input: type | None = None  # the serializer class that validates its data
    guards: tuple[Callable, ...] = ()
    closes_as: str = DONE  # how the step it leaves closes
    clock: str | None = None  # CLOCK_START / CLOCK_STOP: the case clock it starts or stops
    group: str = PRIMARY  # how the pages draw its button
    confirm: str = ""  # a statement a page asks to be ticked first: the action cannot be undone, only amended
    precheck: Callable | None = None  # the data's own rules, run before asking again for that tick
    reopens: bool = False  # leaves a terminal state: declared so, never by accident (e.g. reopen a closed case)
    service: Callable | None = field(default=None, compare=False)  # bound by `Machine.service`

    def __post_init__(self):
        object.__setattr__(self, "sources", tuple(self.sources))
        object.__setattr__(self, "roles", frozenset(self.roles))
        object.__setattr__(self, "relation_roles", frozenset(self.relation_roles))
        assert not self.relation_roles or self.relation, f"{self.name}: relation_roles need a relation"

    def target_for(self, source: str) -> str:
        return self.target or source

    @property
    def is_system(self) -> bool:
        return self.roles == frozenset({Role.SYSTEM}) and not self.relation_roles

    @property
    def input_serializer(self):
        return self.input

    def run_guards(self, obj, data: dict) -> None:
        for guard in self.guards:
            guard(obj, data)


@dataclass
class Machine:
    name: str
    states: type  # a TextChoices
    terminal: frozenset[str]
    transitions: tuple[Transition, ...]
    pk_kwarg: str = "pk"  # how services name the object's id (referral_id, mri_request_id)
    # relation name → predicate(obj, user); e.g. "referrer": is the user the case's referrer?
    relations: dict[str, Callable] = field(default_factory=dict)
    # state → the step (work item kind, queue) that waits on it: entering opens it, leaving closes it
    steps: dict = field(default_factory=dict)

    def __post_init__(self):
        self._by_name = {t.name: t for t in self.transitions}
        known = set(self.states.values)
        for t in self.transitions:
            assert set(t.sources) <= known and (t.target is None or t.target in known), t.name
            # only a self-loop (e.g. amend_report) or a declared reopening may start from a terminal
            # state: nothing leaves one by accident
            assert t.target is None or t.reopens or not set(t.sources) & self.terminal, (
                f"{t.name} leaves a terminal state"
            )

    def service(self, name: str) -> Callable[[Callable], Callable]:
        """Bind the decorated function as transition `name`'s service (once): the declaration then
        holds the function itself, and the service module imports the machine for its checks."""
        transition = self.get(name)

        def bind(func: Callable) -> Callable:
            bound = transition.service
            assert bound is None or bound.__qualname__ == func.__qualname__, f"{self.name}.{name} bound twice"
            object.__setattr__(transition, "service", func)
            return func

        return bind

    def require_services(self) -> None:
        """At start-up (the app's `ready`): every transition has its service bound."""
        unbound = [t.name for t in self.transitions if t.service is None]
        if unbound:
            raise ImproperlyConfigured(f"{self.name}: no service bound for {', '.join(unbound)}")

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

    def check(self, obj, name: str, *, actor, version: int | None = None, data: dict | None = None) -> Transition:
        """Raise unless `actor` may take action `name` on `obj` now. Call it on a locked row.
        Then: a step someone else has taken needs a take-over (carepath/pathway/ownership.py). Last, with
        `data` (the service's input), the transition's guards (a preflight without data skips them)."""
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
        if data is not None:
            transition.run_guards(obj, data)
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
        """`perform` (below), spelled from the machine: the same way in, not a second one."""
        return perform(self, pk, name, actor, data, version, take_over=take_over)

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
            "group": t.group,
            "effects": self._effects(t),
        }

    def _effects(self, t: Transition) -> dict:
        """What the transition does besides moving the state (read from the declaration)."""
        entered = {t.target} if t.target else set()
        opens = [self.steps[s][0] for s in entered if s in self.steps and s not in t.sources]
        closes = sorted({self.steps[s][0] for s in t.sources if s in self.steps and s not in entered})
        return {"opens": opens, "closes": closes, "closes_as": t.closes_as, "clock": t.clock}


def perform(
    machine: Machine,
    obj_id: int,
    name: str,
    actor,
    data=None,
    version: int | None = None,
    *,
    take_over: bool = False,
    preflight=None,
    confirm: Callable[[dict], None] | None = None,
    context: dict | None = None,
):
    """The one way into a transition, for the API, the pages and the tasks: validate `data` with
    the transition's input serializer, then call its service (which locks the row and runs
    `Machine.check`, guards included). Errors are DomainErrors, mapped once for the API
    (carepath/api/problems.py) and once for the pages (carepath/web/webforms.py).

    `take_over`: the actor takes over the step if someone else holds it (carepath/pathway/ownership.py).
    `preflight`: the object as the page read it, checked before the data so a stale form says so
    first; `confirm`: a last look at the validated data (a page's "I confirm" box); `context`:
    arguments a task or a receiver passes besides the data (a timer's `now`), never from a client.
    A system transition is refused to anyone but the system user."""
    transition = machine.get(name)
    if transition.is_system and not has_role(actor, Role.SYSTEM):
        raise Forbidden(f"{transition.label} is done by the system, not by a person.")
    with ownership.taking_over(take_over):
        if preflight is not None:
            machine.check(preflight, name, actor=actor, version=version)  # cheap; the service re-checks locked
        validated = machine.validate(name, data)
        if confirm is not None:
            confirm(validated)
        kwargs = {machine.pk_kwarg: obj_id, "actor": actor, "expected_version": version}
        return transition.service(**kwargs, **validated, **(context or {}))


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
