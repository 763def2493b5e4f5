"""Look inside media files: magic-number sniffing (before a file is accepted) and probing
with PyAV (during ingest).

Nothing here touches the database or storage; everything works on bytes or local paths.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

logger = logging.getLogger(__name__)

UNDECODABLE = "This file could not be decoded as video or audio (it may be truncated or not a media file)."
TRUNCATED = "This file is truncated: it stops after {got} (it may have been cut short while uploading or saving)."
NO_STREAMS = "This file has no video or audio in it."

# --------------------------------------------------------------------------------------------
# Sniffing: cheap, up-front rejection of what is obviously not media.
# --------------------------------------------------------------------------------------------

SNIFF_BYTES = 4096

# Signatures of common non-media files: (prefix, description).
_NOT_MEDIA: list[tuple[bytes, str]] = [
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an office document)"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"\xca\xfe\xba\xbe", "a program"),
    (b"\xcf\xfa\xed\xfe", "a program"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an office document"),
    (b"SQLite format 3\x00", "a database"),
    (b"{\\rtf", "a text document"),
]

# Text formats that are media (accepted even though they look like text).
_TEXT_MEDIA = (b"YUV4MPEG2",)


def sniff(head: bytes) -> str | None:
    """Return a sentence saying why ``head`` (the first bytes of a file) is obviously not media,
    or None when it may be media (ingest decides for real)."""
    if not head:
        return "The file is empty."
    for prefix, what in _NOT_MEDIA:
        if head.startswith(prefix):
            return f"This file is {what}, not a video, audio file or image."
    if head.startswith(_TEXT_MEDIA):
        return None
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return "This file is a web page (HTML), not a video, audio file or image."
    if stripped.startswith((b"<?xml", b"<svg")):
        return "This file is an XML or SVG document; upload a video, audio file or raster image."
    if _looks_like_text(head):
        return "This file is text, not a video, audio file or image."
    return None


def _looks_like_text(head: bytes) -> bool:
    sample = head[:SNIFF_BYTES]
    if b"\x00" in sample:
        return False
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start < len(sample) - 4:
            return False
        text = sample[: exc.start].decode("utf-8", errors="strict")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
    return controls == 0


# --------------------------------------------------------------------------------------------
# Probing with PyAV
# --------------------------------------------------------------------------------------------

_IMAGE_FORMATS = {"image2", "gif", "webp_pipe", "apng"}  # plus every "*_pipe" image demuxer
_IMAGE_CODECS = {
    "png", "mjpeg", "jpeg2000", "bmp", "gif", "tiff", "webp", "jpegxl", "qoi", "pam", "ppm", "pgm",
    "pbm", "targa", "sgi", "dpx", "exr", "hdr", "pcx", "xbm", "xpm", "photocd", "apng",
}  # fmt: skip

# Rates people mean when a container reports an average that is a rounding away from them.
_STANDARD_RATES = [
    Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
    Fraction(48), Fraction(50), Fraction(60000, 1001), Fraction(60), Fraction(120000, 1001),
    Fraction(100), Fraction(120), Fraction(12), Fraction(15), Fraction(15000, 1001),
]  # fmt: skip


class ProbeError(Exception):
    """The file is not usable media. ``str(exc)`` is a sentence for people."""


@dataclass
class ProbeResult:
    kind: str  # video | audio | image
    container: str
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    display_width: int | None = None  # width × sample aspect ratio (what a player shows)
    fps: float | None = None
    fps_num: int | None = None
    fps_den: int | None = None
    frame_count: int | None = None
    video_codec: str | None = None
    pix_fmt: str | None = None
    has_audio: bool = False
    audio_codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    bit_rate: int | None = None
    video_stream: int | None = None  # stream indexes ffmpeg's -map uses
    audio_stream: int | None = None
    streams: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalize_rate(rate: Fraction | None) -> Fraction | None:
    """An exact frame rate: 30000/1001 stays 30000/1001; 2997/100 becomes 30000/1001."""
    if rate is None or rate <= 0:
        return None
    rate = Fraction(rate)
    if rate.denominator in (1, 1001):
        return rate
    for std in _STANDARD_RATES:
        if abs(rate - std) / std < Fraction(1, 2000):
            return std
    return rate.limit_denominator(1001)


def _human_seconds(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def probe_file(path: str, *, check_integrity: bool = True) -> ProbeResult:
    """Probe ``path`` with PyAV. Raises ProbeError with a readable reason when the file is not
    decodable media. With ``check_integrity`` every packet is demuxed (no decoding), which
    finds files that end early (a truncated upload) and gives exact frame counts."""
    import av

    try:
        container = av.open(path, mode="r", metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        logger.info("probe: cannot open %s: %s", path, exc)
        raise ProbeError(UNDECODABLE) from exc
    try:
        return _probe_container(container, check_integrity=check_integrity)
    except ProbeError:
        raise
    except (av.FFmpegError, OSError, ValueError, ZeroDivisionError, OverflowError) as exc:
        logger.info("probe: cannot read %s: %s", path, exc)
        raise ProbeError(UNDECODABLE) from exc
    finally:
        container.close()


def _is_attached_picture(stream) -> bool:
    import av

    try:
        return bool(stream.disposition & av.stream.Disposition.attached_pic)
    except (AttributeError, TypeError):
        return False


def _seconds(value, time_base) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _probe_container(container, *, check_integrity: bool) -> ProbeResult:
    fmt = container.format.name or ""
    video = next(
        (s for s in container.streams.video if not _is_attached_picture(s) and s.codec_context.width), None
    )
    audio = next((s for s in container.streams.audio), None)
    if video is None and audio is None:
        # An image file with only a cover-art style stream is still an image.
        video = next((s for s in container.streams.video if s.codec_context.width), None)
        if video is None:
            raise ProbeError(NO_STREAMS if container.streams else UNDECODABLE)

    container_duration = container.duration / 1_000_000 if container.duration else None
    result = ProbeResult(kind="video", container=fmt, bit_rate=container.bit_rate or None)

    for stream in container.streams:
        ctx = stream.codec_context
        result.streams.append(
            {
                "index": stream.index,
                "type": stream.type,
                "codec": ctx.name if ctx else None,
                "duration_seconds": _seconds(stream.duration, stream.time_base),
                "frames": stream.frames or None,
            }
        )

    is_image = False
    if video is not None:
        vctx = video.codec_context
        result.width = int(vctx.width)
        result.height = int(vctx.height)
        sar = vctx.sample_aspect_ratio or video.sample_aspect_ratio
        try:
            sar = Fraction(sar) if sar else Fraction(1)
        except (TypeError, ValueError):
            sar = Fraction(1)
        result.display_width = round(result.width * sar) if sar > 0 else result.width
        result.video_codec = vctx.name
        result.video_stream = video.index
        result.pix_fmt = vctx.pix_fmt
        is_image = (fmt in _IMAGE_FORMATS or fmt.endswith("_pipe")) and vctx.name in _IMAGE_CODECS
        if not is_image:
            rate = None
            for candidate in (video.average_rate, video.guessed_rate, video.base_rate):
                rate = normalize_rate(candidate)
                if rate:
                    break
            if rate:
                result.fps_num, result.fps_den = rate.numerator, rate.denominator
                result.fps = float(rate)
            result.frame_count = video.frames or None
            result.duration_seconds = _seconds(video.duration, video.time_base) or container_duration

    if audio is not None:
        actx = audio.codec_context
        result.has_audio = True
        result.audio_codec = actx.name
        result.audio_stream = audio.index
        result.sample_rate = int(actx.sample_rate or 0) or None
        try:
            result.channels = int(actx.layout.nb_channels) or None
        except AttributeError:  # pragma: no cover - older PyAV
            result.channels = getattr(actx, "channels", None)
        if video is None:
            result.kind = "audio"
            result.duration_seconds = _seconds(audio.duration, audio.time_base) or container_duration

    if is_image:
        result.kind = "image"
        result.duration_seconds = None
        result.has_audio = False
        result.audio_codec = result.sample_rate = result.channels = result.audio_stream = None

    if check_integrity:
        _check_integrity(container, result, video=video, audio=audio)
    return result


def _check_integrity(container, result: ProbeResult, *, video, audio) -> None:
    """Demux every packet (no decoding) and decode the first frame of each main stream."""
    wanted = [s for s in (video, audio) if s is not None]
    counts = {s.index: 0 for s in wanted}
    ends: dict[int, float] = {}
    decoded = {s.index: False for s in wanted}
    decode_attempts = {s.index: 0 for s in wanted}
    errors = 0
    packets = container.demux(wanted)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except Exception as exc:  # noqa: BLE001 - any demux error means the file is damaged
            logger.info("probe: demux error: %s", exc)
            errors += 1
            break
        if packet.size == 0 and packet.pts is None:
            continue  # flush packet
        idx = packet.stream.index
        counts[idx] += 1
        if packet.pts is not None and packet.time_base is not None:
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            ends[idx] = max(ends.get(idx, 0.0), end)
        if not decoded[idx] and decode_attempts[idx] < 64:
            decode_attempts[idx] += 1
            try:
                if packet.decode():
                    decoded[idx] = True
            except Exception as exc:  # noqa: BLE001 - decoder errors are judged below
                logger.debug("probe: decode error: %s", exc)

    main = video if video is not None else audio
    if not decoded[main.index]:
        # Decoders with delay need a flush to give their first frame.
        try:
            if main.codec_context.decode(None):
                decoded[main.index] = True
        except Exception as exc:  # noqa: BLE001
            logger.debug("probe: flush error: %s", exc)
    if not decoded[main.index]:
        raise ProbeError(UNDECODABLE)
    if audio is not None and video is not None and not decoded[audio.index]:
        # Picture is fine but the sound cannot be decoded: keep the picture, drop the sound.
        result.has_audio = False
        result.audio_stream = None

    if result.kind == "image":
        return

    # Truncation: fewer packets than the header promises, or the last packet far before the
    # duration the header declares.
    for stream in wanted:
        expected = stream.frames or 0
        got = counts[stream.index]
        if expected and got < expected * 0.98 - 1:
            _raise_truncated(got, expected, stream)
        declared = _seconds(stream.duration, stream.time_base)
        if declared is None and stream is main:
            declared = container.duration / 1_000_000 if container.duration else None
        end = ends.get(stream.index)
        if declared and end is not None and end < declared * 0.9 - 0.5:
            raise ProbeError(TRUNCATED.format(got=f"{_human_seconds(end)} of its {_human_seconds(declared)}"))

    if video is not None and result.kind == "video":
        if not result.frame_count:
            result.frame_count = counts[video.index] or None
        if not result.duration_seconds and ends.get(video.index):
            result.duration_seconds = ends[video.index]
    elif audio is not None and not result.duration_seconds and ends.get(audio.index):
        result.duration_seconds = ends[audio.index]


def _raise_truncated(got: int, expected: int, stream) -> None:
    unit = "frames" if stream.type == "video" else "audio packets"
    raise ProbeError(TRUNCATED.format(got=f"{got} of its {expected} {unit}"))
