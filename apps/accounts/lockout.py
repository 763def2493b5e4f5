"""Sign-in lockout: too many failed sign-ins lock the account name, and the client address.

Counted in the shared cache (Redis), so every web process sees the same counts:

- a failure adds one to the account's count (by lower-cased username, whether or not such
  a user exists, so the lock says nothing about which names exist) and to the address's;
- ``MONTAGE_LOGIN_FAILURES_PER_ACCOUNT`` failures of one account, or
  ``MONTAGE_LOGIN_FAILURES_PER_ADDRESS`` from one address, within
  ``MONTAGE_LOGIN_FAILURE_WINDOW_SECONDS`` lock it for ``MONTAGE_LOGIN_LOCKOUT_SECONDS``;
- while locked, sign-ins are refused without looking at the password (429);
- a successful sign-in clears the account's count (not the address's: an attacker who owns
  one account must not be able to reset the count of the address they guess from).

The lock's end is a timestamp compared with :func:`now` (tests move the clock); cache
expiries only clean up.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache

from apps.core.throttling import TooManyRequests, client_address

_PREFIX = "montage-lockout"


def now() -> float:
    return time.time()


def _key(kind: str, value: str, what: str) -> str:
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]
    return f"{_PREFIX}:{kind}:{what}:{digest}"


def _subjects(request, username: str | None) -> list[tuple[str, str, int]]:
    """(kind, value, limit) for what a sign-in attempt is counted under."""
    out = []
    name = (username or "").strip().lower()
    if name:
        out.append(("account", name, int(settings.MONTAGE_LOGIN_FAILURES_PER_ACCOUNT)))
    if request is not None and getattr(request, "META", None) is not None:
        out.append(("address", client_address(request), int(settings.MONTAGE_LOGIN_FAILURES_PER_ADDRESS)))
    return out


def locked_for(request, username: str | None) -> float:
    """Seconds until sign-ins for ``username`` from ``request``'s address are allowed (0: now)."""
    wait = 0.0
    current = now()
    for kind, value, _ in _subjects(request, username):
        until = cache.get(_key(kind, value, "until"))
        if until is not None and float(until) > current:
            wait = max(wait, float(until) - current)
    return wait


def check(request, username: str | None) -> None:
    """Raise 429 ``throttled`` when sign-ins for ``username`` or from this address are locked."""
    wait = locked_for(request, username)
    if wait > 0:
        raise TooManyRequests("Too many failed sign-ins", wait)


def record_failure(request, username: str | None) -> None:
    window = int(settings.MONTAGE_LOGIN_FAILURE_WINDOW_SECONDS)
    lockout = int(settings.MONTAGE_LOGIN_LOCKOUT_SECONDS)
    for kind, value, limit in _subjects(request, username):
        count_key = _key(kind, value, "count")
        cache.add(count_key, 0, timeout=window)
        try:
            count = cache.incr(count_key)  # atomic in Redis: parallel guesses all count
        except ValueError:  # expired between add and incr
            cache.set(count_key, 1, timeout=window)
            count = 1
        if count >= max(1, limit):
            cache.set(_key(kind, value, "until"), now() + lockout, timeout=lockout + 60)
            cache.delete(count_key)  # after the lock, a fresh set of attempts


def record_success(request, username: str | None) -> None:
    name = (username or "").strip().lower()
    if name:
        cache.delete(_key("account", name, "count"))


def reset(*, username: str | None = None, address: str | None = None) -> None:
    """Lift a lock (an operator's tool: ``manage.py shell``)."""
    for kind, value in (("account", (username or "").strip().lower()), ("address", address or "")):
        if value:
            cache.delete_many([_key(kind, value, "count"), _key(kind, value, "until")])
