"""Every citation resolves inside the repository: a newcomer who follows one finds what it names.

Read as text from every source, doc and template file: a cited path (`carepath/pathway/access.py`,
`docs/design.md`, `includes/field.html`) is a file of the repository (a path with folders may be
cited from the package it is in: `web/urls.py` for carepath/web/urls.py; a bare name must be some
file's name; a template may be one of the Django admin's); a section of the design (`docs/design.md
§4`) is one of its headings; a titled passage (`docs/decisions.md, "The fast path's fence"`) is in
that document; a module or a name in one cited by its dotted name in the docs, a docstring or a
comment (`carepath.pathway.access`, `imaging.reports.report_acknowledge`) is there (or is a model's
label, an audited object type, or a Celery task's name); and nothing cites a design, style or
developer guide kept outside the repository."""

import ast
import io
import re
import tokenize
from pathlib import Path

import django.contrib.admin
from django.apps import apps

from carepath.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".git", ".venv", "var", "node_modules", "__pycache__", ".ruff_cache", ".hypothesis", ".pytest_cache"}
SKIP_UNDER = {("bench", "results"), ("staticfiles",)}
READ = {".py", ".md", ".html", ".txt", ".toml", ".yml"}
ADMIN_TEMPLATES = Path(django.contrib.admin.__file__).parent / "templates"

PATH = re.compile(r"(?<![\w./{}-])((?:[\w-]+/)*[\w-]+\.(?:py|md|html))(?![\w/])")
SECTION = re.compile(r"design\.md,? (§\d+(?:, §\d+)*)")
TITLED = re.compile(r"([\w-]+\.md),? \(?\"([^\"\n]{3,80})\"")
DOTTED = re.compile(r"(?<![\w./-])((?:carepath|referrals|imaging|bench|tests)(?:\.\w+)+)")
NOT_NAMES = {"css", "js", "org", "com", "sqlite3", "py", "md", "html"}  # a file or a host named after the project
OUTSIDE = re.compile(r"\b(?:DESIGN|STYLE|DEVELOPERS)\.md\b")


def _repository() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        if any(p in SKIP for p in parts) or any(parts[: len(s)] == s for s in SKIP_UNDER):
            continue
        if path.is_file():
            found.append(path)
    return sorted(found)


REPOSITORY = _repository()
FILES = [p for p in REPOSITORY if p.suffix in READ or p.name in ("dev", "Dockerfile", "run")]
PATHS = {p.relative_to(ROOT).as_posix() for p in REPOSITORY}
NAMES = {p.name for p in REPOSITORY}


def _exists(cited: str) -> bool:
    if "/" not in cited:
        return cited in NAMES
    return cited in PATHS or any(p.endswith("/" + cited) for p in PATHS) or (ADMIN_TEMPLATES / cited).is_file()


def _lines():
    for path in FILES:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            yield f"{path.relative_to(ROOT)}:{number}", line


def test_every_cited_path_is_a_file_of_the_repository():
    missing = [
        f"{where}: {m.group(1)}"
        for where, line in _lines()
        for m in PATH.finditer(line)
        if "://" not in line[: m.start()].rsplit(" ", 1)[-1] and not _exists(m.group(1))
    ]
    assert len(FILES) > 300 and missing == []


def test_every_cited_section_of_the_design_is_one_of_its_headings():
    headings = set(re.findall(r"^## (§\d+) ", (ROOT / "docs/design.md").read_text(), re.M))
    cited = {(where, s) for where, line in _lines() for m in SECTION.finditer(line) for s in m.group(1).split(", ")}
    assert len(cited) > 50 and {c for c in cited if c[1] not in headings} == set()


def test_every_cited_passage_is_in_the_document_it_names():
    docs = {p.name: p.read_text() for p in [*(ROOT / "docs").glob("*.md"), ROOT / "README.md"]}
    cited = [
        (path, m.group(1), m.group(2)) for path in FILES for m in TITLED.finditer(path.read_text(errors="replace"))
    ]
    missing = [f"{p.relative_to(ROOT)}: {doc} “{title}”" for p, doc, title in cited if title not in docs.get(doc, "")]
    assert len(cited) > 50 and missing == []


def test_no_file_cites_a_guide_kept_outside_the_repository():
    citing = [f"{where}: {m}" for where, line in _lines() for m in OUTSIDE.findall(line)]
    assert citing == []


def _prose(path: Path) -> str:
    """A document's text; of a module, its docstrings and comments (its strings are values, not citations)."""
    text = path.read_text(errors="replace")
    if path.suffix != ".py":
        return text
    docs = [
        ast.get_docstring(node) or ""
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    comments = [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT]
    return "\n".join(docs + comments)


def _module(parts: list[str]) -> Path | None:
    base = ROOT.joinpath(*parts)
    return next((p for p in (base / "__init__.py", base.with_suffix(".py")) if p.is_file()), None)


def _defined(module: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name | ast.arg):
            names.add(getattr(node, "id", None) or node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names


def test_every_dotted_module_or_name_cited_is_there():
    celery_app.loader.import_default_modules()  # every app's tasks, as a worker loads them
    labels = {m._meta.label_lower for m in apps.get_models()} | set(celery_app.tasks)
    stale = set()
    for path in [p for p in FILES if p.suffix in (".py", ".md") and "migrations" not in p.parts]:
        for cited in {m.group(1).rstrip(".") for m in DOTTED.finditer(_prose(path))}:
            parts = cited.split(".")
            depth = next(k for k in range(len(parts), 0, -1) if _module(parts[:k]) or k == 1)
            if depth == len(parts) or NOT_NAMES & set(parts) or ".".join(parts[:2]).lower() in labels:
                continue
            if parts[depth] not in _defined(_module(parts[:depth])):
                stale.add(f"{path.relative_to(ROOT)}: {cited}")
    assert sorted(stale) == []
