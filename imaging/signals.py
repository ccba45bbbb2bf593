"""What imaging announces; `referrals` listens (imports run one way: docs/design.md §2).

- `mri_requested` is sent inside the transaction that creates the MRI request, so what a receiver
  writes (the order to the RIS: integrations/hl7/outbound.py) commits or rolls back with it.
  kwargs: mri_request.
- `mri_request_cancelled` is sent inside the cancelling transaction, so the referral's return to
  `assessed` commits or rolls back with it. kwargs: mri_request, actor, reason.
- `report_signed` is sent after commit. kwargs: mri_request_id, referral_id, category.
- `report_amended` is sent after commit. kwargs: mri_request_id, referral_id, addendum_id.
"""

from django.dispatch import Signal

mri_requested = Signal()
mri_request_cancelled = Signal()
report_signed = Signal()
report_amended = Signal()
