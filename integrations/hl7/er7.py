"""A small ER7 (pipe-and-hat) reader and writer for the few HL7 v2 messages CarePath exchanges with
the RIS (docs/decisions.md, "HL7 v2: a small parser, not hl7apy"). Reads the separators from MSH,
unescapes \\F\\ \\S\\ \\T\\ \\R\\ \\E\\, and answers `msg["OBR-25"]`, `msg["ORC-2.1"]`, `msg.all("OBX")`.
tests/integrations/hl7/test_hl7_er7.py checks it against hl7apy on the sample messages."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

SEGMENT_END = "\r"


class ParseError(ValueError):
    """The text is not an HL7 v2 message we can read (acknowledged AR)."""


@dataclass(frozen=True)
class Separators:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"


@dataclass
class Segment:
    name: str
    fields: list[str]  # fields[1] is SEG-1 (for MSH, fields[1] is the field separator itself)
    seps: Separators = field(default_factory=Separators)

    def get(self, number: int, component: int = 0, repetition: int = 0) -> str:
        if number >= len(self.fields):
            return ""
        value = self.fields[number]
        if self.name == "MSH" and number <= 2:
            return value
        repetitions = value.split(self.seps.repetition)
        value = repetitions[repetition] if repetition < len(repetitions) else ""
        if component:
            parts = value.split(self.seps.component)
            value = parts[component - 1] if component <= len(parts) else ""
        return unescape(value, self.seps)


def unescape(value: str, seps: Separators) -> str:
    if seps.escape not in value:
        return value
    e = seps.escape
    table = {"F": seps.field, "S": seps.component, "T": seps.subcomponent, "R": seps.repetition, "E": e}
    out, i = [], 0
    while i < len(value):
        end = value.find(e, i + 1) if value[i] == e else -1
        if end > i and value[i + 1 : end] in table:
            out.append(table[value[i + 1 : end]])
            i = end + 1
        elif end > i and value[i + 1 : end] == ".br":
            out.append("\n")
            i = end + 1
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def escape(value: str, seps: Separators = Separators()) -> str:
    e = seps.escape
    value = value.replace(e, f"{e}E{e}")
    for char, code in ((seps.field, "F"), (seps.component, "S"), (seps.subcomponent, "T"), (seps.repetition, "R")):
        value = value.replace(char, f"{e}{code}{e}")
    return value.replace("\r\n", "\n").replace("\n", f"{e}.br{e}").replace("\r", f"{e}.br{e}")


@dataclass
class Message:
    segments: list[Segment]
    seps: Separators

    def segment(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    def all(self, name: str) -> list[Segment]:
        return [s for s in self.segments if s.name == name]

    def __getitem__(self, path: str) -> str:
        """`"OBR-25"`, `"ORC-2.1"`: the first such segment's field (component), unescaped; "" if absent."""
        name, _, rest = path.partition("-")
        number, _, component = rest.partition(".")
        seg = self.segment(name)
        return seg.get(int(number), int(component or 0)) if seg else ""

    @property
    def control_id(self) -> str:
        return self["MSH-10"]

    @property
    def kind(self) -> str:
        """`SIU^S12`: the message code and trigger event (MSH-9.1, MSH-9.2)."""
        return f"{self['MSH-9.1']}^{self['MSH-9.2']}"


def parse(text: str) -> Message:
    text = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r \x0b\x1c")
    if not text.startswith("MSH") or len(text) < 8:
        raise ParseError("The message does not start with an MSH segment.")
    fs = text[3]
    encoding = text[4:8].split(fs)[0]
    if len(encoding) < 4 or fs in encoding:
        raise ParseError("MSH-2 (the encoding characters) is missing or malformed.")
    seps = Separators(fs, encoding[0], encoding[1], encoding[2], encoding[3])
    segments = []
    for line in filter(None, text.split(SEGMENT_END)):
        parts = line.split(fs)
        name = parts[0]
        if len(name) != 3 or not name.isalnum() or not name.isupper():
            raise ParseError(f"Segment {len(segments) + 1} has no valid name: {name[:10]!r}.")
        fields = ["MSH", fs, *parts[1:]] if name == "MSH" else parts
        segments.append(Segment(name, fields, seps))
    message = Message(segments, seps)
    if not message.control_id:
        raise ParseError("MSH-10 (the message control id) is empty.")
    if not message["MSH-9.1"]:
        raise ParseError("MSH-9 (the message type) is empty.")
    return message


def parse_ts(value: str) -> datetime | None:
    """An HL7 DTM (YYYYMMDD[HHMM[SS[.S+]]][+/-ZZZZ]) as an aware datetime (UTC when no offset is given)."""
    value = value.strip()
    if not value:
        return None
    formats = {8: "%Y%m%d", 10: "%Y%m%d%H", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
    try:
        offset = UTC
        for sign in "+-":
            if sign in value[8:]:
                value, _, zone = value.rpartition(sign)
                if len(zone) != 4 or not zone.isdigit():
                    raise ValueError(zone)
                minutes = int(zone[:2]) * 60 + int(zone[2:])
                offset = timezone(timedelta(minutes=minutes if sign == "+" else -minutes))
        value = value.split(".")[0]
        if len(value) not in formats or not value.isdigit():
            raise ValueError(value)
        return datetime.strptime(value, formats[len(value)]).replace(tzinfo=offset)
    except ValueError:
        raise ParseError(f"Not an HL7 date and time: {value!r}.") from None


def format_ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


def build(segments: list[list[str]]) -> str:
    """Each segment as [name, field1, field2, …] (already escaped where needed); MSH starts at MSH-2."""
    lines = []
    for seg in segments:
        if seg[0] == "MSH":
            lines.append("MSH|" + "|".join(seg[1:]))
        else:
            lines.append("|".join(seg))
    return SEGMENT_END.join(lines) + SEGMENT_END
