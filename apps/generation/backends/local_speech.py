"""Local speech: text spoken by espeak-ng on this machine (robotic, but free and instant).

The text is ``req.text`` (or the prompt). Params: ``voice`` (an espeak-ng voice such as
``en``, ``en-us``, ``fr``; default ``req.voice`` or ``en``), ``rate`` (words per minute,
80–450, default 175), ``pitch`` (0–99; when not given each seed picks one between 41 and 59,
so variations differ), ``format`` (``wav``, the default, or ``m4a``).

Output is mono 48 kHz. With ``duration_frames`` the audio is padded with silence to exactly
that length at ``fps``; speech longer than that is kept whole (never cut) and the output's
meta says by how much it runs over.
"""

from __future__ import annotations

import contextlib
import functools
import re
import shutil
import subprocess
import wave
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from ..registry import register
from . import _local
from .base import (
    Backend,
    BackendContext,
    BackendValidationError,
    GenerationRequest,
    ModelSpec,
    Output,
    PollResult,
    ProviderError,
    SubmitResult,
)

SAMPLE_RATE = 48000
MAX_CHARS = 5000
DEFAULT_RATE = 175
NOT_INSTALLED = "espeak-ng is not installed on this machine (install it with: apt-get install espeak-ng)."
_VOICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_+\-/.]{0,47}$")


def espeak_exe() -> str | None:
    """espeak-ng on PATH, or the older espeak (same options)."""
    return shutil.which("espeak-ng") or shutil.which("espeak")


@functools.lru_cache(maxsize=4)
def known_voices(exe: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """(voices, variants) that ``exe --voices`` lists, lower-cased: language codes (also the
    "other languages" ones such as plain ``en``), voice names and voice files. None when the
    list cannot be had (then any name is tried)."""

    def listing(option: str) -> list[list[str]]:
        proc = subprocess.run([exe, option], capture_output=True, timeout=30, check=True)
        lines = proc.stdout.decode("utf-8", errors="replace").splitlines()[1:]
        return [line.split() for line in lines if len(line.split()) >= 5]

    try:
        voices: set[str] = set()
        for row in listing("--voices"):
            language, name, file = row[1], row[3], row[4]
            voices.update({language, name, file, file.rsplit("/", 1)[-1]})
            voices.update(re.findall(r"\(([^\s()]+)\s+\d+\)", " ".join(row[5:])))
        variants: set[str] = set()
        for row in listing("--voices=variant"):
            variants.update({row[3], row[4].rsplit("/", 1)[-1]})
    except (OSError, subprocess.SubprocessError):
        return None
    return frozenset(v.lower() for v in voices), frozenset(v.lower() for v in variants)


@functools.lru_cache(maxsize=4)
def voice_list(exe: str) -> tuple[tuple[str, str, str], ...]:
    """``(id, name, language)`` of every voice ``exe --voices`` lists (id: the language code
    to pass as ``voice``), in its order; empty when the list cannot be had."""
    try:
        proc = subprocess.run([exe, "--voices"], capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return ()
    out, seen = [], set()
    for line in proc.stdout.decode("utf-8", errors="replace").splitlines()[1:]:
        # Pty Language Age/Gender VoiceName File Other-Languages; names have underscores
        # for spaces ("English_(Great_Britain)").
        row = line.split()
        if len(row) < 5 or row[1] in seen:
            continue
        seen.add(row[1])
        out.append((row[1], row[3].replace("_", " "), row[1]))
    return tuple(out)


def voice_known(exe: str, voice: str) -> bool:
    known = known_voices(exe)
    if known is None:
        return True
    voices, variants = known
    base, _, variant = voice.lower().partition("+")
    return base in voices and (not variant or variant in variants)


@register
class LocalSpeechBackend(Backend):
    name = "local-speech"
    title = "Local speech (espeak-ng)"
    needs_credentials = False
    is_local = True
    seeds_per_output = True  # variation i uses seed + i (_local.variation_seeds)
    default_concurrency = 4
    models = (ModelSpec(name="espeak-ng", kinds=("speech",), title="espeak-ng", min_seconds=0.0, max_seconds=600.0, max_variations=4),)

    def available(self) -> tuple[bool, str]:
        if espeak_exe() is None:
            return False, NOT_INSTALLED
        return _local.ffmpeg_available()  # for the 48 kHz resampling

    def voices(self, ctx: BackendContext | None = None) -> tuple[list[dict[str, str]], bool]:
        """The voices this machine's espeak-ng has (``espeak-ng --voices``, read once). Not
        "complete": espeak-ng also takes voice names, files and variants (``en+f3``), which
        ``validate`` checks."""
        exe = espeak_exe()
        if exe is None:
            return [], False
        return [{"id": vid, "name": name, "language": lang} for vid, name, lang in voice_list(exe)], False

    # -- checks -------------------------------------------------------------------------
    def _options(self, req: GenerationRequest) -> tuple[str, int, int | None, str]:
        params = req.params or {}
        voice = str(params.get("voice") or req.voice or "en").strip()
        if not _VOICE.match(voice):
            raise BackendValidationError(f"{voice!r} is not an espeak-ng voice name (e.g. en, en-us, fr).", field="voice")
        rate = int(_local.param_number(params, "rate", DEFAULT_RATE, low=80, high=450, integer=True))
        pitch = None
        if params.get("pitch") not in (None, ""):
            pitch = int(_local.param_number(params, "pitch", 50, low=0, high=99, integer=True))
        fmt = str(params.get("format") or "wav").lower().lstrip(".")
        if fmt not in ("wav", "m4a"):
            raise BackendValidationError("format is 'wav' or 'm4a'.", field="format")
        return voice, rate, pitch, fmt

    def validate(self, req: GenerationRequest) -> None:
        super().validate(req)
        ok, reason = self.available()
        if not ok:
            raise BackendValidationError(reason, field="backend")
        text = (req.text or req.prompt).strip()
        if not text:
            raise BackendValidationError("Give the text to speak.", field="text")
        if len(text) > MAX_CHARS:
            raise BackendValidationError(f"The text is {len(text)} characters; the limit is {MAX_CHARS}.", field="text")
        voice = self._options(req)[0]
        if not voice_known(espeak_exe() or "", voice):
            raise BackendValidationError(f"espeak-ng has no voice {voice!r} (espeak-ng --voices lists them).", field="voice")
        if req.duration_frames is not None:
            _local.parse_rate(req.fps)
            if req.duration_frames < 1:
                raise BackendValidationError("duration_frames must be at least 1.", field="duration_frames")

    def estimate_cost(self, req: GenerationRequest) -> Decimal:
        return Decimal(0)

    # -- work ---------------------------------------------------------------------------
    def submit(self, req: GenerationRequest, ctx: BackendContext) -> SubmitResult:
        exe = espeak_exe()
        if exe is None:
            raise ProviderError(NOT_INSTALLED)
        voice, rate, pitch_param, fmt = self._options(req)
        if not voice_known(exe, voice):
            raise ProviderError(f"espeak-ng has no voice {voice!r} (espeak-ng --voices lists them).")
        text = (req.text or req.prompt).strip()
        spec = self.model_spec(req.model)
        folder = _local.workdir(ctx)
        count = _local.variation_count(req, spec.max_variations)
        target = None
        if req.duration_frames:
            target = round(Fraction(req.duration_frames) * SAMPLE_RATE / Fraction(req.fps))
        job_id = _local.new_job_id()
        outputs = []
        for i, seed in enumerate(_local.variation_seeds(req, count)):
            if pitch_param is not None:
                pitch = pitch_param
            elif req.seed is not None:
                pitch = 50 + (seed % 7 - 3) * 3
            else:
                pitch = 50 + (0, -6, 6, -9)[i % 4]
            raw = folder / f"{job_id}-{i}-espeak.wav"
            self._speak(exe, text, voice=voice, rate=rate, pitch=pitch, dest=raw)
            speech_seconds = _wav_seconds(raw)
            dest = folder / f"{job_id}-{i}.{fmt}"
            self._convert(raw, dest, fmt=fmt, pad_to=target, seconds=speech_seconds)
            with contextlib.suppress(OSError):
                raw.unlink()
            meta = {
                "ai": False, "engine": Path(exe).name, "voice": voice, "rate": rate, "pitch": pitch, "seed": seed,
                "sample_rate": SAMPLE_RATE, "speech_seconds": round(speech_seconds, 3),
            }  # fmt: skip
            seconds = speech_seconds
            if target is not None:
                wanted = target / SAMPLE_RATE
                seconds = max(speech_seconds, wanted)
                meta["requested_seconds"] = round(wanted, 3)
                if speech_seconds > wanted:
                    over = speech_seconds - wanted
                    meta["overrun_seconds"] = round(over, 3)
                    meta["note"] = (
                        f"The speech is {speech_seconds:.2f} s, {over:.2f} s longer than the {wanted:.2f} s asked; "
                        "it was kept whole, not cut."
                    )
            meta["seconds"] = round(seconds, 3)
            content_type = "audio/wav" if fmt == "wav" else "audio/mp4"
            outputs.append(Output(path=dest, content_type=content_type, filename=f"speech-{seed}.{fmt}", meta=meta))
        return SubmitResult(provider_job_id=job_id, state="succeeded", outputs=outputs)

    def poll(self, provider_job_id: str, ctx: BackendContext) -> PollResult:
        return PollResult(state="succeeded")

    # -- helpers ------------------------------------------------------------------------
    @staticmethod
    def _speak(exe: str, text: str, *, voice: str, rate: int, pitch: int, dest: Path) -> None:
        # The text goes in on stdin (UTF-8), so nothing in it can be read as an option.
        cmd = [exe, "-v", voice, "-s", str(rate), "-p", str(pitch), "-b", "1", "-w", str(dest), "--stdin"]
        try:
            proc = subprocess.run(cmd, check=False, input=text.encode("utf-8"), capture_output=True, timeout=120)
        except subprocess.TimeoutExpired as exc:
            raise ProviderError("espeak-ng took longer than 120 s and was stopped.") from exc
        except OSError as exc:
            raise ProviderError(f"espeak-ng could not be started: {exc}") from exc
        stderr = proc.stderr.decode("utf-8", errors="replace").strip()
        if proc.returncode != 0 or not dest.exists() or dest.stat().st_size <= 44:
            if "voice" in stderr.lower():
                raise ProviderError(f"espeak-ng has no voice {voice!r} (espeak-ng --voices lists them).")
            raise ProviderError(f"espeak-ng failed: {stderr[-300:] or f'exit status {proc.returncode}'}")

    @staticmethod
    def _convert(src: Path, dest: Path, *, fmt: str, pad_to: int | None, seconds: float) -> None:
        filters = f"aresample={SAMPLE_RATE}"
        if pad_to is not None:
            filters += f",apad=whole_len={pad_to}"  # pads only: longer speech is never cut
        args = ["-i", str(src), "-af", filters, "-ar", str(SAMPLE_RATE), "-ac", "1", "-map_metadata", "-1", "-fflags", "+bitexact"]
        if fmt == "wav":
            args += ["-c:a", "pcm_s16le", "-f", "wav", str(dest)]
        else:
            args += ["-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", "-f", "mp4", str(dest)]
        longest = max(seconds, (pad_to or 0) / SAMPLE_RATE)
        _local.run_ffmpeg(args, timeout=_local.timeout_for(longest), what="Converting the speech")


def _wav_seconds(path: Path) -> float:
    try:
        with wave.open(str(path), "rb") as w:
            return w.getnframes() / float(w.getframerate() or 1)
    except (wave.Error, EOFError, OSError) as exc:
        raise ProviderError("espeak-ng wrote an unreadable WAV file.") from exc
