"""Our ER7 reader (integrations/hl7/er7.py) reads the sample messages as hl7apy, the reference
parser, reads them; and it unescapes, splits components and reads HL7 times."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hl7apy.parser import parse_message

from integrations.hl7 import er7, samples

START = datetime(2026, 12, 14, 9, 30, tzinfo=UTC)
SAMPLES = {
    "SIU^S12": samples.siu("S12", "M1", placer="CP-MRI-7", filler="F7", start=START, reason="Asked | moved"),
    "OMI^O23": samples.order_status(
        "OMI", "M2", placer="CP-MRI-7", filler="F7", status="CM", performed_at=START, accession="A7"
    ),
    "ORM^O01": samples.order_status("ORM", "M3", placer="CP-MRI-7", status="CM", accession="A7"),
    "ORU^R01": samples.oru(
        "M4", placer="CP-MRI-7", status="F", text="No compression.\nNormal study.", structured={"category": "routine"}
    ),
}
FIELDS = {
    "SIU^S12": ["MSH-10", "SCH-6.2", "SCH-26.1", "SCH-27.1", "AIS-4", "AIL-3.1"],
    "OMI^O23": ["MSH-10", "ORC-2.1", "ORC-3.1", "ORC-5", "OBR-7", "IPC-1", "IPC-9.1"],
    "ORM^O01": ["MSH-10", "ORC-5", "OBR-18"],
    "ORU^R01": ["MSH-10", "OBR-25", "OBX-5", "OBX-3.1"],
}


@pytest.mark.parametrize("kind", SAMPLES)
def test_our_reader_reads_each_sample_as_hl7apy_does(kind):
    ours = er7.parse(SAMPLES[kind])
    theirs = parse_message(SAMPLES[kind], find_groups=False)

    assert ours.kind == kind
    for path in FIELDS[kind]:
        raw = _raw(ours, path)
        assert raw == _hl7apy_value(theirs, path), path


def _raw(msg, path):
    """Our value re-escaped, as hl7apy's to_er7 gives it."""
    return er7.escape(msg[path])


def _hl7apy_value(message, path):
    name, _, rest = path.partition("-")
    number, _, component = rest.partition(".")
    segment = next(s for s in message.children if s.name == name)
    er7_text = segment.to_er7().split("|")
    index = int(number) - (1 if name == "MSH" else 0)
    value = er7_text[index] if index < len(er7_text) else ""
    value = value.split("~")[0]
    if component:
        parts = value.split("^")
        value = parts[int(component) - 1] if int(component) <= len(parts) else ""
    return value


def test_hl7apy_validates_the_samples_structure():
    for text in SAMPLES.values():
        assert parse_message(text, find_groups=False).msh.msh_10.to_er7()


def test_escapes_are_read_back_as_the_characters_they_stand_for():
    msg = er7.parse(SAMPLES["SIU^S12"])

    assert msg["SCH-6.2"] == "Asked | moved"
    assert er7.unescape("a\\S\\b\\T\\c\\R\\d\\E\\e\\.br\\f", er7.Separators()) == "a^b&c~d\\e\nf"


def test_the_report_text_keeps_every_line():
    msg = er7.parse(SAMPLES["ORU^R01"])

    assert [obx.get(5) for obx in msg.all("OBX")] == ["No compression.", "Normal study.", "routine"]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("20261214093000", datetime(2026, 12, 14, 9, 30, tzinfo=UTC)),
        ("20261214093000+0100", datetime(2026, 12, 14, 9, 30, tzinfo=timezone(timedelta(hours=1)))),
        ("202612140930-0500", datetime(2026, 12, 14, 9, 30, tzinfo=timezone(timedelta(hours=-5)))),
        ("20261214093000.1234", datetime(2026, 12, 14, 9, 30, tzinfo=UTC)),
        ("", None),
    ],
)
def test_hl7_times_are_read_with_their_offset(value, expected):
    assert er7.parse_ts(value) == expected


@pytest.mark.parametrize("value", ["2026-12-14", "20261314093000", "202612140", "20261214+01"])
def test_a_time_that_is_not_one_is_a_parse_error(value):
    with pytest.raises(er7.ParseError):
        er7.parse_ts(value)


def test_other_separators_declared_in_msh_are_used():
    msg = er7.parse("MSH#*~\\&#RIS#HOSP#####SIU*S12#Z9#P#2.5.1\rSCH#A*B\r")

    assert (msg.kind, msg.control_id, msg["SCH-1.2"]) == ("SIU^S12", "Z9", "B")
