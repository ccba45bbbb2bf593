"""The structured neuroradiology report checked as a whole (docs/decisions.md, "A report that cannot
contradict itself").

Each field of the report is checked alone by its input serializer (`imaging.inputs`); the rules that
tie fields together live here, once, and the service that signs or amends a report calls them, so the
web form, the API and the RIS client are refused alike: `Unprocessable` (422 in the API, errors beside
the fields on the page), naming each field by its dotted name (`findings.lesion.location`).
"""

from carepath.pathway.errors import Unprocessable

from .choices import NVCStatus, ReportCategory

NVC_DETAILS = ("side", "vessel", "segment", "severity")
LESION_DETAILS = ("location", "kind")
# Findings that alone make a result more than routine, and the categories each allows.
NOT_ROUTINE = (ReportCategory.SIGNIFICANT_UNEXPECTED, ReportCategory.URGENT, ReportCategory.CRITICAL)
AT_LEAST_URGENT = (ReportCategory.URGENT, ReportCategory.CRITICAL)


def problems(findings: dict, category: str) -> dict[str, list[str]]:
    """{dotted field name: [messages]} for every rule the report breaks; empty when it holds together."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    nvc, lesion = findings.get("nvc") or {}, findings.get("lesion") or {}
    compression = nvc.get("status") == NVCStatus.PRESENT
    for name in NVC_DETAILS:
        if compression and not nvc.get(name):
            add(f"findings.nvc.{name}", "Required when compression is present.")
        if not compression and nvc.get(name):
            add(f"findings.nvc.{name}", "Leave this empty unless compression is present.")
    if not compression and nvc.get("multiple"):
        add("findings.nvc.multiple", "Only when compression is present.")

    has_lesion = bool(lesion.get("present"))
    if has_lesion and not lesion.get("location"):
        add("findings.lesion.location", "Required when a lesion is present.")
    if not has_lesion:
        for name in LESION_DETAILS:
            if (lesion.get(name) or "").strip():
                add(f"findings.lesion.{name}", "There is no lesion: leave this empty, or tick “Lesion present”.")

    _category_agrees(findings, category, has_lesion, compression, add)
    return errors


def _category_agrees(findings: dict, category: str, has_lesion: bool, compression: bool, add) -> None:
    if not category:
        return
    if has_lesion and category not in NOT_ROUTINE:
        add("category", "A lesion cannot be reported as routine: choose significant unexpected, urgent or critical.")
    if findings.get("hydrocephalus") and category not in AT_LEAST_URGENT:
        add("category", "Hydrocephalus is at least urgent: choose urgent or critical.")
    anything = (
        compression
        or has_lesion
        or any(findings.get(k) for k in ("arachnoid_cyst", "adhesions", "hydrocephalus"))
        or bool((findings.get("other") or "").strip())
    )
    if category != ReportCategory.ROUTINE and not anything:
        label = ReportCategory(category).label.lower()
        add("category", f"A {label} result needs the finding that makes it so: record it in the findings.")


def check(findings: dict, category: str) -> None:
    """Raise `Unprocessable` naming every field in conflict; nothing when the report holds together."""
    errors = problems(findings, category)
    if errors:
        raise Unprocessable(errors)


def check_input(data: dict) -> None:
    """`check` on `sign_report`'s validated data (the web form runs it before asking to confirm)."""
    check(data.get("findings") or {}, data.get("category", ""))
