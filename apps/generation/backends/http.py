"""HTTP for adapters: every call goes out through the guarded client, and one place turns
status codes into ProviderErrors.

- :func:`send` is the only way an adapter reaches the network. It uses
  ``apps.core.netguard`` (no loopback, private, link-local or metadata addresses unless the
  operator allows them in ``MONTAGE_PROVIDER_ALLOWED_HOSTS``; checked again at connect
  time and after every redirect). A refused address is an :class:`AddressNotAllowed`:
  the job fails with that sentence, nothing is retried.
- Error text shown to people (a job's error, the retry message, the connection test) is
  the provider's *parsed* message only (``error.message``, ``detail``, ...), never a raw
  body. A response counts as the provider's when the call went to the provider's default
  address or one the operator configured (``MONTAGE_BACKEND_URLS``); a base URL or host a
  project member typed (``ctx.address_from_project``) and any download link contribute
  at most the HTTP status line ("HTTP 500 Internal Server Error").
"""

from __future__ import annotations

import json
from datetime import UTC
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

from apps.core import netguard

from .base import AuthError, BackendContext, JobLost, ProviderError, QuotaExhausted, RateLimited, TransientError

TRUSTED_ATTR = "montage_from_provider"


class AddressNotAllowed(ProviderError):
    """The provider's address (or a link it returned) is not one Montage calls. Never retried."""


def send(ctx: BackendContext, method: str, url: str, *, provider: str, trusted: bool | None = None, **kwargs: Any):
    """One request through the guarded client. ``requests.RequestException`` is left to the
    caller (each adapter words "could not reach" its own way); a refused address becomes
    AddressNotAllowed. ``trusted``: may the body's error message be shown (default: unless
    the address was typed by a project member)."""
    kwargs.setdefault("timeout", ctx.timeout)
    try:
        response = netguard.session().request(method, url, **kwargs)
    except netguard.AddressRefused as exc:
        raise AddressNotAllowed(f"{provider}: {exc.sentence('The address')}") from None
    if trusted is None:
        trusted = not ctx.address_from_project
    setattr(response, TRUSTED_ATTR, bool(trusted))
    return response


def body_trusted(response) -> bool:
    """May text from this response's body be shown to people (see the module doc)?"""
    return bool(getattr(response, TRUSTED_ATTR, False))


def trusted_json(response) -> Any:
    """The JSON body when it may be shown (None otherwise, or when it is not JSON)."""
    if not body_trusted(response):
        return None
    try:
        return response.json()
    except ValueError:
        return None


NOT_SHOWN = "the reason is not shown, because the address is not the provider's own"


def provider_reason(ctx: BackendContext, text: str) -> str:
    """``text`` parsed from a provider's job object (a failure reason), or - when the
    address was typed by a project member - a sentence saying it is not shown."""
    return NOT_SHOWN if ctx.address_from_project and text else text


def status_line(response) -> str:
    """"HTTP 502 Bad Gateway": the status and its standard phrase (not the server's)."""
    status = int(response.status_code)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP {status}{' ' + phrase if phrase else ''}"

QUOTA_WORDS = ("insufficient_quota", "quota", "credits", "billing", "balance", "exhausted", "payment")


def retry_after_seconds(headers) -> float | None:
    """Retry-After (seconds or HTTP date), or OpenAI's retry-after-ms."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        try:
            from datetime import datetime

            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def error_message(response) -> str:
    """The provider's own sentence from an error answer (JSON ``error.message``, ``detail``,
    ...). Never a raw body: a body that is not JSON (an HTML page, plain text), JSON without
    an error field, or any body from an address that is not the provider's (see the module
    doc) becomes the status line, "HTTP <status> <phrase>"."""
    body = trusted_json(response)
    found: Any = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            found = err.get("message") or err.get("code")
        else:
            for key in ("detail", "error", "message", "failure", "failure_reason"):
                if body.get(key):
                    found = body[key]
                    break
    if isinstance(found, (dict, list)):
        found = json.dumps(found)
    text = " ".join(str(found or "").split())
    return text[:300] if text else status_line(response)


def raise_for_status(response, *, provider: str, lost_on_404: bool = False) -> None:
    """Map an HTTP error to the right ProviderError."""
    status = response.status_code
    if status < 400:
        return
    message = error_message(response)
    text = f"{provider}: {message}"
    if status == 429:
        lowered = message.lower()
        code = ""
        try:
            body = response.json()
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                code = str(body["error"].get("code") or body["error"].get("type") or "")
        except ValueError:
            pass
        if "insufficient_quota" in code or any(w in lowered for w in QUOTA_WORDS):
            raise QuotaExhausted(f"{provider} says the account is out of quota or credits: {message}", status=status)
        raise RateLimited(text, retry_after=retry_after_seconds(response.headers), status=status)
    if status in (401, 403):
        raise AuthError(f"{provider} refused the API key ({status}): {message}", status=status)
    if status == 402:
        raise QuotaExhausted(f"{provider} says the account is out of credits: {message}", status=status)
    if status == 404 and lost_on_404:
        raise JobLost(f"{provider} no longer knows this job: {message}", status=status)
    if status >= 500:
        raise TransientError(text, retry_after=retry_after_seconds(response.headers), status=status)
    raise ProviderError(text, status=status)


def request(ctx, method: str, url: str, *, provider: str, lost_on_404: bool = False, **kwargs: Any):
    import requests

    try:
        response = send(ctx, method, url, provider=provider, **kwargs)
    except requests.RequestException as exc:
        raise TransientError(f"{provider}: could not reach the service ({exc.__class__.__name__}).")
    raise_for_status(response, provider=provider, lost_on_404=lost_on_404)
    return response


def stream_to_file(ctx, url: str, dest: Path, *, headers: dict | None = None, provider: str = "provider") -> Path:
    """Download ``url`` (a link the provider returned: any address, so it is guarded and its
    error bodies are never shown)."""
    import requests

    try:
        with send(ctx, "GET", url, provider=provider, trusted=False, headers=headers or {}, stream=True, timeout=max(ctx.timeout, 60)) as response:
            if response.status_code in (403, 404, 410):
                raise ProviderError(
                    f"The {provider} output link has expired or is gone (HTTP {response.status_code}); generate again.",
                    status=response.status_code,
                )
            raise_for_status(response, provider=provider)
            with open(dest, "wb") as fh:
                for chunk in response.iter_content(1024 * 1024):
                    fh.write(chunk)
    except requests.RequestException as exc:
        raise TransientError(f"{provider}: the download failed ({exc.__class__.__name__}).")
    return dest
