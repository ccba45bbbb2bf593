"""Imaging's own reactions to what it announces: notifications after commit (docs/design.md §4)."""

from django.dispatch import receiver

from . import signals, tasks


@receiver(signals.report_amended, dispatch_uid="imaging_notify_report_readers")
def on_report_amended(sender, *, mri_request_id, addendum_id, **kwargs):
    tasks.notify_report_amended.delay(mri_request_id, addendum_id)
