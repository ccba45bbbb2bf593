"""The fast path (carepath/db/: compiled reads, bulk inserts, batched writes, the timestamp loader) is
imported only by the modules that build rows or commit transitions (docs/decisions.md, "The fast
path's fence"). Everything else reads and writes through them or through the plain ORM, so the
hand-written layer stays small enough to remove where plain Django meets the targets."""

import ast
import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAST_PATH = {"compiled", "bulk", "writes", "pg_loaders"}
PACKAGES = ("carepath", "referrals", "imaging", "integrations", "bench")

# Who may import it, and why. `carepath*.x` also matches x moved into a carepath sub-package.
ALLOWED = {
    # commit transitions: the row lock, the transaction scope that batches their writes
    "referrals.services": "commits the referral's transitions (writes.atomic, compiled.lock)",
    "referrals.reopen": "commits the referral's reopen transition (writes.atomic), beside referrals.services",
    "referrals.intake": "writes a new patient and referral (writes.atomic)",
    "referrals.mdt.services": "opens an MDT decision's work items, whose timers are batched (writes.atomic)",
    "referrals.followup.services": "opens follow-up visits' work items, whose timers are batched (writes.atomic)",
    "imaging.services": "commits the MRI request's transitions (writes.atomic)",
    "imaging.reports": "commits the report's transitions and its acknowledgement (writes.atomic)",
    "carepath*.transitions": "writes the case's UPDATE and timeline event of every transition",
    "carepath*.workitems": "opens and closes a transition's work items (bulk, CompiledUpdate)",
    "carepath*.ownership": "reads who holds a case while a transition is committed (compiled once per machine)",
    # write the rows a transition (or the timer sweep) commits, in one INSERT each
    "carepath*.audit": "audit rows, and the read audit written with the read",
    "carepath*.effects": "a transition's follow-ups and their events",
    "carepath*.case_clock": "the 18-week clock's rows",
    "carepath*.family": "family messages and their events",
    "carepath*.notifications": "notifications and their deliveries",
    "carepath*.timers": "timers (the sweep's own writes)",
    "carepath*.scheduling": "timers (the sweep's own writes)",
    # build the API's rows: the list pages and the detail, the token look-up
    "referrals.rows": "the referral list's page and the detail, hand-built from compiled rows",
    "carepath*.api.worklist_rows": "the worklist's page, hand-built from compiled rows",
    "carepath*.api.pagination": "the list pages' compiled id queries",
    "carepath*.api.filtering": "plain filters compiled into those id queries",
    "carepath*.api.tokens": "the bearer token's look-up, on every API request",
    # the outbox: the events in the transition's own transaction, their fan-out by the relay
    "integrations.events": "the event rows (bulk) and the read of who listens, in every transition (compiled)",
    "integrations.webhooks.fanout": "a delivery row per endpoint, in the relay's fan-out transaction (bulk)",
    "integrations.subscriptions.fanout": "a notification row per subscription, in the relay's fan-out (bulk)",
    "integrations.fhir_in.receive": "writes the EHR's new patient and referral, as intake does (writes.atomic)",
    # project wiring
    "carepath*.apps": "installs the timestamp loader (pg_loaders) at start-up",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(tree: ast.Module, module: str, is_package: bool) -> set[str]:
    """Every module an import statement names, relative imports resolved, `from x import y` as x.y too."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join(p for p in (*package, base) if p)
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def fast_path_imports(names: set[str]) -> set[str]:
    return {name for name in names if name.startswith("carepath.db.") and name.split(".")[2] in FAST_PATH}


def importers() -> dict[str, set[str]]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            module = module_name(path)
            if "migrations" in path.parts or module.startswith("carepath.db"):
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            hits = fast_path_imports(imported_modules(tree, module, path.name == "__init__.py"))
            if hits:
                found[module] = hits
    return found


def allowed(module: str) -> bool:
    return any(fnmatch.fnmatchcase(module, pattern) for pattern in ALLOWED)


def test_only_the_modules_that_build_rows_or_commit_transitions_import_the_fast_path():
    outside = {module: sorted(hits) for module, hits in importers().items() if not allowed(module)}
    assert not outside, (
        f"{outside} import the fast path (carepath/db/): use the plain ORM, or go through a module that "
        "builds rows or commits transitions (tests/test_fast_path_fence.py, docs/decisions.md)"
    )


def test_the_fence_sees_every_kind_of_import():
    source = """
import carepath.db.compiled
from carepath.db import bulk, roles
from carepath.db.writes import later
from ..db.pg_loaders import x
from . import writes
"""
    names = imported_modules(ast.parse(source), "carepath.api.rows", is_package=False)
    assert fast_path_imports(names) == {
        "carepath.db.compiled",
        "carepath.db.bulk",
        "carepath.db.writes",
        "carepath.db.writes.later",
        "carepath.db.pg_loaders",
        "carepath.db.pg_loaders.x",
    }  # not carepath.db.roles (the database's roles are not the fast path), nor `writes` beside the rows module
    inside = imported_modules(ast.parse("from . import writes"), "carepath.db.bulk", is_package=False)
    assert fast_path_imports(inside) == {"carepath.db.writes"}
