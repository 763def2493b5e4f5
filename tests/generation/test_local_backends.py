"""The built-in local backends: local animatic, espeak-ng speech, ffmpeg interpolation and
upscaling. Real ffmpeg encodes of tiny clips, checked frame by frame with PyAV, and the
outputs run through the real ingest."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import wave
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from apps.generation.backends import _local
from apps.generation.backends.base import (
    BackendContext,
    BackendValidationError,
    GenerationRequest,
    InputFile,
    ProviderError,
)
from apps.generation.backends.local_speech import espeak_exe
from apps.generation.registry import get_backend

W, H = 160, 90
NTSC = Fraction(24000, 1001)
ANIMATIC_MODELS = ("title-card", "ken-burns", "infinite-zoom")
PROMPT = "A lighthouse keeper climbs the spiral stairs at dusk while the storm comes in"


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture
def ctx(tmp_path) -> BackendContext:
    return BackendContext(workdir=tmp_path / "job")  # not there yet: the backend makes it


def animatic():
    return get_backend("local-animatic")


def request(**kwargs) -> GenerationRequest:
    defaults = {"kind": "text_to_video", "model": "title-card", "prompt": PROMPT, "seed": 7, "duration_frames": 13, "fps": Fraction(24), "width": W, "height": H}
    defaults.update(kwargs)
    return GenerationRequest(**defaults)


def run(backend, req: GenerationRequest, ctx: BackendContext):
    backend.validate(req)
    result = backend.submit(req, ctx)
    assert result.state == "succeeded"
    assert result.provider_job_id.startswith("local-")
    for out in result.outputs:
        assert out.path is not None and out.path.is_file() and out.path.parent == ctx.workdir
        assert out.filename and out.content_type
    return result


def read_video(path: Path) -> dict:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        return {
            "frames": frames,
            "count": len(frames),
            "declared": stream.frames,
            "rate": Fraction(stream.average_rate),
            "size": (stream.codec_context.width, stream.codec_context.height),
            "pix_fmt": stream.codec_context.pix_fmt,
            "codec": stream.codec_context.name,
            "seconds": float(stream.duration * stream.time_base) if stream.duration else None,
            "audio": bool(container.streams.audio),
        }


def frames_digest(path: Path) -> str:
    digest = hashlib.sha256()
    for frame in read_video(path)["frames"]:
        digest.update(frame.tobytes())
    return digest.hexdigest()


def ffmpeg(*args: str) -> None:
    subprocess.run(_local.ffmpeg_cmd(args), check=True, timeout=60)


@pytest.fixture(scope="module")
def source_clip(tmp_path_factory) -> Path:
    """2 s of 160×90 at 24 fps (48 frames) with a 440 Hz tone."""
    path = tmp_path_factory.mktemp("src") / "source.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=160x90:rate=24", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path),
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def magenta_image(tmp_path_factory) -> Path:
    """A square (not 16:9) magenta picture with a small pattern, as JPEG."""
    img = Image.new("RGB", (300, 300), (200, 30, 160))
    for x in range(0, 300, 60):
        img.paste((190, 40, 150), (x, 0, x + 20, 300))
    path = tmp_path_factory.mktemp("img") / "magenta.jpg"
    img.save(path, quality=95)
    return path


@pytest.fixture(scope="session")
def espeak() -> str:
    """espeak-ng, installed with apt-get when missing and we may (root); else the test skips."""
    if espeak_exe() is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        script = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng"
        try:
            subprocess.run(["sh", "-c", script], capture_output=True, timeout=300, check=False)
        except (subprocess.TimeoutExpired, OSError):
            pass
    exe = espeak_exe()
    if exe is None:
        pytest.skip("espeak-ng is not installed and could not be installed here")
    return exe


@pytest.fixture
def ingest(settings, tmp_path, django_capture_on_commit_callbacks):
    """Store a file as a MediaFile of the crew's project and run the real ingest (Celery runs
    eagerly in tests; the task is sent on commit)."""
    from apps.media.services import media_create_from_file

    settings.MEDIA_ROOT = str(tmp_path / "media")

    def _ingest(crew, path: Path, filename: str, content_type: str = ""):
        with django_capture_on_commit_callbacks(execute=True):
            media = media_create_from_file(
                owner=crew.owner, project=crew.project, path=str(path), filename=filename, content_type=content_type, ingest=True
            )
        media.refresh_from_db()
        return media

    return _ingest


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "title", "kinds"),
    [
        ("local-animatic", "Local animatic", ["text_to_video", "image_to_video", "text_to_image", "video_extend"]),
        ("local-speech", "Local speech (espeak-ng)", ["speech"]),
        ("local-interpolate", "Frame interpolation (ffmpeg)", ["interpolate"]),
        ("local-upscale", "Upscale (ffmpeg, non-AI)", ["upscale"]),
    ],
)
def test_registered_as_free_local_backends(name, title, kinds):
    backend = get_backend(name)
    assert backend is not None
    assert backend.title == title
    assert backend.kinds == kinds
    assert backend.is_local is True and backend.needs_credentials is False
    if name != "local-speech":  # ffmpeg is always there (imageio-ffmpeg ships one)
        assert backend.available() == (True, "")
    for spec in backend.models:
        assert spec.cost_per_second == spec.cost_per_output == spec.cost_per_1k_chars == Decimal(0)
    req = GenerationRequest(kind=kinds[0], model=backend.models[0].name, prompt="x", text="x", duration_frames=48, variations=3)
    assert backend.estimate_cost(req) == Decimal(0)
    assert backend.poll("local-123", BackendContext()).state == "succeeded"
    assert backend.poll("local-123", BackendContext()).outputs == []


def test_animatic_models():
    backend = animatic()
    assert [m.name for m in backend.models] == list(ANIMATIC_MODELS)
    for spec in backend.models:
        assert (spec.min_seconds, spec.max_seconds, spec.max_variations, spec.sizes) == (0.5, 60.0, 8, None)


# --------------------------------------------------------------------------------------------
# Local animatic
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fps", [Fraction(24), NTSC], ids=["24", "23.976"])
@pytest.mark.parametrize("model", ANIMATIC_MODELS)
def test_animatic_clip_has_exact_frames_rate_and_size(model, fps, ctx):
    result = run(animatic(), request(model=model, fps=fps, duration_frames=13), ctx)
    assert len(result.outputs) == 1
    out = result.outputs[0]
    assert out.content_type == "video/mp4" and out.filename.endswith(".mp4")
    info = read_video(out.path)
    assert info["count"] == 13 and info["declared"] == 13
    assert info["rate"] == fps
    assert info["size"] == (W, H)
    assert (info["codec"], info["pix_fmt"]) == ("h264", "yuv420p")
    assert info["seconds"] == pytest.approx(float(13 / fps), abs=1e-3)
    assert out.meta["frames"] == 13 and out.meta["fps"] == f"{fps.numerator}/{fps.denominator}"
    assert out.meta["ai"] is False and out.meta["seed"] == 7
    # Not a blank frame: the picture has something in it.
    assert info["frames"][len(info["frames"]) // 2].std() > 8


def test_animatic_other_sizes_and_long_duration(ctx):
    """A portrait size and a longer clip at 30000/1001 (the frame count is still exact)."""
    rate = Fraction(30000, 1001)
    result = run(animatic(), request(model="ken-burns", width=72, height=128, fps=rate, duration_frames=61), ctx)
    info = read_video(result.outputs[0].path)
    assert (info["count"], info["rate"], info["size"]) == (61, rate, (72, 128))


@pytest.mark.parametrize("model", ANIMATIC_MODELS)
def test_image_to_video_uses_the_input_image(model, ctx, magenta_image):
    picture = InputFile(path=magenta_image, content_type="image/jpeg")
    result = run(animatic(), request(kind="image_to_video", model=model, input_image=picture, duration_frames=12), ctx)
    info = read_video(result.outputs[0].path)
    assert (info["count"], info["size"]) == (12, (W, H))
    centre = np.stack(info["frames"])[:, H // 4 : 3 * H // 4, W // 4 : 3 * W // 4].reshape(-1, 3).mean(axis=0)
    r, g, b = centre
    if model == "title-card":  # the image is blurred and darkened behind the text
        assert r > g + 40 and b > g + 30, centre
    else:
        assert abs(r - 198) < 30 and abs(g - 32) < 30 and abs(b - 158) < 30, centre
    # Without the image the same seed makes something else.
    plain = run(animatic(), request(model=model, duration_frames=12), BackendContext(workdir=ctx.workdir / "plain"))
    assert frames_digest(plain.outputs[0].path) != frames_digest(result.outputs[0].path)


@pytest.mark.parametrize("model", ANIMATIC_MODELS)
def test_variations_differ_by_seed_and_repeat_for_the_same_seed(model, tmp_path):
    backend = animatic()
    three = run(backend, request(model=model, seed=40, variations=3, duration_frames=12), BackendContext(workdir=tmp_path / "a"))
    assert [o.meta["seed"] for o in three.outputs] == [40, 41, 42]
    digests = [frames_digest(o.path) for o in three.outputs]
    assert len(set(digests)) == 3
    # seed 41 alone makes what variation 1 made.
    again = run(backend, request(model=model, seed=41, duration_frames=12), BackendContext(workdir=tmp_path / "b"))
    assert frames_digest(again.outputs[0].path) == digests[1]
    assert again.outputs[0].path.read_bytes() == three.outputs[1].path.read_bytes()  # same bytes, even


def test_variations_are_capped_and_a_missing_seed_is_chosen(ctx):
    result = run(animatic(), request(seed=None, variations=12, duration_frames=12), ctx)
    assert len(result.outputs) == 8  # max_variations; the job machinery makes further calls
    seeds = [o.meta["seed"] for o in result.outputs]
    assert seeds == list(range(seeds[0], seeds[0] + 8))


@pytest.mark.parametrize("model", ANIMATIC_MODELS)
def test_text_to_image_makes_a_png_of_the_size(model, ctx):
    result = run(animatic(), request(kind="text_to_image", model=model, width=99, height=51, duration_frames=None, variations=2), ctx)
    assert len(result.outputs) == 2
    for out in result.outputs:
        assert out.content_type == "image/png" and out.filename.endswith(".png")
        with Image.open(out.path) as im:
            assert (im.format, im.size, im.mode) == ("PNG", (99, 51), "RGB")
            assert np.asarray(im).std() > 8
    assert result.outputs[0].path.read_bytes() != result.outputs[1].path.read_bytes()
    again = run(animatic(), request(kind="text_to_image", model=model, width=99, height=51, duration_frames=None), ctx)
    assert again.outputs[0].path.read_bytes() == result.outputs[0].path.read_bytes()


def test_long_prompts_and_odd_text_still_render(ctx):
    text = ("Supercalifragilisticexpialidocious" * 3 + " ") + "word " * 400 + "\n\n-- ünïcødé ✓ 東京"
    for model in ("title-card", "ken-burns"):
        result = run(animatic(), request(kind="text_to_image", model=model, prompt=text, duration_frames=None), ctx)
        with Image.open(result.outputs[0].path) as im:
            assert im.size == (W, H)


def test_fonts_fall_back_to_pillows_own(monkeypatch):
    monkeypatch.setattr(_local, "font_path", lambda style="sans": None)
    _local.load_font.cache_clear()
    try:
        font = _local.load_font(20, "serif")
        assert font.getlength("Hello") > 0
        from apps.generation.backends.local_animatic import caption_layer

        assert caption_layer("Hello there", W, H) is not None
    finally:
        _local.load_font.cache_clear()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "image_to_video"}, "input_image"),
        ({"width": 161}, "size"),
        ({"width": 4000, "height": 2250}, "size"),
        ({"width": 2160, "height": 3840, "duration_frames": 0}, "duration_frames"),
        ({"duration_frames": 6}, "duration_frames"),  # 0.25 s
        ({"duration_frames": 24 * 61}, "duration_frames"),
        ({"duration_frames": None}, "duration_frames"),
        ({"model": "dream-machine"}, "model"),
        ({"kind": "speech"}, "kind"),
        ({"prompt": ""}, "prompt"),
        ({"model": "infinite-zoom", "params": {"direction": "sideways"}}, "direction"),
        ({"model": "infinite-zoom", "params": {"speed": 50}}, "speed"),
        ({"kind": "image_to_video", "input_image": InputFile(path=Path("/nonexistent/x.png"))}, "input_image"),
    ],
)
def test_animatic_validation(changes, field):
    with pytest.raises(BackendValidationError) as exc:
        animatic().validate(request(**changes))
    assert exc.value.field == field
    assert exc.value.message


def test_animatic_refuses_a_file_that_is_not_an_image(tmp_path):
    bogus = tmp_path / "notes.png"
    bogus.write_text("not a picture")
    with pytest.raises(BackendValidationError) as exc:
        animatic().validate(request(kind="image_to_video", input_image=InputFile(path=bogus)))
    assert exc.value.field == "input_image"


def test_portrait_4k_is_allowed():
    animatic().validate(request(width=2160, height=3840))
    animatic().validate(request(width=3840, height=2160))


# --------------------------------------------------------------------------------------------
# Local speech
# --------------------------------------------------------------------------------------------


def speech_request(**kwargs) -> GenerationRequest:
    defaults = {"kind": "speech", "model": "espeak-ng", "text": "The lighthouse keeper climbs the stairs as the storm comes in.", "seed": 3}
    defaults.update(kwargs)
    return GenerationRequest(**defaults)


def wav_info(path: Path) -> tuple[int, int, int]:
    with wave.open(str(path), "rb") as w:
        return w.getframerate(), w.getnchannels(), w.getnframes()


def test_speech_says_a_sentence(espeak, ctx):
    backend = get_backend("local-speech")
    assert backend.available() == (True, "")
    result = run(backend, speech_request(params={"voice": "en", "rate": 170}), ctx)
    out = result.outputs[0]
    assert out.content_type == "audio/wav" and out.filename.endswith(".wav")
    rate, channels, samples = wav_info(out.path)
    assert (rate, channels) == (48000, 1)
    assert samples >= 48000 * 1.5  # a dozen words take well over 1.5 s
    data = np.frombuffer(out.path.read_bytes()[-samples * 2 :], dtype="<i2")
    assert np.abs(data).max() > 3000  # not silence
    assert out.meta["ai"] is False and out.meta["voice"] == "en" and out.meta["rate"] == 170
    assert out.meta["speech_seconds"] == pytest.approx(samples / 48000, abs=0.01)


@pytest.mark.parametrize(("frames", "fps"), [(144, Fraction(24)), (150, NTSC)], ids=["24", "23.976"])
def test_speech_is_padded_to_the_duration(espeak, ctx, frames, fps):
    result = run(get_backend("local-speech"), speech_request(text="Hello there.", duration_frames=frames, fps=fps), ctx)
    out = result.outputs[0]
    _, _, samples = wav_info(out.path)
    assert samples == round(Fraction(frames) / fps * 48000)
    assert out.meta["seconds"] == pytest.approx(float(frames / fps), abs=1e-3)
    assert "overrun_seconds" not in out.meta


def test_longer_speech_is_kept_whole_and_says_so(espeak, ctx):
    result = run(get_backend("local-speech"), speech_request(duration_frames=6), ctx)  # 0.25 s asked
    out = result.outputs[0]
    _, _, samples = wav_info(out.path)
    assert samples > 48000  # not cut to 0.25 s
    assert out.meta["overrun_seconds"] > 1.0
    assert "not cut" in out.meta["note"]


def test_speech_variations_differ_and_m4a_works(espeak, ctx):
    result = run(get_backend("local-speech"), speech_request(variations=2, params={"format": "m4a"}), ctx)
    assert len(result.outputs) == 2
    a, b = result.outputs
    assert a.meta["pitch"] != b.meta["pitch"]
    assert a.content_type == "audio/mp4" and a.filename.endswith(".m4a")
    with av.open(str(a.path)) as container:
        stream = container.streams.audio[0]
        assert (stream.codec_context.name, stream.codec_context.sample_rate) == ("aac", 48000)
    assert a.path.read_bytes() != b.path.read_bytes()


def test_speech_voices_are_checked(espeak, ctx):
    backend = get_backend("local-speech")
    for voice in ("en", "en-us", "fr", "de+f3"):
        backend.validate(speech_request(params={"voice": voice}))
    req = speech_request(params={"voice": "no-such-voice-xyz"})
    with pytest.raises(BackendValidationError) as exc:
        backend.validate(req)
    assert exc.value.field == "voice"
    with pytest.raises(ProviderError) as exc:
        backend.submit(req, ctx)
    assert "no voice" in exc.value.message


def test_speech_not_available_without_espeak(monkeypatch, ctx):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    backend = get_backend("local-speech")
    ok, reason = backend.available()
    assert ok is False and reason.startswith("espeak-ng is not installed")
    with pytest.raises(BackendValidationError) as exc:
        backend.validate(speech_request())
    assert "espeak-ng is not installed" in exc.value.message
    with pytest.raises(ProviderError):
        backend.submit(speech_request(), ctx)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"text": "", "prompt": ""}, "prompt"),
        ({"text": "x" * 5001}, "text"),
        ({"params": {"rate": 10}}, "rate"),
        ({"params": {"rate": "fast"}}, "rate"),
        ({"params": {"voice": "en; rm -rf /"}}, "voice"),
        ({"params": {"format": "mp3"}}, "format"),
        ({"kind": "text_to_video"}, "kind"),
    ],
)
def test_speech_validation(espeak, changes, field):
    with pytest.raises(BackendValidationError) as exc:
        get_backend("local-speech").validate(speech_request(**changes))
    assert exc.value.field == field


# --------------------------------------------------------------------------------------------
# Interpolation and upscaling
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["fps-convert", "motion-interpolate"])
def test_interpolate_24_to_48_doubles_frames_and_keeps_duration(model, ctx, source_clip):
    req = GenerationRequest(kind="interpolate", model=model, input_video=InputFile(path=source_clip), params={"fps": 48})
    result = run(get_backend("local-interpolate"), req, ctx)
    out = result.outputs[0]
    info = read_video(out.path)
    assert abs(info["count"] - 96) <= 1
    assert info["rate"] == 48
    assert info["size"] == (W, H) and info["pix_fmt"] == "yuv420p"
    assert info["seconds"] == pytest.approx(2.0, abs=0.05)
    assert info["audio"] is True
    assert out.meta["ai"] is False
    assert out.meta["method"] == ("fps" if model == "fps-convert" else "minterpolate (mci)")
    assert out.meta["fps"] == "48/1" and out.meta["source_fps"] == "24/1"


def test_interpolate_defaults_to_the_request_rate(ctx, source_clip):
    req = GenerationRequest(kind="interpolate", model="fps-convert", input_video=InputFile(path=source_clip), fps=NTSC)
    info = read_video(run(get_backend("local-interpolate"), req, ctx).outputs[0].path)
    assert info["rate"] == NTSC
    assert info["seconds"] == pytest.approx(2.0, abs=0.06)


def test_upscale_doubles_the_size(ctx, source_clip):
    req = GenerationRequest(kind="upscale", model="lanczos-sharpen", input_video=InputFile(path=source_clip))
    out = run(get_backend("local-upscale"), req, ctx).outputs[0]
    info = read_video(out.path)
    assert info["size"] == (2 * W, 2 * H)
    assert info["count"] == 48 and info["rate"] == 24
    assert info["audio"] is True and info["pix_fmt"] == "yuv420p"
    assert out.meta["ai"] is False and (out.meta["width"], out.meta["height"]) == (320, 180)


def test_upscale_to_a_width(ctx, source_clip):
    req = GenerationRequest(kind="upscale", model="lanczos-sharpen", input_video=InputFile(path=source_clip), params={"width": 480})
    info = read_video(run(get_backend("local-upscale"), req, ctx).outputs[0].path)
    assert info["size"] == (480, 270)


@pytest.mark.parametrize(
    ("backend", "kind", "model", "params", "field"),
    [
        ("local-upscale", "upscale", "lanczos-sharpen", {"width": 4000}, "scale"),
        ("local-upscale", "upscale", "lanczos-sharpen", {"scale": 0.5}, "scale"),
        ("local-upscale", "upscale", "lanczos-sharpen", {"scale": 1}, "scale"),
        ("local-upscale", "upscale", "lanczos-sharpen", {"width": 640, "height": 640}, "size"),
        ("local-interpolate", "interpolate", "fps-convert", {"fps": "fast"}, "fps"),
        ("local-interpolate", "interpolate", "motion-interpolate", {"fps": 1000}, "fps"),
    ],
)
def test_interpolate_and_upscale_validation(backend, kind, model, params, field, source_clip):
    req = GenerationRequest(kind=kind, model=model, input_video=InputFile(path=source_clip), params=params)
    with pytest.raises(BackendValidationError) as exc:
        get_backend(backend).validate(req)
    assert exc.value.field == field


@pytest.mark.parametrize(("backend", "kind", "model"), [("local-upscale", "upscale", "lanczos-sharpen"), ("local-interpolate", "interpolate", "fps-convert")])
def test_interpolate_and_upscale_need_an_input_video(backend, kind, model, magenta_image):
    with pytest.raises(BackendValidationError) as exc:
        get_backend(backend).validate(GenerationRequest(kind=kind, model=model))
    assert exc.value.field == "parent_take"
    # A picture is not a video.
    with pytest.raises(BackendValidationError) as exc:
        get_backend(backend).validate(GenerationRequest(kind=kind, model=model, input_video=InputFile(path=magenta_image)))
    assert exc.value.field == "parent_take"


def test_upscale_refuses_a_result_over_4k(tmp_path):
    big = tmp_path / "big.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:size=1280x720:rate=24", "-frames:v", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(big))
    req = GenerationRequest(kind="upscale", model="lanczos-sharpen", input_video=InputFile(path=big), params={"scale": 4})
    with pytest.raises(BackendValidationError) as exc:
        get_backend("local-upscale").validate(req)
    assert "3840×2160" in exc.value.message
    req.params = {"scale": 3}  # 3840×2160 exactly is fine
    get_backend("local-upscale").validate(req)


# --------------------------------------------------------------------------------------------
# The outputs pass the real ingest
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_animatic_outputs_pass_ingest(crew, ingest, ctx):
    from apps.media.models import MediaStatus

    clip = run(animatic(), request(model="infinite-zoom", fps=NTSC, duration_frames=30), ctx).outputs[0]
    media = ingest(crew, clip.path, clip.filename, clip.content_type)
    assert media.status == MediaStatus.READY, media.error
    assert (media.kind, media.width, media.height) == ("video", W, H)
    assert (media.probe["fps_num"], media.probe["fps_den"]) == (24000, 1001)
    assert media.probe["frame_count"] == 30
    assert media.duration_seconds == pytest.approx(30 * 1001 / 24000, abs=1e-3)
    assert media.proxy_key and media.thumbnail_key

    still = run(animatic(), request(kind="text_to_image", model="ken-burns", duration_frames=None), ctx).outputs[0]
    media = ingest(crew, still.path, still.filename, still.content_type)
    assert media.status == MediaStatus.READY, media.error
    assert (media.kind, media.width, media.height) == ("image", W, H)


@pytest.mark.django_db
def test_speech_output_passes_ingest(espeak, crew, ingest, ctx):
    from apps.media.models import MediaStatus

    out = run(get_backend("local-speech"), speech_request(text="Hello there.", duration_frames=72), ctx).outputs[0]
    media = ingest(crew, out.path, out.filename, out.content_type)
    assert media.status == MediaStatus.READY, media.error
    assert media.kind == "audio" and media.has_audio
    assert media.duration_seconds == pytest.approx(3.0, abs=0.01)
    assert media.probe["sample_rate"] == 48000


@pytest.mark.django_db
def test_interpolated_and_upscaled_outputs_pass_ingest(crew, ingest, ctx, source_clip):
    from apps.media.models import MediaStatus

    interpolated = run(
        get_backend("local-interpolate"),
        GenerationRequest(kind="interpolate", model="fps-convert", input_video=InputFile(path=source_clip), params={"fps": 48}),
        ctx,
    ).outputs[0]
    media = ingest(crew, interpolated.path, interpolated.filename, interpolated.content_type)
    assert media.status == MediaStatus.READY, media.error
    assert media.fps == 48 and media.has_audio
    assert media.duration_seconds == pytest.approx(2.0, abs=0.05)

    upscaled = run(
        get_backend("local-upscale"),
        GenerationRequest(kind="upscale", model="lanczos-sharpen", input_video=InputFile(path=source_clip)),
        ctx,
    ).outputs[0]
    media = ingest(crew, upscaled.path, upscaled.filename, upscaled.content_type)
    assert media.status == MediaStatus.READY, media.error
    assert (media.width, media.height, media.fps) == (320, 180, 24)
    assert media.probe["frame_count"] == 48
