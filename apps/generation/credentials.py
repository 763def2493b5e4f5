"""Provider API keys per project: encrypted at rest (Fernet), write-only in the API.

The key that encrypts them is ``MONTAGE_CREDENTIALS_KEY`` (a Fernet key: 32 url-safe
base64 bytes; any other string is stretched into one) or, when unset, one derived from
``SECRET_KEY``. Changing either makes stored keys unreadable: they must be entered again.

Nothing here puts a key into an exception message, a log line or a job error: callers
that handle provider messages pass them through :func:`scrub` first.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from apps.core.errors import NotFound, ValidationError
from apps.projects.access import Access
from apps.projects.models import Role

from .models import Credential

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 4096
MAX_CONFIG_BYTES = 256 * 1024  # a ComfyUI workflow graph fits comfortably


class CredentialUnreadable(Exception):
    """A stored key cannot be decrypted (the encryption key changed). Carries no secret."""


# --- encryption ----------------------------------------------------------------------------


def _fernet_key() -> bytes:
    configured = (getattr(settings, "MONTAGE_CREDENTIALS_KEY", "") or "").strip()
    if configured:
        raw = configured.encode()
        try:
            if len(base64.urlsafe_b64decode(raw)) == 32:
                return raw
        except (ValueError, TypeError):
            pass
        # Not a Fernet key: stretch whatever was given into one (deterministically).
        return base64.urlsafe_b64encode(hashlib.sha256(b"montage-credentials-key:" + raw).digest())
    secret = str(settings.SECRET_KEY).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(b"montage-credentials-from-secret-key:" + secret).digest())


_cache: dict[bytes, Any] = {}


def _fernet():
    from cryptography.fernet import Fernet

    key = _fernet_key()
    f = _cache.get(key)
    if f is None:
        f = _cache[key] = Fernet(key)
    return f


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError, TypeError):
        raise CredentialUnreadable("A stored API key could not be decrypted (the encryption key changed?).") from None


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with every secret (and its URL-encoded form) replaced by ``[redacted]``."""
    from urllib.parse import quote

    out = str(text or "")
    for secret in secrets:
        if not secret or len(secret) < 4:
            continue
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            out = out.replace(form, "[redacted]")
    return out


def hint_for(api_key: str) -> str:
    return api_key[-4:] if len(api_key) >= 8 else ""


# --- reads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectCredential:
    """What a worker needs from a project's credential for one backend."""

    api_key: str
    config: dict[str, Any]
    exists: bool

    @property
    def fingerprint(self) -> str:
        """Stable, non-reversible id of the account (for rate-limit slots)."""
        if not self.api_key:
            return "nokey"
        return hashlib.sha256(b"montage-slot:" + self.api_key.encode()).hexdigest()[:16]


def credential_get(project, backend: str) -> Credential | None:
    return Credential.objects.filter(project=project, backend=backend).first()


def credential_load(project, backend: str) -> ProjectCredential:
    """Decrypted key and config of ``project`` for ``backend`` (empty when none is set).
    Raises CredentialUnreadable when the stored key cannot be decrypted."""
    cred = credential_get(project, backend)
    if cred is None:
        return ProjectCredential(api_key="", config={}, exists=False)
    key = decrypt(cred.encrypted) if cred.encrypted else ""
    return ProjectCredential(api_key=key, config=dict(cred.config or {}), exists=True)


def credential_get_key(project, backend: str) -> str | None:
    """The decrypted API key of ``project`` for ``backend``, or None when none is set (or it
    can no longer be decrypted)."""
    cred = credential_get(project, backend)
    if cred is None or not cred.encrypted:
        return None
    try:
        return decrypt(cred.encrypted) or None
    except CredentialUnreadable:
        logger.warning("credential for %s in project %s cannot be decrypted", backend, project.pk)
        return None


def credential_configured(project, backend) -> bool:
    """Has ``project`` what ``backend`` needs to run (a key, when it needs one)?"""
    if not getattr(backend, "needs_credentials", True):
        return True
    return credential_get_key(project, backend.name) is not None


def credential_data(*, project, backend: str, credential: Credential | None = None) -> dict[str, Any]:
    """The API shape: never the key."""
    cred = credential if credential is not None else credential_get(project, backend)
    if cred is None:
        return {"backend": backend, "configured": False, "hint": "", "config": {}, "updated_at": None, "updated_by": None}
    user = cred.updated_by
    return {
        "backend": backend,
        "configured": bool(cred.encrypted),
        "hint": cred.hint,
        "config": public_config(cred.config),
        "updated_at": cred.updated_at,
        "updated_by": {"id": user.pk, "username": user.get_username()} if user else None,
    }


SECRET_CONFIG_KEYS = ("webhook_secret",)


def public_config(config: dict[str, Any] | None) -> dict[str, Any]:
    """Config as shown in the API: secrets in it (the webhook secret) only say they are set."""
    out = dict(config or {})
    for name in SECRET_CONFIG_KEYS:
        if out.get(name):
            out[name] = "(set)"
    return out


# --- writes --------------------------------------------------------------------------------


def _require_backend(backend: str):
    from .registry import get_backend

    found = get_backend(backend)
    if found is None:
        raise NotFound(f"There is no generation backend called {backend!r}.")
    return found


def _clean_config(config: Any) -> dict[str, Any]:
    import json

    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ValidationError("config must be an object of settings.", fields={"config": ["Must be a JSON object."]})
    if len(json.dumps(config)) > MAX_CONFIG_BYTES:
        raise ValidationError("config is too large.", fields={"config": [f"At most {MAX_CONFIG_BYTES // 1024} KB."]})
    for name in config:
        lowered = str(name).lower()
        if lowered in ("api_key", "apikey", "key", "token", "secret", "password") and lowered != "webhook_secret":
            raise ValidationError(
                "Put the API key in api_key, not in config (config is shown to every member).",
                fields={"config": [f"{name!r} looks like a secret."]},
            )
    return config


def require_manager(access: Access) -> None:
    access.require(Role.DIRECTOR, Role.PRODUCER, action="manage provider keys")


def credential_set(
    *, access: Access, backend: str, api_key: str | None = None, config: dict[str, Any] | None = None
) -> Credential:
    """Set (or replace) the API key and/or settings of ``backend`` for the project.

    ``api_key`` None keeps the stored key; ``""`` removes it. ``config`` None keeps the stored
    settings. Directors and producers only."""
    require_manager(access)
    found = _require_backend(backend)
    if api_key is not None:
        if not isinstance(api_key, str):
            raise ValidationError("api_key must be text.", fields={"api_key": ["Must be a string."]})
        api_key = api_key.strip()
        if len(api_key) > MAX_KEY_LENGTH:
            raise ValidationError("This API key is too long.", fields={"api_key": [f"At most {MAX_KEY_LENGTH} characters."]})
        if any(ch.isspace() for ch in api_key):
            raise ValidationError("An API key has no spaces or line breaks.", fields={"api_key": ["Contains whitespace."]})
    config = _clean_config(config) if config is not None else None
    if config is not None:
        errors = found.config_errors(config)
        if errors:
            first = next(iter(errors.values()))
            raise ValidationError(first, fields={name: [message] for name, message in errors.items()})
    with transaction.atomic():
        cred = Credential.objects.select_for_update().filter(project=access.project, backend=backend).first()
        if cred is None:
            cred = Credential(project=access.project, backend=backend, encrypted="", hint="", config={})
        if config is not None:
            for name in SECRET_CONFIG_KEYS:  # "(set)" sent back unchanged keeps the stored secret
                if config.get(name) == "(set)":
                    config[name] = (cred.config or {}).get(name, "")
        if api_key is not None:
            cred.encrypted = encrypt(api_key) if api_key else ""
            cred.hint = hint_for(api_key) if api_key else ""
        if config is not None:
            cred.config = config
        cred.updated_by = access.user
        cred.save()
        from apps.projects.events import record_event

        record_event(
            project=access.project, actor=access.user, type="credential.updated",
            data={"backend": backend, "configured": bool(cred.encrypted), "hint": cred.hint},
        )
    logger.info("provider settings for %s changed in project %s by %s", backend, access.project.pk, access.user.pk)
    return cred


def credential_delete(*, access: Access, backend: str) -> None:
    access.require(Role.DIRECTOR, Role.PRODUCER, action="manage provider keys")
    _require_backend(backend)
    with transaction.atomic():
        deleted, _ = Credential.objects.filter(project=access.project, backend=backend).delete()
        if deleted:
            from apps.projects.events import record_event

            record_event(
                project=access.project, actor=access.user, type="credential.updated",
                data={"backend": backend, "configured": False, "hint": ""},
            )
