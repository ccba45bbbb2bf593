"""Neuroradiology reports: signing, amending, and neurology's acknowledgement of a critical or urgent
result (docs/design.md §3, docs/decisions.md "Amendments keep the previous version", "One
acknowledgement service"). Transitions lock and commit as the other MRI services do
(imaging/services.py); the acknowledgement is not a transition but closes its work item.
"""

from django.db import transaction
from django.utils import timezone

from carepath.db import writes
from carepath.models import AuditLog, Machine, Notification, WorkItemKind, WorkItemStatus
from carepath.pathway import access, audit, workitems
from carepath.pathway import transitions as tx
from carepath.pathway.errors import Forbidden
from carepath.pathway.priority import Priority
from carepath.pathway.roles import Role

from . import report_rules, signals
from .choices import ALERT_CATEGORIES, SEVERITY_ORDER, ReportCategory
from .machine import MRI_MACHINE
from .models import MRIRequest, NeuroradiologyReport, ReportAddendum, ReportDraft
from .services import _commit, _lock, _tell_referrer  # one lock order and one commit for every MRI transition


# --- signing and amending ------------------------------------------------------------------------
@MRI_MACHINE.service("sign_report")
@writes.atomic
def mri_sign_report(
    *, mri_request_id: int, actor, findings: dict, impression: str, category: str, expected_version=None
):
    mri = _lock(mri_request_id)
    given = {"findings": findings, "category": category}  # the report as a whole, before anything is written
    MRI_MACHINE.check(mri, "sign_report", actor=actor, version=expected_version, data=given)
    report = NeuroradiologyReport.objects.create(
        mri_request=mri,
        findings=tx.jsonable(findings),
        impression=impression,
        category=category,
        signed_by=actor,
        signed_at=timezone.now(),
    )
    ReportDraft.objects.filter(mri_request=mri).delete()  # signed: every draft of it is moot
    _commit(mri, "sign_report", actor=actor, data={"category": category, "impression": impression, "report": report.pk})
    if category in ALERT_CATEGORIES:
        _open_result_acknowledgement(mri, category=category, impression=impression)
    payload = {"mri_request_id": mri.pk, "referral_id": mri.referral_id, "category": category}
    transaction.on_commit(lambda: signals.report_signed.send(sender=MRIRequest, **payload))
    return mri


def _open_result_acknowledgement(mri: MRIRequest, *, category: str, impression: str) -> None:
    """Neurology must acknowledge a critical or urgent result (one open step per study at a time),
    and the referrer hears that neurology has it, never the images or the report's words
    (docs/decisions.md)."""
    label = ReportCategory(category).label
    _tell_referrer(mri, "result_alert", category=label.lower(), category_label=label)
    open_already = mri.work_items.filter(kind=WorkItemKind.CRITICAL_RESULT_ACK, status=WorkItemStatus.OPEN)
    if open_already.exists():
        return
    workitems.open_item(
        referral_id=mri.referral_id,
        mri_request_id=mri.pk,
        machine=Machine.MRI,
        kind=WorkItemKind.CRITICAL_RESULT_ACK,
        queue=Role.NEUROLOGIST,
        priority=Priority.ASAP if category == ReportCategory.CRITICAL else Priority.URGENT,
        is_primary=False,
        assigned_to=mri.requested_by,
        note=impression[:500],
    )


@MRI_MACHINE.service("amend_report")
@writes.atomic
def mri_amend_report(
    *,
    mri_request_id: int,
    actor,
    addendum: str,
    impression: str = "",
    category: str = "",
    findings: dict | None = None,
    expected_version=None,
):
    """An addendum, and optionally corrected findings, impression and category. The report shows the
    new values; the addendum and the timeline event keep the previous ones (before → after), so what
    the report said when it was first read stays visible. The corrected report must hold together as a
    signed one must (a lesion found on a second look raises the category in the same amendment). A
    category raised to urgent or critical (routine → urgent, urgent → critical) needs a new
    acknowledgement by neurology."""
    mri = _lock(mri_request_id)
    MRI_MACHINE.check(mri, "amend_report", actor=actor, version=expected_version)
    report = NeuroradiologyReport.objects.select_for_update().get(mri_request=mri)
    changes = _report_changes(report, impression=impression.strip(), category=category, findings=findings)
    if "category" in changes or "findings" in changes:
        report_rules.check(report.findings if findings is None else findings, category or report.category)
    raised = "category" in changes and category in ALERT_CATEGORIES and _more_severe(category, report.category)
    for name, change in changes.items():
        setattr(report, name, change["after"])
    if raised:
        report.acknowledged_by, report.acknowledged_at = None, None
    if changes:
        report.save(update_fields=[*changes, "acknowledged_by", "acknowledged_at"])
    added = ReportAddendum.objects.create(
        report=report, text=addendum, author=actor, at=timezone.now(), changes=tx.jsonable(changes)
    )
    data = {"addendum": addendum, "addendum_id": added.pk, "changes": changes}
    _commit(mri, "amend_report", actor=actor, data=data)
    if raised:
        _open_result_acknowledgement(mri, category=category, impression=report.impression)
    payload = {"mri_request_id": mri.pk, "referral_id": mri.referral_id, "addendum_id": added.pk}
    transaction.on_commit(lambda: signals.report_amended.send(sender=MRIRequest, **payload))
    return mri


def _more_severe(new: str, old: str) -> bool:
    """Routine → urgent, urgent → critical: a result neurology must acknowledge (again)."""
    if old in SEVERITY_ORDER and new in SEVERITY_ORDER:
        return SEVERITY_ORDER.index(new) > SEVERITY_ORDER.index(old)
    return True


def _report_changes(report: NeuroradiologyReport, *, impression: str, category: str, findings: dict | None) -> dict:
    changes = {}
    if findings is not None and _normalised(findings) != _normalised(report.findings or {}):
        changes["findings"] = {"before": report.findings or {}, "after": tx.jsonable(findings)}
    if impression and impression != report.impression:
        changes["impression"] = {"before": report.impression, "after": impression}
    if category and category != report.category:
        changes["category"] = {"before": report.category, "after": category}
    return changes


def _normalised(findings: dict) -> dict:
    """Findings as the input serializer would store them (defaults filled in), so the same findings
    posted again by the page's form are not an amendment."""
    from .inputs import FindingsInput

    given = FindingsInput(data=findings)
    return tx.jsonable(given.validated_data) if given.is_valid() else findings


# --- acknowledging a critical or urgent result ----------------------------------------------------
def unacknowledged_alert_reports(*, referral_id: int) -> list[int]:
    """Ids of this case's critical or urgent reports nobody has acknowledged (the case page's banner;
    they block concluding and closing the case)."""
    reports = NeuroradiologyReport.objects.filter(
        mri_request__referral_id=referral_id, category__in=ALERT_CATEGORIES, acknowledged_at__isnull=True
    )
    return list(reports.values_list("pk", flat=True))


@writes.atomic
def report_acknowledge(*, report_id: int, actor) -> NeuroradiologyReport:
    """A neurologist acknowledges a critical or urgent result: the report records who and when, its
    acknowledgement step closes (its escalations stop), and the acknowledger's own alerts about it are
    marked read. The one service behind the case page's button, the API's `reports/{id}/acknowledge/`
    and reading the alert (`carepath.notify.inbox.notification_acknowledge`), so all three do the same."""
    if not access.can_acknowledge_results(actor):
        raise Forbidden("Only neurology acknowledges a critical or urgent result.")
    report = NeuroradiologyReport.objects.select_for_update().select_related("mri_request").get(pk=report_id)
    if report.acknowledged_at is None:
        now = timezone.now()
        report.acknowledged_by, report.acknowledged_at = actor, now
        report.save(update_fields=["acknowledged_by", "acknowledged_at"])
        workitems.close_items(
            referral_id=report.mri_request.referral_id,
            kinds=[WorkItemKind.CRITICAL_RESULT_ACK],
            mri_request_id=report.mri_request_id,
            actor=actor,
        )
        Notification.objects.filter(
            recipient=actor,
            work_item__kind=WorkItemKind.CRITICAL_RESULT_ACK,
            work_item__mri_request_id=report.mri_request_id,
            acknowledged_at__isnull=True,
        ).update(acknowledged_at=now)
        audit.record(actor, AuditLog.Action.UPDATE, report, {"acknowledged": True})
    return report


def acknowledge_result_of_item(work_item, actor) -> None:
    """Reading an alert (or a reminder or escalation) about a critical-result acknowledgement step
    acknowledges that result, when the reader may (registered with `carepath.notify.inbox`)."""
    if not access.can_acknowledge_results(actor) or work_item.mri_request_id is None:
        return
    reports = NeuroradiologyReport.objects.filter(mri_request_id=work_item.mri_request_id)
    report_id = reports.values_list("pk", flat=True).first()
    if report_id is not None:
        report_acknowledge(report_id=report_id, actor=actor)
