"""Sample messages from a RIS, as docs/integrations.md shows them: the tests, the bench and the
simulated RIS send these. Times are given; order numbers are ours (`CP-MRI-<id>`) and the RIS's."""

from datetime import datetime

from .er7 import build, escape, format_ts

SENT_AT = "20261205101500"


def _msh(kind: str, structure: str, control_id: str) -> list[str]:
    return [
        "MSH",
        "^~\\&",
        "RIS",
        "HOSP",
        "CAREPATH",
        "HOSP",
        SENT_AT,
        "",
        f"{kind}^{structure}",
        control_id,
        "P",
        "2.5.1",
    ]


def _pid() -> list[str]:
    return ["PID", "1", "", "H123^^^HOSP^MR", "", "HALE^ROBIN"]


def siu(
    trigger: str,
    control_id: str,
    *,
    placer: str,
    filler: str = "",
    start: datetime,
    resource: str = "MR1",
    reason: str = "",
) -> str:
    """SIU^S12 (book), S13 (reschedule), S15 (cancel), S26 (no-show)."""
    sch = [
        "SCH",
        f"{placer}^CAREPATH",
        f"{filler}^RIS" if filler else "",
        "",
        "",
        "",
        f"^{escape(reason)}" if reason else "",
        "",
        "",
        "",
        "",
        f"^^^{format_ts(start)}",
    ]
    sch += [""] * 14 + [f"{placer}^CAREPATH", f"{filler}^RIS" if filler else ""]
    return build(
        [
            _msh(f"SIU^{trigger}", "SIU_S12", control_id),
            sch,
            _pid(),
            ["RGS", "1"],
            ["AIS", "1", "", "MRBRAIN^MRI brain^L", format_ts(start), "", "", "45", "min"],
            ["AIL", "1", "", f"{resource}^^^HOSP^^^^^MRI scanner {resource}"],
        ]
    )


def order_status(
    kind: str,
    control_id: str,
    *,
    placer: str,
    filler: str = "",
    status: str,
    start: datetime | None = None,
    performed_at: datetime | None = None,
    accession: str = "",
    station: str = "MR1",
) -> str:
    """ORM^O01 or OMI^O23 with the order's status in ORC-5 (SC scheduled, CM completed, CA cancelled,
    IP in progress): TQ1-7 the scheduled start, OBR-7 the scan's time, IPC the accession and station."""
    trigger, structure = ("O01", "ORM_O01") if kind == "ORM" else ("O23", "OMI_O23")
    segments = [
        _msh(f"{kind}^{trigger}", structure, control_id),
        _pid(),
        ["ORC", "SC", f"{placer}^CAREPATH", f"{filler}^RIS" if filler else "", "", status],
    ]
    if start is not None:
        segments.append(["TQ1", "1", "", "", "", "", "", format_ts(start)])
    obr = [
        "OBR",
        "1",
        f"{placer}^CAREPATH",
        f"{filler}^RIS" if filler else "",
        "MRBRAIN^MRI brain^L",
        "",
        "",
        format_ts(performed_at) if performed_at else "",
    ]
    segments.append(obr)
    if kind == "OMI":
        segments.append(["IPC", accession or "", "", "", "", "", "", "", "MR", f"{station}^MRI scanner {station}"])
    elif accession:
        obr += [""] * 10 + [accession]  # OBR-18
    return build(segments)


def oru(
    control_id: str,
    *,
    placer: str,
    filler: str = "",
    status: str,
    text: str,
    structured: dict | None = None,
    performed_at: datetime | None = None,
) -> str:
    """ORU^R01: OBR-25 P/F/C; the text as TX OBX, one per line; structured fields as CAREPATH-coded OBX."""
    obr = [
        "OBR",
        "1",
        f"{placer}^CAREPATH",
        f"{filler}^RIS" if filler else "",
        "MRBRAIN^MRI brain^L",
        "",
        "",
        format_ts(performed_at) if performed_at else "",
    ]
    obr += [""] * (25 - len(obr)) + [status]
    segments = [
        _msh("ORU^R01", "ORU_R01", control_id),
        _pid(),
        ["ORC", "RE", f"{placer}^CAREPATH", f"{filler}^RIS" if filler else ""],
        obr,
    ]
    n = 0
    for line in text.split("\n"):
        n += 1
        segments.append(["OBX", str(n), "TX", "REPORT^Report text^L", "", escape(line), "", "", "", "", "", status])
    for name, value in (structured or {}).items():
        n += 1
        segments.append(["OBX", str(n), "ST", f"{name}^^CAREPATH", "", escape(str(value)), "", "", "", "", "", status])
    return build(segments)
