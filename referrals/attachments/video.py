"""A video's duration and its poster frame, read with PyAV (FFmpeg's libraries, in the `av` wheel).

Degrades clearly: without PyAV, or for a file FFmpeg cannot decode, the attachment is kept with no
duration and no poster, and `Preview.note` says why (the case page shows it beside the player)."""

import dataclasses
import fractions
import logging

log = logging.getLogger("carepath.attachments")

try:  # an optional wheel: the service runs without it (docs/dependencies.md)
    import av
except ImportError:  # pragma: no cover  (installed in the project's environment)
    av = None

POSTER_WIDTH = 640  # the player's width on the case page; a poster is a preview, not the evidence


@dataclasses.dataclass
class Preview:
    duration: float | None = None
    poster: bytes | None = None  # a JPEG
    note: str = ""


def preview(file) -> Preview:
    if av is None:
        return Preview(note="No preview: the video library (PyAV) is not installed.")
    file.seek(0)
    try:
        with av.open(file, mode="r") as container:
            return Preview(duration=_duration(container), poster=_poster(container))
    except (av.FFmpegError, StopIteration, ValueError) as exc:
        log.info("video preview failed: %s", exc)
        return Preview(note="No preview: the video could not be decoded here; it can still be downloaded.")
    finally:
        file.seek(0)


def _duration(container) -> float | None:
    if container.duration:
        return container.duration / av.time_base
    stream = container.streams.video[0]
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None


def _poster(container) -> bytes:
    """The first frame, as a JPEG no wider than the player."""
    frame = next(container.decode(video=0))
    width = min(frame.width, POSTER_WIDTH)
    height = max(2, round(frame.height * width / frame.width / 2) * 2)
    frame = frame.reformat(width=width, height=height, format="yuvj420p")
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuvj420p"
    encoder.time_base = fractions.Fraction(1, 25)
    return b"".join(bytes(packet) for packet in [*encoder.encode(frame), *encoder.encode()])


SAMPLE_FORMATS = {"mp4": ("mp4", "libx264"), "mov": ("mov", "libx264"), "webm": ("webm", "libvpx")}


def sample(fmt: str = "webm", *, seconds: int = 2, rate: int = 12) -> bytes:
    """A tiny generated video (a grey square that brightens), for seed_demo and the tests: no binary
    sample is kept in the repository."""
    import io

    container_format, codec = SAMPLE_FORMATS[fmt]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(seconds * rate):
            frame = av.VideoFrame(64, 48, "yuv420p")
            for number, plane in enumerate(frame.planes):
                plane.update(bytes([(40 + i * 8 if number == 0 else 128) % 256]) * plane.buffer_size)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return buffer.getvalue()
