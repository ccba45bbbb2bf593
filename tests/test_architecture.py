"""The import rules of docs/architecture.md, "Imports run one way", read from the source with `ast`:
every `import` and `from … import`, at module level and inside functions alike (a function-level
import is still a dependency; it only hides it from the import machinery)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("carepath", "referrals", "imaging", "integrations")
APPS = ("referrals", "imaging", "integrations")
# Project wiring: the only carepath modules that may name the apps (settings list them in
# INSTALLED_APPS; the root URLs include their urls.py and api.py by dotted path).
WIRING = {"carepath.settings", "carepath.urls", "carepath.celery", "carepath.wsgi", "carepath.asgi"}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module of ours that `name` (a module, or a module's attribute) lives in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imported(module: str, node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".")
        if MODULES[module].name != "__init__.py":
            package.pop()
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, *([node.module] if node.module else [])])
    return [f"{base}.{alias.name}" for alias in node.names]


def _graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                targets |= {_owner(name) for name in _imported(module, node)} - {None, module}
        graph[module] = targets
    return graph


GRAPH = _graph()


def _top(module: str) -> str:
    return module.split(".")[0]


def test_carepath_below_its_wiring_never_imports_the_apps():
    wrong = sorted(
        f"{m} → {t}"
        for m, ts in GRAPH.items()
        for t in ts
        if _top(m) == "carepath" and m not in WIRING and _top(t) in APPS
    )
    assert wrong == []


def test_imaging_never_imports_referrals():
    wrong = sorted(
        f"{m} → {t}" for m, ts in GRAPH.items() for t in ts if _top(m) == "imaging" and _top(t) == "referrals"
    )
    assert wrong == []


def test_only_the_wiring_imports_integrations():
    """integrations/ sits on top of both apps (it turns messages into their transitions)."""
    wrong = sorted(
        f"{m} → {t}"
        for m, ts in GRAPH.items()
        for t in ts
        if _top(t) == "integrations" and _top(m) != "integrations" and m not in WIRING
    )
    assert wrong == []


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_no_two_modules_import_each_other_even_through_others():
    assert _cycles() == []


def test_the_checker_sees_function_level_and_relative_imports():
    """The rules above would pass vacuously if the parser missed imports."""
    assert "carepath.pathway.registry" in GRAPH["carepath.web.context_processors"]
    assert "referrals.search" in GRAPH["referrals.apps"]  # a relative import inside ready()
    assert "carepath.timers.tasks" in GRAPH["carepath.apps"]  # inside ready()


def test_no_module_passes_four_hundred_lines():
    """docs/architecture.md: a module that passes 400 lines holds more than one thing (migrations aside)."""
    bench = {f"bench.{p.stem}": p for p in (ROOT / "bench").glob("*.py")}
    long = {name: n for name, path in {**MODULES, **bench}.items() if (n := len(path.read_text().splitlines())) > 400}
    assert long == {}
