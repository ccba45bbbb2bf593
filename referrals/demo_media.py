"""The demo's files, made at seed time so no binary sample lives in the repository (referrals/demo_together.py):
a parent's short video of a left hemifacial spasm (a drawn face whose left eye squeezes shut and whose
mouth corner pulls up, twice in four seconds), and a referral letter as a one-page PDF.

Both go through the attachment services like any upload: their type is read from their bytes, the video's
duration and poster frame by PyAV (referrals/attachments/video.py)."""

import io

from .attachments import video

WIDTH, HEIGHT, RATE, SECONDS = 160, 120, 12, 4
SPASM_FRAMES = {*range(10, 17), *range(30, 38)}  # two bursts: the eye shut and the cheek pulled up


def _pixel(x: int, y: int, spasm: bool) -> int:
    """The luma of one pixel of the face (the child's left is the viewer's right)."""
    dx, dy = (x - 80) / 46, (y - 62) / 54
    if dx * dx + dy * dy > 1:
        return 60  # the room behind
    for eye_x, left in ((62, False), (98, True)):
        shut = spasm and left
        ex, ey = (x - eye_x) / 9, (y - 50) / (1.2 if shut else 5)
        if ex * ex + ey * ey <= 1:
            return 30  # an open eye, or the shut eyelid's line
    lift = 6 if spasm else 0  # the left corner of the mouth drawn up towards the eye
    mouth_y = 88 - lift * max(0, x - 80) / 16
    if 66 <= x <= 96 and abs(y - mouth_y) <= 1.5:
        return 70
    return 190  # skin


def _plane(spasm: bool, line_size: int) -> bytes:
    rows = (bytes(_pixel(x, y, spasm) for x in range(WIDTH)).ljust(line_size, b"\0") for y in range(HEIGHT))
    return b"".join(rows)


def spasm_video() -> bytes | None:
    """A WebM of the drawn face (None without PyAV: the demo then goes without a video)."""
    av = video.av
    if av is None:
        return None
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        faces = {}
        for i in range(SECONDS * RATE):
            frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
            spasm = i in SPASM_FRAMES
            luma = frame.planes[0]
            if spasm not in faces:
                faces[spasm] = _plane(spasm, luma.line_size)
            luma.update(faces[spasm])
            for chroma, value in zip(frame.planes[1:], (118, 140), strict=True):  # a warm skin tone
                chroma.update(bytes([value]) * chroma.buffer_size)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return buffer.getvalue()


def letter_pdf(lines: list[str]) -> bytes:
    """A one-page A4 PDF of `lines` in Helvetica (Latin-1 text), with a correct cross-reference table."""
    shown = " ".join(f"({_escaped(line)}) '" for line in lines)
    text = f"BT /F1 11 Tf 15 TL 64 790 Td {shown} ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(text.encode('latin-1'))} >>\nstream\n{text}\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    table = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{table}\n%%EOF\n".encode()
    return bytes(out)


def _escaped(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
