"""The budget ledger: money held for a job before anything is sent, then spent or given back.

Per job there is one ``reserve`` row (the estimate, held), and later exactly one of
``settle`` (the hold is replaced by the actual cost, which is spent) or ``release`` (the hold
is given back: the provider did not bill). A database constraint allows one row per
(job, kind), and settle/release check each other under the job's row lock, so a retried task
can never count a job twice.

    held      = Σ reserve amounts of jobs with neither settle nor release
    spent     = Σ settle amounts
    remaining = budget_amount − held − spent

Budget rule: ``Project.budget_amount`` is the whole budget for paid generation. A budget of
0 (the default) means *no money may be spent*: any request with a non-zero estimate is
refused with 402 until a director or producer sets a budget. Requests that cost nothing
(the free local backends) are always allowed, even with no budget.

``Project.artist_budget_cap`` (optional) limits what each *artist* may hold + spend in the
project; directors and producers are not capped (they set the budget).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum

from apps.core.errors import BudgetExceeded

from .models import GenerationJob, LedgerEntry, LedgerKind

ZERO = Decimal(0)
_CLOSING = (LedgerKind.SETTLE, LedgerKind.RELEASE)
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}


def money(amount: Decimal | float | str, currency: str = "USD") -> str:
    """$1.20, €3.00, 12.50 CHF. Amounts below a cent keep their digits ($0.0025)."""
    value = Decimal(str(amount))
    places = Decimal("0.01") if value == 0 or abs(value) >= Decimal("0.01") else Decimal("0.0001")
    text = f"{value.quantize(places, rounding=ROUND_HALF_UP):,}"
    symbol = SYMBOLS.get((currency or "").upper())
    if symbol:
        return f"-{symbol}{text[1:]}" if text.startswith("-") else f"{symbol}{text}"
    return f"{text} {currency.upper()}"


def _q(amount) -> Decimal:
    return Decimal(str(amount or 0)).quantize(Decimal("0.0001"))


def _closed_jobs(project):
    return LedgerEntry.objects.filter(project=project, kind__in=_CLOSING, job__isnull=False).values("job_id")


def _held_qs(project):
    """Reserve rows still held (their job is neither settled nor released)."""
    return LedgerEntry.objects.filter(project=project, kind=LedgerKind.RESERVE, job__isnull=False).exclude(
        job_id__in=_closed_jobs(project)
    )


def totals(project, *, user=None) -> tuple[Decimal, Decimal]:
    """(held, spent) for the project, or for one user in it."""
    held = _held_qs(project)
    spent = LedgerEntry.objects.filter(project=project, kind=LedgerKind.SETTLE)
    if user is not None:
        held = held.filter(user=user)
        spent = spent.filter(user=user)
    h = held.aggregate(t=Sum("amount"))["t"] or ZERO
    s = spent.aggregate(t=Sum("amount"))["t"] or ZERO
    return _q(h), _q(s)


def _is_capped(project, user) -> bool:
    from apps.projects.models import Membership, Role

    if project.artist_budget_cap is None or user is None:
        return False
    role = Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()
    return role == Role.ARTIST


def reserve(*, project, user, job: GenerationJob, amount, capped: bool | None = None) -> LedgerEntry:
    """Hold ``amount`` of the budget for ``job``, or raise BudgetExceeded (402).

    Runs under a row lock on the project, so concurrent requests see each other's holds:
    of twenty requests against a budget that fits five, exactly five succeed. Call inside the
    transaction that creates the job, so that a refusal leaves no job behind."""
    from apps.projects.models import Project

    amount = _q(amount)
    if amount < 0:
        raise ValueError("a reservation cannot be negative")
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        currency = locked.budget_currency
        if amount > 0:
            budget = Decimal(locked.budget_amount or 0)
            if budget <= 0:
                raise BudgetExceeded(
                    f"This needs {money(amount, currency)} but the project has no budget for paid generation yet; "
                    "a director or producer can set one (free local backends work without one)."
                )
            held, spent = totals(locked)
            remaining = budget - held - spent
            if amount > remaining:
                left = max(remaining, ZERO)
                raise BudgetExceeded(
                    f"This needs {money(amount, currency)} but only {money(left, currency)} of the "
                    f"{money(budget, currency)} budget is left.",
                    data={"needed": str(amount), "remaining": str(_q(left)), "currency": currency},
                )
            if capped is None:
                capped = _is_capped(locked, user)
            if capped and locked.artist_budget_cap is not None:
                cap = Decimal(locked.artist_budget_cap)
                u_held, u_spent = totals(locked, user=user)
                mine = cap - u_held - u_spent
                if amount > mine:
                    raise BudgetExceeded(
                        f"This needs {money(amount, currency)} but you have only {money(max(mine, ZERO), currency)} "
                        f"left of your {money(cap, currency)} limit in this project.",
                        data={"scope": "artist", "needed": str(amount), "remaining": str(_q(max(mine, ZERO))), "currency": currency},
                    )
        entry = LedgerEntry.objects.create(
            project=locked, user=user, job=job, kind=LedgerKind.RESERVE, amount=amount,
            note=f"{job.backend} {job.model}".strip()[:255],
        )
    return entry


def _close(job: GenerationJob, kind: str, amount: Decimal, note: str) -> LedgerEntry | None:
    with transaction.atomic():
        GenerationJob.objects.select_for_update().filter(pk=job.pk).first()
        existing = LedgerEntry.objects.filter(job=job, kind__in=_CLOSING).first()
        if existing is not None:
            return existing  # settled or released already: exactly once
        reserved = LedgerEntry.objects.filter(job=job, kind=LedgerKind.RESERVE).first()
        if reserved is None:
            return None  # nothing was held (should not happen)
        try:
            with transaction.atomic():
                return LedgerEntry.objects.create(
                    project_id=reserved.project_id, user_id=reserved.user_id, job=job, kind=kind, amount=amount, note=note[:255]
                )
        except IntegrityError:
            return LedgerEntry.objects.filter(job=job, kind__in=_CLOSING).first()


def settle(job: GenerationJob, actual, *, note: str = "") -> LedgerEntry | None:
    """Replace the job's hold by its actual cost (spent). Idempotent; a released job stays released."""
    return _close(job, LedgerKind.SETTLE, _q(actual), note or "settled")


def release(job: GenerationJob, *, note: str = "") -> LedgerEntry | None:
    """Give the job's hold back. Idempotent; a settled job stays settled."""
    return _close(job, LedgerKind.RELEASE, ZERO, note or "released")


def job_ledger_state(job: GenerationJob) -> str:
    """"held", "settled", "released" or "none"."""
    kinds = set(LedgerEntry.objects.filter(job=job).values_list("kind", flat=True))
    if LedgerKind.SETTLE in kinds:
        return "settled"
    if LedgerKind.RELEASE in kinds:
        return "released"
    return "held" if LedgerKind.RESERVE in kinds else "none"
