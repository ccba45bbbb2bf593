"""Which MRI request a message is about: our placer order number (ORC-2, SCH-26, OBR-2: `CP-MRI-<id>`)
or the RIS's filler order number (ORC-3, SCH-27, OBR-3), which is stored the first time it comes."""

import re

from imaging.models import MRIRequest

from . import er7
from .errors import Rejected, Unknown
from .models import RisOrder, ScannerCode

PLACER = re.compile(r"^CP-MRI-([0-9]{1,18})$")


def placer_number(mri_request_id: int) -> str:
    return f"CP-MRI-{mri_request_id}"


def numbers(msg: er7.Message) -> tuple[str, str]:
    """(placer, filler) order numbers, from the first of ORC, SCH (26, 27) and OBR that has them."""
    placer = msg["ORC-2.1"] or msg["SCH-26.1"] or msg["OBR-2.1"]
    filler = msg["ORC-3.1"] or msg["SCH-27.1"] or msg["OBR-3.1"]
    return placer.strip(), filler.strip()


def find(msg: er7.Message) -> MRIRequest:
    """The MRI request, locked by nothing (the transition's service locks it). Stores the filler
    number the first time it comes with our placer number; refuses one that contradicts the store."""
    placer, filler = numbers(msg)
    if not placer and not filler:
        raise Rejected("No order number: ORC-2/ORC-3 (SCH-26/SCH-27 in SIU) is required.", code="101")
    by_filler = RisOrder.objects.filter(filler_number=filler).first() if filler else None
    if placer:
        match = PLACER.match(placer)
        mri = _mri(int(match.group(1))) if match else None
        if mri is None:
            raise Unknown(f"No MRI request has the placer order number {placer}.")
        if by_filler is not None and by_filler.mri_request_id != mri.pk:
            raise Unknown(f"The filler order number {filler} belongs to another MRI request.")
        if filler and by_filler is None:
            _store_filler(mri, filler)
        return mri
    if by_filler is None:
        raise Unknown(f"No MRI request has the filler order number {filler}.")
    return by_filler.mri_request


def _mri(pk: int) -> MRIRequest | None:
    try:
        return MRIRequest.objects.get(pk=pk)  # unordered: cheaper than .first()
    except MRIRequest.DoesNotExist:
        return None


def _store_filler(mri: MRIRequest, filler: str) -> None:
    order, _ = RisOrder.objects.get_or_create(mri_request=mri)
    if order.filler_number and order.filler_number != filler:
        raise Unknown(f"This MRI request already has the filler order number {order.filler_number}, not {filler}.")
    order.filler_number = filler
    order.save(update_fields=["filler_number"])


def scanner_for(code: str) -> int | None:
    """The scanner the RIS's resource code books (Django admin: RIS scanner codes)."""
    if not code:
        return None
    return ScannerCode.objects.filter(code=code).values_list("scanner_id", flat=True).first()
