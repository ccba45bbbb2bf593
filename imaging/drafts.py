"""Report drafts: a structured report saved before it is signed, and resumed later by the same
neuroradiologist (docs/decisions.md, "A report that cannot contradict itself").

A draft is nobody's report yet: it is not checked (half a report may contradict itself), not on the
timeline, not in the API's reports and not on the case page; only its author sees it, on the reading
page (and `GET /api/v1/mri-requests/{id}/report-draft/`). Signing deletes it.
"""

from django.db import transaction
from django.http import QueryDict
from django.utils import timezone

from carepath.models import AuditLog
from carepath.pathway import audit
from carepath.pathway.text import TEXT

from .inputs import SignReportInput
from .machine import MRI_MACHINE
from .models import MRIRequest, ReportDraft


def _field_names(serializer, prefix: str = "") -> list[str]:
    names = []
    for name, field in serializer.fields.items():
        dotted = f"{prefix}{name}"
        names += _field_names(field, f"{dotted}.") if hasattr(field, "fields") else [dotted]
    return names


def _known() -> list[str]:
    return _field_names(SignReportInput())


def _kept(value) -> str | bool | None:
    """A draft keeps text (bounded), booleans and nothing else."""
    if isinstance(value, bool) or value is None:
        return value
    return str(value)[:TEXT]


def clean(data: dict) -> dict:
    """The report's known fields only, in `sign_report`'s nested shape; anything else is dropped."""
    kept: dict = {}
    for dotted in _known():
        *path, last = dotted.split(".")
        source = data
        for part in path:
            source = source.get(part) if isinstance(source, dict) else None
        if not isinstance(source, dict) or last not in source:
            continue
        target = kept
        for part in path:
            target = target.setdefault(part, {})
        target[last] = _kept(source[last])
    return kept


def from_post(post: QueryDict) -> dict:
    """A posted report form (dotted names) as a draft."""
    nested: dict = {}
    for dotted in _known():
        if dotted in post:
            *path, last = dotted.split(".")
            target = nested
            for part in path:
                target = target.setdefault(part, {})
            target[last] = post.getlist(dotted)[-1]  # a checkbox posts its hidden "false" first
    return clean(nested)


def as_post(data: dict) -> QueryDict:
    """A draft as the report form's posted values, to draw the form from (booleans as the form posts them)."""
    post = QueryDict(mutable=True)
    for dotted in _known():
        value = data
        for part in dotted.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            post[dotted] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return post


@transaction.atomic
def report_draft_save(*, mri_request_id: int, actor, data: dict) -> ReportDraft:
    """Save (or replace) `actor`'s draft of this study's report: only whoever may sign it now."""
    mri = MRIRequest.objects.select_for_update().select_related("referral").get(pk=mri_request_id)
    MRI_MACHINE.check(mri, "sign_report", actor=actor)
    draft, created = ReportDraft.objects.update_or_create(
        mri_request=mri, author=actor, defaults={"data": clean(data), "updated_at": timezone.now()}
    )
    action = AuditLog.Action.CREATE if created else AuditLog.Action.UPDATE
    audit.record(actor, action, draft, {"draft": True})
    return draft


def report_draft_for(*, mri_request_id: int, user) -> ReportDraft | None:
    """`user`'s own draft of this study's report, if any (nobody else's, ever)."""
    return ReportDraft.objects.filter(mri_request_id=mri_request_id, author=user).first()
