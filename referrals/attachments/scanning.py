"""The virus-scan hook: `CAREPATH_ATTACHMENT_SCANNER` names a callable `scan(file) -> str | None`
(None: clean; a string: the threat found). Unset (the default): files are not scanned and say so
(`Attachment.scanned` false). A file the scanner flags is refused before it is stored, so it can
never be served; the refusal is audited with the scanner's verdict (docs/security.md, "Attachments").
A scanner that fails (raises) refuses the file too: an unscanned file is not let through silently."""

from django.conf import settings
from django.utils.module_loading import import_string


class Infected(Exception):
    def __init__(self, threat: str):
        super().__init__(threat)
        self.threat = threat


def scanner():
    path = settings.CAREPATH_ATTACHMENT_SCANNER
    return import_string(path) if path else None


def scan(file) -> bool:
    """True if a scanner passed the file; False when none is configured. Raises `Infected`."""
    check = scanner()
    if check is None:
        return False
    file.seek(0)
    try:
        threat = check(file)
    except Exception as exc:  # noqa: BLE001  a broken scanner must refuse, not pass, the file
        raise Infected(f"scanner failed: {type(exc).__name__}") from exc
    finally:
        file.seek(0)
    if threat:
        raise Infected(str(threat)[:200])
    return True
