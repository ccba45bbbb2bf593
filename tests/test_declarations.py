"""Transitions are declared once (carepath/pathway/workflow.py): each declaration holds its service, input
and guards as callables, the pathway endpoint and the case page read it, and `perform` is the
one way in for the API, the pages and the tasks."""

import ast
import inspect
import pathlib
from unittest import mock

import pytest
from rest_framework import serializers

from carepath.pathway import workflow
from carepath.pathway.workflow import CANCELLED, CLOCK_START, CLOCK_STOP, DONE, PRIMARY, SECONDARY
from imaging.machine import MRI_MACHINE
from referrals.machine import REFERRAL_MACHINE

ROOT = pathlib.Path(__file__).resolve().parent.parent
TRANSITIONS = [(m, t) for m in (REFERRAL_MACHINE, MRI_MACHINE) for t in m.transitions]
IDS = [f"{m.name}.{t.name}" for m, t in TRANSITIONS]
SERVICE_MODULES = {"referrals.services", "referrals.reopen", "imaging.services", "imaging.reports"}  # the only writers


@pytest.mark.parametrize(("machine", "t"), TRANSITIONS, ids=IDS)
def test_every_declaration_holds_its_service_input_and_guards_as_callables_not_strings(machine, t):
    assert inspect.isfunction(t.service), "bound with @machine.service(name) when the services load"
    assert t.service.__module__ in SERVICE_MODULES
    assert machine.pk_kwarg in inspect.signature(t.service).parameters
    assert t.input is None or (inspect.isclass(t.input) and issubclass(t.input, serializers.Serializer))
    assert all(callable(g) and not isinstance(g, str) for g in t.guards)
    assert t.closes_as in (DONE, CANCELLED) and t.clock in (None, CLOCK_START, CLOCK_STOP)
    assert t.group in (PRIMARY, SECONDARY)
    assert t.precheck is None or inspect.isfunction(t.precheck)


def test_a_service_cannot_be_bound_to_a_second_function():
    with pytest.raises(AssertionError):
        REFERRAL_MACHINE.service("triage")(lambda **kw: None)


def test_the_clock_starts_at_triage_and_stops_when_the_case_is_concluded_or_ended():
    starts = {t.name for t in REFERRAL_MACHINE.transitions if t.clock == CLOCK_START}
    stops = {t.name for t in REFERRAL_MACHINE.transitions if t.clock == CLOCK_STOP}
    assert starts == {"triage"}
    assert stops == {"conclude", "acknowledge", "auto_close", "decline", "cancel"}


def test_a_timer_and_the_report_signed_task_go_through_perform(pathway):
    from referrals import tasks

    referral = pathway.performed()
    with mock.patch.object(workflow, "perform") as perform:
        tasks.imaging_complete(referral.pk)
    assert perform.call_args.args[:3] == (REFERRAL_MACHINE, referral.pk, "imaging_complete")


def test_a_person_may_not_perform_a_system_transition(neurologist, referral):
    from carepath.pathway.errors import Forbidden

    with pytest.raises(Forbidden):
        workflow.perform(REFERRAL_MACHINE, referral.pk, "imaging_complete", neurologist)


SERVICE_NAMES = {t.service.__name__ for _, t in TRANSITIONS}
# The services call each other inside one transaction (a case's cancel cancels its MRI request), and
# the demo's seeding backdates each step through the services it wraps; nothing else may.
ALLOWED = {"services.py", "seed_demo.py"}
MODULES = sorted(
    p
    for app in ("carepath", "referrals", "imaging")
    for p in (ROOT / app).rglob("*.py")
    if "migrations" not in p.parts and p.name not in ALLOWED
)


def test_no_view_api_task_or_receiver_calls_a_transition_service_directly():
    """They call `workflow.perform`; a service called anywhere else would be a second way in."""
    callers = {}
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in SERVICE_NAMES:
                    callers.setdefault(str(path.relative_to(ROOT)), []).append(name)
    assert len(MODULES) > 50 and callers == {}
