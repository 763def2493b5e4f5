"""Reads for the generation app: jobs, backends, the budget."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from apps.accounts.services import display_name
from apps.core.errors import NotFound, ValidationError
from apps.projects.access import Access, project_access

from . import ledger
from .credentials import CredentialUnreadable, ProjectCredential, credential_get_key, credential_load, plain_config
from .models import GenerationJob, JobState, LedgerEntry, LedgerKind
from .planning import backend_context
from .registry import all_backends

MAX_JOBS = 200


def job_get(*, user, job_id) -> tuple[Access, GenerationJob]:
    """A job the user may see (a member of its project); anything else is a 404."""
    try:
        pk = uuid.UUID(str(job_id))
    except (TypeError, ValueError, AttributeError):
        raise NotFound("No such generation job.") from None
    job = GenerationJob.objects.select_related("author").filter(pk=pk).first()
    if job is None:
        raise NotFound("No such generation job.")
    try:
        access = project_access(user=user, project_id=job.project_id)
    except NotFound:
        raise NotFound("No such generation job.") from None
    job.project = access.project
    return access, job


def job_list(*, access: Access, state: str | None = None, shot: str | None = None, limit: int = 50):
    qs = GenerationJob.objects.filter(project=access.project).select_related("author").order_by("-created_at")
    if state:
        states = [s.strip() for s in str(state).split(",") if s.strip()]
        unknown = [s for s in states if s not in JobState.values]
        if unknown:
            raise ValidationError(
                f"Unknown state {unknown[0]!r}; use {', '.join(JobState.values)}.", fields={"state": ["Unknown state."]}
            )
        qs = qs.filter(state__in=states)
    if shot:
        try:
            qs = qs.filter(shot_id=uuid.UUID(str(shot)))
        except ValueError:
            raise ValidationError("shot must be an id.", fields={"shot": ["Not a valid id."]}) from None
    jobs = list(qs[: max(1, min(int(limit), MAX_JOBS))])
    for job in jobs:
        job.project = access.project
    return jobs


def job_takes(job: GenerationJob):
    from apps.production.models import Take

    ids = list((job.provider_data or {}).get("takes") or [])
    return list(
        Take.objects.filter(pk__in=ids).select_related("media", "author", "reviewed_by").order_by("number")
    )


# --- backends ------------------------------------------------------------------------------


def _money(value) -> str:
    return str(Decimal(str(value or 0)).quantize(Decimal("0.0001")))


def model_data(spec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "title": spec.title or spec.name,
        "kinds": list(spec.kinds),
        "durations": list(spec.durations) if spec.durations is not None else None,
        "min_seconds": spec.min_seconds,
        "max_seconds": spec.max_seconds,
        "sizes": [{"width": w, "height": h} for w, h in spec.sizes] if spec.sizes is not None else None,
        "max_variations": spec.max_variations,
        "estimated_cost": {
            "per_second": _money(spec.cost_per_second),
            "per_output": _money(spec.cost_per_output),
            "per_1k_chars": _money(spec.cost_per_1k_chars),
        },
    }


def backend_list(*, access: Access | None = None) -> list[dict[str, Any]]:
    """Every installed backend, with ``configured`` for the project when one is given."""
    configured_keys: set[str] = set()
    configs: dict[str, dict] = {}
    if access is not None:
        from .models import Credential

        for cred in Credential.objects.filter(project=access.project):
            configs[cred.backend] = plain_config(cred.config)  # secrets stay encrypted
            if cred.encrypted and credential_get_key(access.project, cred.backend):
                configured_keys.add(cred.backend)
    out = []
    for backend in sorted(all_backends(), key=lambda b: (not b.is_local, b.name)):
        try:
            ok, reason = backend.available()
        except Exception as exc:  # noqa: BLE001 - a broken local tool must not break the list
            ok, reason = False, str(exc)[:200]
        if backend.needs_credentials:
            configured = backend.name in configured_keys
            if not configured and ok:
                reason = "Needs an API key (a director or producer adds it in the project's settings)." if access else (
                    "Needs an API key per project."
                )
        else:
            configured = ok
        if ok and access is not None:
            config = configs.get(backend.name) or {}
            problem = backend.config_problem(config, backend_context(backend, ProjectCredential("", config, False)).base_url)
            if problem:
                configured, reason = False, problem
        voices = None
        if "speech" in backend.kinds:
            cred = ProjectCredential("", {}, False)
            if access is not None and backend.name in configured_keys | set(configs):
                try:
                    cred = credential_load(access.project, backend.name)
                except CredentialUnreadable:
                    pass
            try:
                voices = backend.voices(backend_context(backend, cred))[0] if ok else []
            except Exception:  # noqa: BLE001 - a provider hiccup must not break the list
                voices = []
        first = backend.models[0] if backend.models else None
        out.append({
            "name": backend.name,
            "title": backend.title or backend.name,
            "kinds": backend.kinds,
            "models": [model_data(m) for m in backend.models],
            "configured": bool(configured),
            "available": bool(ok),
            "reason": "" if (ok and configured) else (reason or ""),
            "is_local": backend.is_local,
            "needs_credentials": backend.needs_credentials,
            "accepts_references": backend.accepts_references,
            # Speech backends: [{id, name, language?}] to choose ``params.voice`` from (else null).
            "voices": voices,
            "default_concurrency": backend.default_concurrency,
            "estimated_cost": {
                "per_second": _money(first.cost_per_second if first else 0),
                "per_output": _money(first.cost_per_output if first else 0),
            },
        })
    return out


# --- budget --------------------------------------------------------------------------------


def budget_summary(project) -> dict[str, Any]:
    """``{amount, currency, reserved, spent, remaining, artist_cap, by_artist: [{user,
    reserved, spent, cap}]}`` from the ledger (see ledger.py for the rules)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Sum

    from apps.projects.models import Membership, Role

    held, spent = ledger.totals(project)
    amount = Decimal(project.budget_amount or 0)
    closed = LedgerEntry.objects.filter(project=project, kind__in=(LedgerKind.SETTLE, LedgerKind.RELEASE), job__isnull=False)
    held_by = dict(
        LedgerEntry.objects.filter(project=project, kind=LedgerKind.RESERVE, job__isnull=False)
        .exclude(job_id__in=closed.values("job_id"))
        .values("user_id").annotate(t=Sum("amount")).values_list("user_id", "t")
    )
    spent_by = dict(
        LedgerEntry.objects.filter(project=project, kind=LedgerKind.SETTLE)
        .values("user_id").annotate(t=Sum("amount")).values_list("user_id", "t")
    )
    user_ids = [u for u in set(held_by) | set(spent_by) if u is not None]
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=user_ids)}
    roles = dict(Membership.objects.filter(project=project, user_id__in=user_ids).values_list("user_id", "role"))
    cap = project.artist_budget_cap
    rows = []
    for uid in user_ids:
        user = users.get(uid)
        rows.append({
            "user": {"id": uid, "username": user.get_username() if user else None, "display_name": display_name(user) if user else None},
            "role": roles.get(uid),
            "reserved": ledger._q(held_by.get(uid) or 0),
            "spent": ledger._q(spent_by.get(uid) or 0),
            "cap": cap if (cap is not None and roles.get(uid) == Role.ARTIST) else None,
        })
    rows.sort(key=lambda r: (-(r["spent"] + r["reserved"]), r["user"]["username"] or ""))
    return {
        "amount": amount,
        "currency": project.budget_currency,
        "reserved": held,
        "spent": spent,
        "remaining": ledger._q(amount - held - spent),
        "artist_cap": cap,
        "by_artist": rows,
    }
