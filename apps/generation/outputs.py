"""Finishing a job: download each output (once per job: a claim with a lease), store it with
``media_create_from_file`` (ingest follows and makes the take ready), attach outputs to the
placeholder takes (extra outputs → new takes; missing ones → takes failed), settle the budget
with the actual cost (or release it when nothing was billed), and mark the job succeeded or
failed with a sentence for people.
"""

from __future__ import annotations

import logging
import mimetypes
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from django.db import transaction
from django.utils import timezone

from apps.core import heartbeat
from apps.media.services import media_create_from_file
from apps.production.models import Take, TakeSource, TakeStatus
from apps.production.services import _next_take_number
from apps.projects.events import record_event

from . import ledger
from .backends.base import AUDIO_KINDS, Output, ProviderError, TransientError
from .calls import Advance, _beating, _calls, _done, _jitter, _load, _log_unexpected, _note_retry, _now_ts, _open_outputs
from .creation import _shares
from .messages import ALL_FILTERED, FEWER_OUTPUTS, FILE_LOST, OUTPUT_FILTERED, SHOT_GONE
from .models import GenerationJob, JobState
from .payloads import FINISHED_STATES, _publish_job, _take_data
from .planning import _drop_workdir, _q4, _workdir

if TYPE_CHECKING:
    from .runner import _Step

logger = logging.getLogger(__name__)

MAX_FINISH_ATTEMPTS = 3
_EXT = {"video": ".mp4", "image": ".png", "audio": ".mp3"}


def _output_name(output: Output, job: GenerationJob, n: int) -> tuple[str, str]:
    name = output.filename or ""
    if not name and output.path:
        name = Path(output.path).name
    if not name and output.url:
        tail = Path(urlparse(output.url).path).name
        name = tail if "." in tail else ""
    content_type = (output.content_type or "").split(";")[0].strip()
    if not name or "." not in name:
        ext = mimetypes.guess_extension(content_type) if content_type else None
        if not ext:
            ext = _EXT["audio" if job.kind in AUDIO_KINDS else "image" if job.kind == "text_to_image" else "video"]
        name = f"{job.backend}-{job.model or 'output'}-{n}{ext}"
    if not content_type:
        content_type = mimetypes.guess_type(name)[0] or ""
    return name[-200:], content_type


def _claim_finish(step: _Step, token: str) -> bool | Advance:
    with transaction.atomic():
        job = _load(step.job.pk, lock=True)
        if job is None or job.state in FINISHED_STATES:
            return _done(job.state if job else "gone")
        fin = job.provider_data.get("finishing") or {}
        age = _now_ts() - float(fin.get("at") or 0)
        lease = heartbeat.stale_seconds()  # that worker beats the claim while it works
        if fin and age < lease:
            # Another worker is storing the outputs; look again once its lease has run out
            # (by then the job is finished, or that worker died and this one takes over).
            step.job = job
            return step.again(lease - age + 1, "another worker is storing the outputs")
        attempts = int(fin.get("attempts") or 0) + 1
        job.provider_data["finishing"] = {"at": _now_ts(), "token": token, "attempts": attempts}
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["provider_data", "heartbeat_at", "updated_at"])
        step.job = job
        return True


def _unclaim_finish(job_id, token: str) -> None:
    with transaction.atomic():
        job = _load(job_id, lock=True)
        if job is None:
            return
        fin = job.provider_data.get("finishing") or {}
        if fin.get("token") == token:
            fin["at"] = 0
            job.provider_data["finishing"] = fin
            job.save(update_fields=["provider_data", "updated_at"])


def _finish_job(step: _Step, *, token: str) -> Advance:
    claimed = _claim_finish(step, token)
    if claimed is not True:
        return claimed
    job = step.job
    attempts = int(job.provider_data["finishing"]["attempts"])
    calls = _calls(job)
    workdir = Path(tempfile.mkdtemp(prefix="out-", dir=_workdir(job.pk)))
    # call index → list of (output, stored path or None, error or None)
    results: dict[int, list[tuple[Output, Path | None, str | None]]] = {}
    try:
        with _beating(job.pk, finishing=token):
            n = 0
            for call in calls:
                if call["state"] != "succeeded":
                    continue
                outputs = step.fresh.get(call["index"])
                if outputs is None:
                    outputs = _open_outputs(call.get("outputs"))
                items = []
                for output in outputs:
                    if output.filtered:
                        items.append((output, None, OUTPUT_FILTERED))
                        continue
                    n += 1
                    name, _ = _output_name(output, job, n)
                    dest = workdir / f"{n:03d}-{Path(name).name}"
                    try:
                        step.backend.download(output, step.ctx, dest)
                        if not dest.exists():
                            raise FileNotFoundError(str(dest))
                        items.append((output, dest, None))
                    except TransientError as exc:
                        if attempts < MAX_FINISH_ATTEMPTS:
                            _unclaim_finish(job.pk, token)
                            logger.info("job %s: download failed (will retry): %s", job.pk, step.msg(exc))
                            wait = _jitter(min(120.0, 10.0 * 2 ** (attempts - 1)))
                            _note_retry(
                                job.pk, attempt=attempts + 1, max_attempts=MAX_FINISH_ATTEMPTS, message=step.msg(exc), wait=wait
                            )
                            return step.again(wait, "retrying a download")
                        items.append((output, None, f"The output could not be downloaded: {step.msg(exc)}"))
                    except ProviderError as exc:
                        items.append((output, None, step.msg(exc)))
                    except FileNotFoundError:
                        items.append((output, None, FILE_LOST))
                    except Exception as exc:  # noqa: BLE001 - reported, never raised
                        _log_unexpected(job, exc, step.cred, "download")
                        items.append((output, None, "The output could not be copied into Montage's storage."))
                results[call["index"]] = items
        try:
            return _store_outputs(step, token, results)
        except Exception:
            _unclaim_finish(job.pk, token)
            raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _store_outputs(step: _Step, token: str, results: dict[int, list[tuple[Output, Path | None, str | None]]]) -> Advance:
    created_events: list = []
    with transaction.atomic():
        job = _load(step.job.pk, lock=True)
        if job is None or job.state in FINISHED_STATES:
            return _done(job.state if job else "gone")
        if (job.provider_data.get("finishing") or {}).get("token") != token:
            return Advance(None, job.state, "another worker is storing the outputs")
        calls = _calls(job)
        take_ids = [t for c in calls for t in c.get("takes") or []]
        takes = {str(t.pk): t for t in Take.objects.select_for_update().filter(pk__in=take_ids)}
        estimate_total = _q4(job.estimated_cost)
        share_of = _shares(estimate_total, max(1, job.variations))
        stored_takes, failed_takes = [], []
        actual = Decimal(0)
        billed = False
        download_errors: list[str] = []
        filtered = produced = 0
        variation = 0
        for call in calls:
            mine = [takes[t] for t in call.get("takes") or [] if t in takes]
            call_share = sum(share_of[variation : variation + int(call.get("variations") or 1)], Decimal(0))
            variation += int(call.get("variations") or 1)
            if call["state"] == "succeeded" or call.get("billable"):
                billed = True
                actual += _q4(call["cost"]) if call.get("cost") is not None else call_share
            items = results.get(call["index"], [])
            if job.shot_id is None:  # the shot (and its takes) were deleted while the job ran
                items = [(o, None, SHOT_GONE) for o, p, err in items]
            stored = [(o, p) for o, p, err in items if p is not None]
            errors = [err for o, p, err in items if err]
            filtered += sum(1 for o, p, err in items if err == OUTPUT_FILTERED)
            produced += len(items)
            download_errors += [e for e in errors if e != OUTPUT_FILTERED]
            for k, (output, path) in enumerate(stored):
                name, content_type = _output_name(output, job, k + 1)
                media = media_create_from_file(
                    owner=job.author, project=job.project, path=str(path), filename=name, content_type=content_type
                )
                if k < len(mine):
                    take = mine[k]
                else:  # more outputs than asked: a new take each
                    base = (
                        dict(mine[0].provenance)
                        if mine
                        else {
                            "source": "generation",
                            "backend": job.backend,
                            "model": job.model,
                            "kind": job.kind,
                            "job": str(job.pk),
                        }
                    )
                    base.update(variation=None, extra_output=True)
                    take = Take.objects.create(
                        shot_id=job.shot_id,
                        number=_next_take_number(job.shot),
                        source=TakeSource.GENERATION,
                        provenance=base,
                        author=job.author,
                        status=TakeStatus.PROCESSING,
                        parent_id=mine[0].parent_id if mine else None,
                    )
                    call.setdefault("takes", []).append(str(take.pk))
                    job.provider_data.setdefault("takes", []).append(str(take.pk))
                    created_events.append(take)
                take.media = media
                prov = dict(take.provenance or {})
                prov.update(
                    provider_job_id=call.get("id"),
                    finished_at=timezone.now().isoformat(),
                    output={k2: v for k2, v in (output.meta or {}).items() if isinstance(v, (str, int, float, bool))} or None,
                )
                made_with = (output.meta or {}).get("seed")
                if isinstance(made_with, int) and not isinstance(made_with, bool):
                    prov["seed"] = made_with  # what the backend says made this output
                take.provenance = prov
                stored_takes.append(take)
            # placeholders without an output
            if call["state"] != "succeeded":
                reason = call.get("error") or "The provider could not make this take."
                reasons = [reason] * len(mine)
            else:
                leftovers = errors if errors else []
                reasons = []
                for j in range(len(stored), len(mine)):
                    idx = j - len(stored)
                    reasons.append(leftovers[idx] if idx < len(leftovers) else FEWER_OUTPUTS)
                reasons = [None] * len(stored) + reasons
            for j, take in enumerate(mine):
                if j < len(stored) and call["state"] == "succeeded":
                    continue
                take.status = TakeStatus.FAILED
                take.error = reasons[j] or FEWER_OUTPUTS
                failed_takes.append(take)

        if stored_takes:
            state, error = JobState.SUCCEEDED, ""
        else:
            state = JobState.FAILED
            call_errors = [c.get("error") for c in calls if c["state"] != "succeeded" and c.get("error")]
            if produced and filtered == produced and not call_errors:
                error = ALL_FILTERED
                for take in failed_takes:
                    take.error = ALL_FILTERED
            elif call_errors:
                error = call_errors[0]
            elif download_errors:
                error = download_errors[0]
            else:
                error = FEWER_OUTPUTS if produced else "The provider finished without returning any output."
            if produced and filtered == produced:
                # Filtered outputs are not charged to the artist unless the provider reports a cost.
                billed = any(c.get("cost") not in (None, "0.0000") for c in calls)
                if not billed:
                    actual = Decimal(0)
        actual = _q4(actual)
        if billed:
            ledger.settle(job, actual, note=f"{job.backend} {job.model}".strip())
        else:
            ledger.release(job, note=error[:120] if error else "nothing billed")
            actual = Decimal(0)

        # cost shares: among the takes that got media (else among all)
        payers = stored_takes or (failed_takes if actual > 0 else [])
        for take, share in zip(payers, _shares(actual, len(payers)) if payers else [], strict=True):
            take.cost = share
        for take in set(stored_takes) | set(failed_takes):
            fields = ["media", "provenance", "cost", "status", "error", "updated_at"]
            take.save(update_fields=fields)
        job.state = state
        job.error = error
        job.actual_cost = actual
        job.finished_at = timezone.now()
        job.progress = 100 if state == JobState.SUCCEEDED else job.progress
        job.heartbeat_at = None
        job.next_poll_at = None
        job.provider_data.pop("finishing", None)
        job.provider_data.pop("retry", None)
        job.save()
        for take in created_events:
            record_event(project=job.project, actor=None, type="take.created", data=_take_data(take))
        for take in failed_takes:
            record_event(project=job.project, actor=None, type="take.failed", data=_take_data(take))
        _publish_job(job)
        step.job = job
    step.release_slot(*[c["index"] for c in calls])
    _drop_workdir(job.pk)
    logger.info("generation job %s %s (%s takes stored, cost %s)", job.pk, job.state, len(stored_takes), actual)
    return _done(job.state, error)
