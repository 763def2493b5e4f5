"""Provider callbacks (``webhook_receive``): check the signature, apply a delivery once, and let
the job take its next step at once.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction

from apps.core.errors import DomainError, NotFound

from .backends.base import ProviderError
from .calls import _apply_result, _calls, _load, _safe_message
from .creation import job_enqueue
from .credentials import CredentialUnreadable, ProjectCredential, credential_load
from .models import ACTIVE_STATES, GenerationJob, WebhookDelivery
from .payloads import FINISHED_STATES
from .planning import backend_context
from .registry import get_backend

logger = logging.getLogger(__name__)


def _find_job_for(backend: str, provider_job_id: str, hint: str | None) -> tuple[GenerationJob | None, int | None]:
    def index_in(job) -> int | None:
        for call in _calls(job):
            if call.get("id") and call["id"] == provider_job_id:
                return int(call["index"])
        return None

    if hint:
        job = _load(hint)
        if job is not None and job.backend == backend:
            i = index_in(job)
            if i is not None:
                return job, i
    job = GenerationJob.objects.filter(backend=backend, provider_job_id=provider_job_id).order_by("-created_at").first()
    if job is not None:
        job = _load(job.pk)
        i = index_in(job)
        if i is not None:
            return job, i
    # a second or later call of a multi-call job
    for job in GenerationJob.objects.filter(backend=backend, state__in=ACTIVE_STATES, variations__gt=1).order_by("-created_at")[
        :500
    ]:
        i = index_in(job)
        if i is not None:
            return _load(job.pk), i
    return None, None


def webhook_receive(*, backend: str, headers: dict[str, str], body: bytes, query: dict[str, str] | None = None) -> dict[str, Any]:
    """A provider's callback: check its signature, apply it once (deliveries repeated with the
    same id are ignored), and let the job take its next step at once."""
    found = get_backend(backend)
    if found is None:
        raise NotFound(f"There is no generation backend called {backend!r}.")
    query = query or {}
    hint = query.get("job")
    cred = ProjectCredential("", {}, False)
    hinted = _load(hint) if hint else None
    if hinted is not None and hinted.backend == backend:
        try:
            cred = credential_load(hinted.project, backend)
        except CredentialUnreadable:
            pass
    ctx = backend_context(found, cred)
    try:
        event = found.parse_webhook({k.lower(): v for k, v in headers.items()}, body, ctx)
    except NotImplementedError:
        raise NotFound(f"{found.title or found.name} does not send webhooks.") from None
    except (ProviderError, ValueError, KeyError, TypeError) as exc:
        logger.info("webhook for %s refused: %s", backend, _safe_message(exc, cred))
        raise DomainError("The webhook signature is not valid.", code="invalid_signature") from None
    job, index = _find_job_for(backend, str(event.provider_job_id or ""), hint)
    if job is not None and job.pk != getattr(hinted, "pk", None):
        try:
            cred = credential_load(job.project, backend)
        except CredentialUnreadable:
            cred = ProjectCredential("", {}, False)
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(backend=backend, delivery_id=str(event.delivery_id)[:255], job=job)
            if job is None or job.state in FINISHED_STATES:
                return {"status": "ignored"}
            if event.result is not None:
                _apply_result(job.pk, index, event.result, cred)
            job_id = str(job.pk)
            transaction.on_commit(lambda: _safe_enqueue(job_id))
    except IntegrityError:
        return {"status": "duplicate"}
    return {"status": "accepted", "job": str(job.pk)}


def _safe_enqueue(job_id: str) -> None:
    try:
        job_enqueue(job_id=job_id)
    except Exception:
        logger.warning("could not enqueue generation job %s after a webhook", job_id, exc_info=True)
