"""Signed, expiring URLs for local media files (``/media/<key>?p=…&e=…&s=…``), like S3's
presigned URLs, so a file is only ever served to members of the project it belongs to.

A URL carries, under an HMAC-SHA256 keyed from ``SECRET_KEY`` (``SECRET_KEY_FALLBACKS`` are
accepted while verifying, so rotating the key does not break links at once):

- ``e``: when it expires (Unix seconds). The expiry is rounded up to a time step of a
  quarter of ``MONTAGE_MEDIA_URL_TTL_SECONDS``, so the same file gets the same URL for a
  while (players do not reload on every refetch) and a URL lives between the TTL and 1¼ TTL.
- ``p``: the project the file belongs to. The person fetching (session cookie, or an API
  token in the ``Authorization`` header) must be a member of it *at the time of the request*:
  a removed member's links die at once, and an outsider holding a member's link gets 403.
- ``u`` (instead of, or with, ``p``): a link for one user that needs no session, for files
  opened outside the browser (the media references of an exported ``.otio``/EDL) and a user's
  own upload that no project holds yet. It works while that user is active and, with ``p``,
  still a member of the project.

``media_url_path`` signs; ``verify`` checks signature and expiry; ``may_read`` checks who may
read at request time.
"""

from __future__ import annotations

import base64
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.crypto import salted_hmac
from django.utils.encoding import filepath_to_uri

from apps.projects.models import Membership

_SALT = "montage.media.url"
MIN_TTL = 60


class LinkRefused(Exception):
    """The URL is unsigned, tampered with or expired; ``str(exc)`` is the sentence to show."""


@dataclass(frozen=True)
class Grant:
    key: str
    expires: int
    project_id: str
    user_id: str


def now() -> int:
    """The clock links are signed and checked with (tests move it)."""
    return int(time.time())


def ttl_seconds() -> int:
    return max(MIN_TTL, int(getattr(settings, "MONTAGE_MEDIA_URL_TTL_SECONDS", 6 * 3600)))


def export_link_seconds() -> int:
    """Lifetime of the media links written into exported timelines (an editor opens them
    days later): ``MONTAGE_EXPORT_LINK_DAYS``."""
    return max(1, int(getattr(settings, "MONTAGE_EXPORT_LINK_DAYS", 30))) * 86400


def expiry(ttl: int | None = None, *, at: int | None = None) -> int:
    """An expiry at least ``ttl`` from now, rounded up to a step of ``ttl / 4``."""
    ttl = max(MIN_TTL, int(ttl or ttl_seconds()))
    step = max(1, ttl // 4)
    t = now() if at is None else int(at)
    return (t // step) * step + ttl + step


def _secrets() -> list[str]:
    return [settings.SECRET_KEY, *list(getattr(settings, "SECRET_KEY_FALLBACKS", []) or [])]


def _mac(key: str, expires: int, project_id: str, user_id: str, secret: str) -> str:
    message = f"{key}\n{expires}\n{project_id}\n{user_id}"
    digest = salted_hmac(_SALT, message, secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:24]).decode("ascii")


def sign_params(key: str, *, project_id: Any = None, user_id: Any = None, ttl: int | None = None) -> dict[str, str]:
    """The query parameters that make ``key`` readable (see the module docstring)."""
    p = str(project_id) if project_id else ""
    u = str(user_id) if user_id not in (None, "") else ""
    e = expiry(ttl)
    params = {"e": str(e)}
    if p:
        params["p"] = p
    if u:
        params["u"] = u
    params["s"] = _mac(key, e, p, u, settings.SECRET_KEY)
    return params


def media_url_path(key: str, *, project_id: Any = None, user_id: Any = None, ttl: int | None = None) -> str:
    """``MEDIA_URL`` + key + signed query (no host: see apps.media.selectors.media_url)."""
    params = sign_params(key, project_id=project_id, user_id=user_id, ttl=ttl)
    return f"{settings.MEDIA_URL}{filepath_to_uri(key).lstrip('/')}?{urlencode(params)}"


def verify(key: str, query: Any) -> Grant:
    """The grant of a request's query parameters for ``key``; LinkRefused when the URL is not
    signed, was changed, or has expired."""
    sig = str(query.get("s") or "")
    raw_exp = str(query.get("e") or "")
    p = str(query.get("p") or "")
    u = str(query.get("u") or "")
    if not sig or not raw_exp:
        raise LinkRefused("This file needs a signed link; open it from the studio.")
    if not raw_exp.isdigit() or len(raw_exp) > 12 or len(p) > 64 or len(u) > 64:
        raise LinkRefused("This link is not valid.")
    expires = int(raw_exp)
    if not any(hmac.compare_digest(_mac(key, expires, p, u, secret), sig) for secret in _secrets()):
        raise LinkRefused("This link is not valid.")
    if expires <= now():
        raise LinkRefused("This link has expired; reload the page for a new one.")
    return Grant(key=key, expires=expires, project_id=p, user_id=u)


def _member(project_id: str, user_id: Any) -> bool:
    try:
        pk = uuid.UUID(project_id)
    except ValueError:
        return False
    return Membership.objects.filter(project_id=pk, user_id=user_id).exists()


def may_read(grant: Grant, request_user) -> bool:
    """Whether the file may be served now: the grant's user (active, still a member when a
    project is named), or else the signed-in requester as a member of the grant's project."""
    if grant.user_id:
        try:
            user = get_user_model()._default_manager.filter(pk=grant.user_id, is_active=True).first()
        except (TypeError, ValueError):  # not an id of this user model
            user = None
        if user is None:
            return False
        return not grant.project_id or _member(grant.project_id, user.pk)
    if not grant.project_id or request_user is None or not getattr(request_user, "is_authenticated", False):
        return False
    return bool(request_user.is_active) and _member(grant.project_id, request_user.pk)
