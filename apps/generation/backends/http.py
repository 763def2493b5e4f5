"""HTTP helpers for adapters: one place that turns status codes into ProviderErrors."""

from __future__ import annotations

import json
from datetime import UTC
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from .base import AuthError, JobLost, ProviderError, QuotaExhausted, RateLimited, TransientError

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
    ...). Never a raw body: an HTML error page (a proxy's 502) or anything that is not one
    short line of text becomes "HTTP <status> <reason>"."""
    try:
        body = response.json()
    except ValueError:
        text = (response.text or "").strip()
        plain = text and "<" not in text[:200] and "\n" not in text and len(text) <= 300
        reason = str(getattr(response, "reason", "") or "").strip()
        return text if plain else f"HTTP {response.status_code}{' ' + reason if reason else ''}"
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err.get("code") or err)
        for key in ("detail", "error", "message", "failure", "failure_reason"):
            if body.get(key):
                value = body[key]
                return value if isinstance(value, str) else json.dumps(value)[:300]
    return json.dumps(body)[:300]


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

    kwargs.setdefault("timeout", ctx.timeout)
    try:
        response = requests.request(method, url, **kwargs)
    except requests.RequestException as exc:
        raise TransientError(f"{provider}: could not reach the service ({exc.__class__.__name__}).")
    raise_for_status(response, provider=provider, lost_on_404=lost_on_404)
    return response


def stream_to_file(ctx, url: str, dest: Path, *, headers: dict | None = None, provider: str = "provider") -> Path:
    import requests

    try:
        with requests.get(url, headers=headers or {}, stream=True, timeout=max(ctx.timeout, 60)) as response:
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
