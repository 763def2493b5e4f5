"""The job lifecycle against a fake provider, one step at a time (``job_advance``)."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.generation import credentials, ledger, ratelimit, services, submitting
from apps.generation.models import GenerationJob, LedgerEntry, WebhookDelivery
from apps.generation.services import generate, generation_reap_stale, job_advance
from apps.generation.tasks import run_generation_job
from apps.production.models import Take
from tests.fakes.generic import Script, WorkerKilled

from .conftest import API, TEST_KEY, WEBHOOK_SECRET, access_of, drive

pytestmark = pytest.mark.django_db


def _generate(crew, **kw):
    kw.setdefault("backend", "fake-generic")
    kw.setdefault("prompt", "a lighthouse keeper climbs the stairs")
    kw.setdefault("duration_frames", 96)  # 4 s at 24 fps
    return generate(access=access_of(crew, kw.pop("who", "owner")), shot=crew.shot, **kw)


def _ledger(job):
    return sorted(LedgerEntry.objects.filter(job=job).values_list("kind", "amount"))


# --- the happy path ----------------------------------------------------------------------------


def test_success_submits_once_and_makes_takes_with_media_provenance_and_cost(keyed, fake):
    job, takes = _generate(keyed, variations=2, seed=7)
    assert job.state == "queued" and len(takes) == 2
    assert all(t.status == "processing" and t.media_id is None for t in takes)
    assert job.estimated_cost == Decimal("0.8000")  # 4 s × $0.10 × 2
    assert _ledger(job) == [("reserve", Decimal("0.8000"))]
    assert fake.calls == []  # nothing is sent before the worker runs

    first = job_advance(job_id=job.pk)  # submit
    job.refresh_from_db()
    assert first.delay is not None and job.state == "running" and job.provider_job_id
    assert fake.count("POST", "/v1/jobs") == 1
    sent = fake.calls[0]
    assert sent.headers["idempotency-key"] == job.idempotency_key
    assert sent.json()["seed"] == 7 and sent.json()["n"] == 2 and sent.json()["seconds"] == 4.0

    job_advance(job_id=job.pk)  # running, progress
    job.refresh_from_db()
    assert job.state == "running" and 0 < job.progress < 100
    last = drive(job.pk)[-1]
    assert last.done and last.state == "succeeded"

    job.refresh_from_db()
    assert job.state == "succeeded" and job.progress == 100 and job.error == ""
    assert job.actual_cost == Decimal("0.8000")
    assert _ledger(job) == [("reserve", Decimal("0.8000")), ("settle", Decimal("0.8000"))]
    assert fake.count("POST", "/v1/jobs") == 1
    takes = list(Take.objects.filter(shot=keyed.shot).order_by("number"))
    assert len(takes) == 2 and all(t.media_id for t in takes)
    assert [t.cost for t in takes] == [Decimal("0.4000"), Decimal("0.4000")]
    prov = takes[0].provenance
    assert prov["backend"] == "fake-generic" and prov["model"] == "fg-1" and prov["kind"] == "text_to_video"
    assert prov["seed"] == 7 and prov["job"] == str(job.pk) and prov["provider_job_id"] == job.provider_job_id
    assert prov["original_prompt"] == "a lighthouse keeper climbs the stairs"
    assert prov["estimated_cost"] == "0.4000" and prov["requested_at"]
    assert takes[0].media.project_id == keyed.project.pk and takes[0].media.size > 0
    # the output link's Authorization header was never stored in clear
    assert TEST_KEY not in str(GenerationJob.objects.get(pk=job.pk).provider_data)
    # once finished, more steps do nothing
    assert job_advance(job_id=job.pk).done and fake.count("POST", "/v1/jobs") == 1


def test_ingest_makes_the_takes_ready(keyed, fake, django_capture_on_commit_callbacks):
    from tests.fakes.server import tiny_mp4

    fake.video = tiny_mp4(seconds=0.5, size="160x120")
    job, _ = _generate(keyed)
    job_advance(job_id=job.pk)
    job_advance(job_id=job.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert job_advance(job_id=job.pk).state == "succeeded"
    take = Take.objects.get(shot=keyed.shot)
    assert take.status == "ready", take.error
    assert take.media.kind == "video" and take.media.status == "ready"


def test_the_first_step_runs_on_commit_through_celery(keyed, fake, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job, _ = _generate(keyed)
    job.refresh_from_db()
    assert job.provider_job_id and job.state == "running" and job.next_poll_at is not None
    assert fake.count("POST", "/v1/jobs") == 1


def test_enqueue_failure_fails_the_job_and_releases_the_budget(keyed, fake, django_capture_on_commit_callbacks, monkeypatch):
    def broken(*a, **k):
        raise ConnectionError("broker down")

    monkeypatch.setattr(run_generation_job, "delay", broken)
    with django_capture_on_commit_callbacks(execute=True):
        job, _ = _generate(keyed)
    job.refresh_from_db()
    assert job.state == "failed" and "could not queue" in job.error
    assert ledger.job_ledger_state(job) == "released"
    assert Take.objects.get(shot=keyed.shot).status == "failed"


# --- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("billable", [False, True])
def test_a_job_that_fails_after_running(keyed, fake, billable):
    fake.scenario.update(fail_after_running=True, billable=billable)
    job, takes = _generate(keyed)
    last = drive(job.pk)[-1]
    job.refresh_from_db()
    assert last.state == "failed" and job.state == "failed"
    assert "The model crashed while rendering." in job.error
    take = Take.objects.get(pk=takes[0].pk)
    assert take.status == "failed" and "crashed" in take.error
    if billable:
        assert ledger.job_ledger_state(job) == "settled" and job.actual_cost == Decimal("0.4000")
    else:
        assert ledger.job_ledger_state(job) == "released" and job.actual_cost == 0
    assert fake.count("POST", "/v1/jobs") == 1


def test_quota_exhausted_fails_at_once_and_never_retries(keyed, fake):
    fake.scenario["quota"] = True
    job, _ = _generate(keyed)
    step = job_advance(job_id=job.pk)
    job.refresh_from_db()
    assert step.done and job.state == "failed"
    assert "quota" in job.error.lower()
    for _ in range(3):
        assert job_advance(job_id=job.pk).done
    assert fake.count("POST", "/v1/jobs") == 1
    assert ledger.job_ledger_state(job) == "released"


def test_rate_limit_sets_a_cool_down_then_succeeds(keyed, fake):
    fake.scenario["rate_limit_once"] = 0.3
    job, _ = _generate(keyed)
    step = job_advance(job_id=job.pk)
    job.refresh_from_db()
    assert not step.done and 0.3 <= step.delay < 2 and job.state == "queued" and not job.provider_job_id
    fp = credentials.credential_load(keyed.project, "fake-generic").fingerprint
    assert ratelimit.cooldown_remaining("fake-generic", fp) > 0
    # every worker honours the cool-down: no call while it lasts
    again = job_advance(job_id=job.pk)
    assert not again.done and fake.count("POST", "/v1/jobs") == 1
    time.sleep(0.35)
    assert drive(job.pk)[-1].state == "succeeded"
    assert fake.count("POST", "/v1/jobs") == 2  # the refused one and the accepted one
    assert fake.submissions() == 1


def test_rate_limit_while_polling(keyed, fake):
    job, _ = _generate(keyed)
    job_advance(job_id=job.pk)
    fake.scenario["poll_rate_limit_once"] = True
    step = job_advance(job_id=job.pk)
    assert not step.done and step.delay >= 0.2
    time.sleep(0.25)
    assert drive(job.pk)[-1].state == "succeeded"


def test_transient_errors_are_retried_with_backoff(keyed, fake):
    fake.scenario["server_error_once"] = True
    job, _ = _generate(keyed)
    step = job_advance(job_id=job.pk)
    job.refresh_from_db()
    assert not step.done and step.delay >= 4 and job.state == "queued"
    assert job.provider_data["calls"][0]["state"] == "pending"
    assert drive(job.pk)[-1].state == "succeeded"
    assert fake.submissions() == 1


def test_transient_errors_give_up_after_a_few_tries(keyed, fake, monkeypatch):
    monkeypatch.setattr(submitting, "MAX_SUBMIT_ATTEMPTS", 3)
    job, _ = _generate(keyed)
    for _ in range(3):
        fake.scenario["server_error_once"] = True
        job_advance(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and "after 3 tries" in job.error
    assert ledger.job_ledger_state(job) == "released"


def test_expired_output_links_fail_readably(keyed, fake):
    fake.scenario["expire_outputs"] = True
    job, _ = _generate(keyed)
    drive(job.pk)
    job.refresh_from_db()
    assert job.state == "failed"
    assert "expired" in job.error and "generate again" in job.error
    assert Take.objects.get(shot=keyed.shot).status == "failed"
    # the provider made (and billed) the clip: the cost is spent
    assert ledger.job_ledger_state(job) == "settled"


def test_every_output_filtered(keyed, fake):
    fake.scenario["filtered"] = True
    job, _ = _generate(keyed, variations=2)
    drive(job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and job.error == services.ALL_FILTERED
    assert set(Take.objects.filter(shot=keyed.shot).values_list("status", "error")) == {("failed", services.ALL_FILTERED)}
    assert ledger.job_ledger_state(job) == "released"


def test_job_lost_at_the_provider(keyed, fake):
    job, _ = _generate(keyed)
    job_advance(job_id=job.pk)
    fake.scenario["lost"] = True
    drive(job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and job.error == services.JOB_LOST
    assert Take.objects.get(shot=keyed.shot).error == services.JOB_LOST
    assert ledger.job_ledger_state(job) == "released"


def test_fewer_outputs_than_asked(keyed, fake):
    fake.scenario["outputs_delta"] = -1
    job, takes = _generate(keyed, variations=2)
    drive(job.pk)
    job.refresh_from_db()
    assert job.state == "succeeded"
    got = list(Take.objects.filter(shot=keyed.shot).order_by("number").values_list("status", "error", "cost"))
    assert got[0][0] == "processing" and got[0][2] == Decimal("0.8000")
    assert got[1][:2] == ("failed", services.FEWER_OUTPUTS)


def test_extra_outputs_become_new_takes(keyed, fake):
    fake.scenario["outputs_delta"] = 1
    job, takes = _generate(keyed, variations=1)
    drive(job.pk)
    takes = list(Take.objects.filter(shot=keyed.shot).order_by("number"))
    assert len(takes) == 2 and all(t.media_id for t in takes)
    assert takes[1].provenance["job"] == str(job.pk) and takes[1].provenance["extra_output"] is True


def test_reported_actual_cost_is_what_is_spent(keyed, fake):
    fake.scenario["cost"] = "0.3300"
    job, _ = _generate(keyed)
    drive(job.pk)
    job.refresh_from_db()
    assert job.actual_cost == Decimal("0.3300")
    assert _ledger(job)[-1] == ("settle", Decimal("0.3300"))


def test_a_refused_key_never_reaches_the_error_or_the_logs(keyed, fake, caplog):
    fake.scenario["bad_key"] = True
    job, _ = _generate(keyed)
    with caplog.at_level("DEBUG"):
        drive(job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and "refused the API key" in job.error
    assert TEST_KEY not in job.error and "[redacted]" in job.error
    assert TEST_KEY not in caplog.text
    assert TEST_KEY not in str(Take.objects.get(shot=keyed.shot).error)


# --- cancel ------------------------------------------------------------------------------------


def test_cancel_a_running_job(keyed, fake):
    job, takes = _generate(keyed)
    job_advance(job_id=job.pk)
    job.refresh_from_db()
    job = services.job_cancel(access=access_of(keyed, "owner"), job=job)
    assert job.state == "cancelled" and job.cancel_requested
    assert fake.count("DELETE", "/v1/jobs/.+") == 1
    assert Take.objects.get(pk=takes[0].pk).error == "Cancelled."
    assert ledger.job_ledger_state(job) == "released"
    assert job_advance(job_id=job.pk).done and fake.count("GET", "/v1/jobs/.+") == 0


def test_cancel_before_submission_sends_nothing(keyed, fake):
    job, _ = _generate(keyed)
    services.job_cancel(access=access_of(keyed, "director"), job=job)
    assert job_advance(job_id=job.pk).done
    assert fake.calls == []


def test_only_author_owner_or_director_may_cancel(keyed, fake):
    from apps.core.errors import PermissionDenied

    job, _ = _generate(keyed)
    for name in ("artist", "producer", "viewer"):
        with pytest.raises(PermissionDenied):
            services.job_cancel(access=access_of(keyed, name), job=job)


# --- crashes, retries, the reaper ----------------------------------------------------------------


def test_worker_killed_between_submit_and_completion_submits_once(keyed, fake, settings):
    job, _ = _generate(keyed, variations=2)
    job_advance(job_id=job.pk)  # submitted; then the worker "dies": nothing in memory survives
    job_id = str(job.pk)
    for _ in range(3):
        run_generation_job(job_id)  # redelivered task
        run_generation_job.delay(job_id)  # eager: runs inline
        job_advance(job_id=job_id)
    # the reaper, once the job looks abandoned
    GenerationJob.objects.filter(pk=job_id).update(
        heartbeat_at=timezone.now() - timedelta(hours=1), next_poll_at=timezone.now() - timedelta(hours=1)
    )
    generation_reap_stale()
    generation_reap_stale()
    drive(job_id)
    for _ in range(2):
        run_generation_job(job_id)
        generation_reap_stale()
    assert fake.count("POST", "/v1/jobs") == 1
    assert Take.objects.filter(shot=keyed.shot).count() == 2
    assert Take.objects.filter(shot=keyed.shot, media__isnull=False).count() == 2
    assert LedgerEntry.objects.filter(job_id=job_id, kind="settle").count() == 1


def test_worker_killed_inside_submit_is_not_resubmitted_while_the_mark_is_fresh(crew, scripted):
    scripted.script = Script(kill_after_submit=1)
    job, _ = generate(access=access_of(crew), shot=crew.shot, backend="fake-scripted", model="fs-free", duration_frames=48)
    with pytest.raises(WorkerKilled):
        job_advance(job_id=job.pk)
    job.refresh_from_db()
    assert job.provider_data["calls"][0]["state"] == "submitting" and job.attempts == 1
    for _ in range(3):
        assert not job_advance(job_id=job.pk).done
    assert len(scripted.submit_calls) == 1
    # the mark goes stale (the worker is really gone): submitted again, with the same key,
    # which the provider recognises — still one job there
    job.provider_data["calls"][0]["marked_at"] -= services.submit_lease_seconds() + 1
    job.save(update_fields=["provider_data"])
    assert drive(job.pk)[-1].state == "succeeded"
    assert len(scripted.submit_calls) == 2 and scripted.submissions == 1
    assert scripted.submit_calls[0].idempotency_key == scripted.submit_calls[1].idempotency_key == job.idempotency_key


def test_a_duplicate_task_before_the_step_is_due_does_nothing(keyed, fake):
    job, _ = _generate(keyed)
    job_advance(job_id=job.pk)
    GenerationJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now() + timedelta(seconds=60))
    run_generation_job(str(job.pk))
    assert fake.count("GET", "/v1/jobs/.+") == 0
    run_generation_job(str(job.pk), force=True)
    assert fake.count("GET", "/v1/jobs/.+") == 1


def test_reaper_fails_jobs_that_ran_too_long(keyed, fake, settings):
    settings.MONTAGE_GENERATION_STUCK_SECONDS = 2 * 3600
    job, _ = _generate(keyed)
    job_advance(job_id=job.pk)
    GenerationJob.objects.filter(pk=job.pk).update(submitted_at=timezone.now() - timedelta(hours=1))
    assert generation_reap_stale() == 0
    GenerationJob.objects.filter(pk=job.pk).update(submitted_at=timezone.now() - timedelta(hours=3))
    assert generation_reap_stale() == 1
    job.refresh_from_db()
    assert job.state == "failed" and job.error == "This job did not finish within 2 hours; it was stopped."
    assert ledger.job_ledger_state(job) == "released"
    assert fake.count("DELETE", "/v1/jobs/.+") == 1
    assert Take.objects.get(shot=keyed.shot).status == "failed"


def test_reaper_leaves_healthy_jobs_alone(keyed, fake):
    job, _ = _generate(keyed)
    job_advance(job_id=job.pk)
    assert generation_reap_stale() == 0
    assert fake.count("GET", "/v1/jobs/.+") == 0


def test_settle_and_release_happen_once(keyed, fake):
    job, _ = _generate(keyed)
    drive(job.pk)
    ledger.settle(job, Decimal("99"))
    ledger.release(job)
    assert _ledger(job) == [("reserve", Decimal("0.4000")), ("settle", Decimal("0.4000"))]


# --- several provider calls per job -------------------------------------------------------------


def test_one_call_per_variation_with_seed_plus_i(crew, scripted):
    crew.project.budget_amount = Decimal("10")
    crew.project.save(update_fields=["budget_amount"])
    job, takes = generate(access=access_of(crew), shot=crew.shot, backend="fake-scripted", model="fs-1", seed=100,
                          variations=3, duration_frames=48)
    assert len(job.provider_data["calls"]) == 3 and job.estimated_cost == Decimal("0.7500")
    assert [t.provenance["seed"] for t in takes] == [100, 101, 102]
    drive(job.pk)
    job.refresh_from_db()
    assert job.state == "succeeded" and scripted.submissions == 3
    assert sorted(r.seed for r in scripted.submit_calls) == [100, 101, 102]
    assert len({r.idempotency_key for r in scripted.submit_calls}) == 3
    assert Take.objects.filter(shot=crew.shot, media__isnull=False).count() == 3


def test_immediate_results_finish_in_the_submit_step(crew, scripted):
    scripted.script = Script(immediate=True)
    job, _ = generate(access=access_of(crew), shot=crew.shot, backend="fake-scripted", model="fs-free", duration_frames=48)
    step = job_advance(job_id=job.pk)
    assert step.done and step.state == "succeeded"
    assert Take.objects.get(shot=crew.shot).media_id


# --- webhooks ---------------------------------------------------------------------------------


def test_duplicate_webhook_deliveries_apply_once(keyed, fake):
    job, _ = _generate(keyed)
    job_advance(job_id=job.pk)
    job.refresh_from_db()
    headers, body = fake.webhook(job.provider_job_id, secret=WEBHOOK_SECRET, delivery_id="dlv-1", status="succeeded")
    client = keyed.client("anonymous")
    url = f"{API}/webhooks/fake-generic/?job={job.pk}"
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "content-type"}
    first = client.post(url, body, content_type="application/json", **extra)
    second = client.post(url, body, content_type="application/json", **extra)
    assert first.status_code == 200 and first.json()["status"] == "accepted"
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    assert WebhookDelivery.objects.filter(backend="fake-generic", delivery_id="dlv-1").count() == 1
    polls = fake.count("GET", "/v1/jobs/.+")
    assert job_advance(job_id=job.pk).state == "succeeded"  # finishes from the webhook's result
    assert fake.count("GET", "/v1/jobs/.+") == polls  # no poll needed
    assert Take.objects.filter(shot=keyed.shot, media__isnull=False).count() == 1


def test_webhook_with_a_bad_signature_is_refused(keyed, fake):
    job, _ = _generate(keyed)
    job_advance(job_id=job.pk)
    job.refresh_from_db()
    headers, body = fake.webhook(job.provider_job_id, secret="not-the-secret")
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "content-type"}
    r = keyed.client("anonymous").post(f"{API}/webhooks/fake-generic/", body, content_type="application/json", **extra)
    assert r.status_code == 400 and r.json()["code"] == "invalid_signature"
    assert WebhookDelivery.objects.count() == 0
    r = keyed.client("anonymous").post(f"{API}/webhooks/nope/", b"{}", content_type="application/json")
    assert r.status_code == 404


def test_shot_deleted_while_the_job_runs(keyed, fake):
    job, _ = _generate(keyed)
    job_advance(job_id=job.pk)
    keyed.shot.delete()
    drive(job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and job.error == services.SHOT_GONE
    assert ledger.job_ledger_state(job) == "settled"  # the provider did the work
