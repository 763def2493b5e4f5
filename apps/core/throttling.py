"""Request throttles and the client address they count by.

- :func:`client_address`: the caller's address. ``X-Forwarded-For`` is trusted only for
  ``MONTAGE_TRUSTED_PROXY_COUNT`` hops (0 by default: the socket's address), so a client
  cannot pick the address it is counted under. IPv6 addresses count per /64 (one host
  usually owns the whole block).
- :class:`ScopedThrottle` and its subclasses: DRF throttles whose rates come from
  ``MONTAGE_THROTTLE_RATES`` (read on every request, so tests and operators can change them),
  counted in the shared cache (Redis), per user (or per address for anonymous callers).
- :class:`TooManyRequests`: what they raise; the API's exception handler turns it (and any
  DRF ``Throttled``) into ``429 {code: "throttled", detail, retry_after}`` with Retry-After.
"""

from __future__ import annotations

import ipaddress
import math

from django.conf import settings
from rest_framework import exceptions
from rest_framework.throttling import SimpleRateThrottle


def client_address(request) -> str:
    """The caller's address (an IPv6 caller's /64), as counted by throttles and lockouts."""
    meta = getattr(request, "META", {}) or {}
    remote = str(meta.get("REMOTE_ADDR") or "")
    hops = max(0, int(getattr(settings, "MONTAGE_TRUSTED_PROXY_COUNT", 0) or 0))
    address = remote
    if hops:
        forwarded = [part.strip() for part in str(meta.get("HTTP_X_FORWARDED_FOR") or "").split(",") if part.strip()]
        if forwarded:
            # Each trusted proxy appends the address it saw: the client is ``hops`` from the right.
            address = forwarded[-hops] if len(forwarded) >= hops else forwarded[0]
    return _normalised(address) or _normalised(remote) or "unknown"


def _normalised(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def wait_sentence(seconds: float) -> str:
    """'14 minutes', '40 seconds', '2 hours' (rounded up: never shorter than the real wait)."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = math.ceil(minutes / 60)
    return f"{hours} hours"


class TooManyRequests(exceptions.Throttled):
    """429 with a sentence and ``retry_after`` seconds."""

    default_code = "throttled"

    def __init__(self, what: str, wait: float) -> None:
        wait = max(1, math.ceil(wait))
        super().__init__(wait=wait, detail=f"{what}; try again in {wait_sentence(wait)}.")


class ScopedThrottle(SimpleRateThrottle):
    """A DRF throttle for one ``scope`` of ``MONTAGE_THROTTLE_RATES`` ("20/hour", "5/min").

    Counts requests whose method is in ``methods``; per signed-in user, or per client
    address for anonymous callers (and always per address when ``per_address``)."""

    scope = ""
    methods: tuple[str, ...] = ("POST",)
    per_address = False
    # The start of the sentence people see ("Too many sign-ups from this address").
    what = "Too many requests"

    def __init__(self) -> None:  # rates are read per request, not frozen at import
        pass

    def get_rate(self) -> str | None:
        rates = getattr(settings, "MONTAGE_THROTTLE_RATES", {}) or {}
        return rates.get(self.scope)

    def get_ident(self, request) -> str:
        return client_address(request)

    def get_cache_key(self, request, view) -> str | None:
        user = getattr(request, "user", None)
        if not self.per_address and user is not None and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return f"montage-throttle:{self.scope}:{ident}"

    def allow_request(self, request, view) -> bool:
        if request.method not in self.methods:
            return True
        self.rate = self.get_rate()
        if not self.rate:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if super().allow_request(request, view):
            return True
        raise TooManyRequests(self.what, self.wait() or 1)


class SignupThrottle(ScopedThrottle):
    scope = "signup"
    per_address = True
    what = "Too many sign-ups from this address"


class InviteAcceptThrottle(ScopedThrottle):
    scope = "invite_accept"
    what = "Too many invitations accepted"


class UploadCreateThrottle(ScopedThrottle):
    scope = "upload"
    what = "Too many uploads started"


class GenerateThrottle(ScopedThrottle):
    scope = "generate"
    what = "Too many generations started"
