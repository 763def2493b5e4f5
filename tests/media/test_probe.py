"""Sniffing and probing, without the database."""

from __future__ import annotations

from fractions import Fraction

import pytest

from apps.media import ffmpeg
from apps.media.probe import ProbeError, normalize_rate, probe_file, sniff


@pytest.mark.parametrize(
    ("head", "fragment"),
    [
        (b"", "empty"),
        (b"hello, this is just text\n", "text"),
        ("Grüße aus dem Schneideraum\n".encode(), "text"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "web page"),
        (b"  <html>", "web page"),
        (b"<?xml version='1.0'?><svg/>", "SVG"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "PDF"),
        (b"PK\x03\x04\x14\x00\x00\x00", "ZIP"),
        (b"\x7fELF\x02\x01\x01", "program"),
    ],
)
def test_sniff_rejects_obvious_non_media(head, fragment):
    reason = sniff(head)
    assert reason and fragment.lower() in reason.lower()


def test_sniff_accepts_media(clips):
    for name in ("v25_audio", "v24", "v2997", "portrait", "tone", "still", "truncated"):
        head = getattr(clips, name).read_bytes()[:4096]
        assert sniff(head) is None, name
    assert sniff(b"YUV4MPEG2 W320 H240 F25:1 Ip A1:1\nFRAME\n" + b"\x10" * 100) is None
    assert sniff(b"\x00\x00\x00\x18ftypmp42") is None  # unknown binary: ingest decides


@pytest.mark.parametrize(
    ("name", "kind", "fps", "size", "frames", "audio"),
    [
        ("v25_audio", "video", (25, 1), (320, 240), 25, True),
        ("v24", "video", (24, 1), (160, 120), 24, False),
        ("v2997", "video", (30000, 1001), (192, 108), 30, False),
        ("portrait", "video", (30, 1), (108, 192), 30, True),
    ],
)
def test_probe_video(clips, name, kind, fps, size, frames, audio):
    probe = probe_file(str(getattr(clips, name)))
    assert probe.kind == kind
    assert (probe.fps_num, probe.fps_den) == fps
    assert probe.fps == pytest.approx(fps[0] / fps[1])
    assert (probe.width, probe.height) == size
    assert probe.frame_count == frames
    assert probe.duration_seconds == pytest.approx(frames * fps[1] / fps[0], abs=0.05)
    assert probe.has_audio is audio
    assert probe.pix_fmt == "yuv420p"
    if audio:
        assert probe.audio_codec == "aac" and probe.sample_rate == 48000 and probe.channels == 1


def test_probe_audio_and_image(clips):
    tone = probe_file(str(clips.tone))
    assert tone.kind == "audio" and tone.has_audio and tone.width is None
    assert tone.audio_codec == "pcm_s16le" and tone.sample_rate == 44100
    assert tone.duration_seconds == pytest.approx(1.0, abs=0.01)
    still = probe_file(str(clips.still))
    assert still.kind == "image" and (still.width, still.height) == (64, 48)
    assert still.duration_seconds is None and not still.has_audio


def test_probe_refuses_truncated_and_non_media(clips, tmp_path):
    with pytest.raises(ProbeError, match="truncated"):
        probe_file(str(clips.truncated))
    with pytest.raises(ProbeError, match="could not be decoded"):
        probe_file(str(clips.notes))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(ProbeError):
        probe_file(str(empty))


def test_normalize_rate():
    assert normalize_rate(Fraction(30000, 1001)) == Fraction(30000, 1001)
    assert normalize_rate(Fraction(2997, 100)) == Fraction(30000, 1001)
    assert normalize_rate(Fraction(2398, 100)) == Fraction(24000, 1001)
    assert normalize_rate(Fraction(25)) == 25
    assert normalize_rate(Fraction(0)) is None


@pytest.mark.parametrize(
    ("src", "expected"),
    [((1920, 1080), (1280, 720)), ((1080, 1920), (720, 1280)), ((320, 240), (320, 240)), ((721, 405), (720, 404)),
     ((4096, 1716), (1280, 536)), ((3, 3), (2, 2))],
)  # fmt: skip
def test_proxy_size_keeps_aspect_and_even_dims(src, expected):
    assert ffmpeg.proxy_size(*src) == expected


def test_ffmpeg_timeout_kills_the_process():
    with pytest.raises(ffmpeg.FFmpegTimeout):
        ffmpeg.run(["-re", "-f", "lavfi", "-i", "testsrc=rate=25", "-f", "null", "-"], timeout=0.5)
