"""Provider API keys per project: encrypted at rest (Fernet), write-only in the API.

The keys that encrypt them are ``MONTAGE_CREDENTIALS_KEY``: Fernet keys (32 url-safe base64
bytes; any other string is stretched into one), comma-separated, newest first. The newest
encrypts, every one decrypts (cryptography's MultiFernet), so a key is rotated by putting a
new one in front and running ``manage.py rotate_credentials_key``. Unset, a key derived from
``SECRET_KEY`` encrypts (with a warning). Keys derived from ``SECRET_KEY`` and from the public
development default are always accepted for reading, so that stores made that way stay
readable until they are rotated. Removing a key that still encrypts stored rows makes those
rows unreadable: they must be entered again.

Secret settings in a credential's ``config`` (the webhook signing secret, anything named like
a token or password) are encrypted the same way (:func:`join_config`), never stored as text.

The last characters of a key (``hint``) are for directors and producers only: they are in
the credentials API (managers only) and never in events or the activity feed.

Nothing here puts a key into an exception message, a log line or a job error: callers
that handle provider messages pass them through :func:`scrub` first.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from apps.core.errors import NotFound, ValidationError
from apps.core.netguard import address_error
from apps.projects.access import Access
from apps.projects.models import Role

from .models import Credential

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 4096
MAX_CONFIG_BYTES = 256 * 1024  # a ComfyUI workflow graph fits comfortably


class CredentialUnreadable(Exception):
    """A stored key cannot be decrypted (the encryption key changed). Carries no secret."""


# --- encryption ----------------------------------------------------------------------------

# The SECRET_KEY in the source tree (studio/settings/base.py): stores made before the
# credentials key was its own setting were encrypted with a key derived from it. Accepted for
# reading only (anyone can derive it), so `rotate_credentials_key` can move them to a real key.
_PUBLIC_DEVELOPMENT_SECRET_KEY = "montage-insecure-development-key-change-me-0123456789abcdef"


def _as_fernet_key(value: str) -> bytes:
    raw = value.encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except (ValueError, TypeError):
        pass
    # Not a Fernet key: stretch whatever was given into one (deterministically).
    return base64.urlsafe_b64encode(hashlib.sha256(b"montage-credentials-key:" + raw).digest())


def _derived_from_secret_key(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(b"montage-credentials-from-secret-key:" + secret.encode()).digest())


def configured_keys() -> list[str]:
    """MONTAGE_CREDENTIALS_KEY as a list, newest first (comma-separated)."""
    return [part.strip() for part in str(getattr(settings, "MONTAGE_CREDENTIALS_KEY", "") or "").split(",") if part.strip()]


def _fernet_keys() -> tuple[bytes, ...]:
    """Every key that may decrypt, the one that encrypts first."""
    keys = [_as_fernet_key(k) for k in configured_keys()]
    if not keys:
        _warn_derived_key()
    for secret in (str(settings.SECRET_KEY), _PUBLIC_DEVELOPMENT_SECRET_KEY):
        keys.append(_derived_from_secret_key(secret))
    return tuple(dict.fromkeys(keys))


_warned = False


def _warn_derived_key() -> None:
    global _warned
    if not _warned:
        _warned = True
        logger.warning(
            "MONTAGE_CREDENTIALS_KEY is not set: provider keys are encrypted with a key derived from SECRET_KEY, "
            "so changing SECRET_KEY makes them unreadable. Set MONTAGE_CREDENTIALS_KEY (README: Production)."
        )


_cache: dict[tuple[bytes, ...], Any] = {}


def _fernet():
    """A MultiFernet: encrypts with the newest key, decrypts with any."""
    from cryptography.fernet import Fernet, MultiFernet

    keys = _fernet_keys()
    f = _cache.get(keys)
    if f is None:
        f = _cache[keys] = MultiFernet([Fernet(k) for k in keys])
    return f


def _newest_fernet():
    from cryptography.fernet import Fernet

    return Fernet(_fernet_keys()[0])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError, TypeError):
        raise CredentialUnreadable("A stored API key could not be decrypted (the encryption key changed?).") from None


def uses_newest_key(token: str) -> bool:
    from cryptography.fernet import InvalidToken

    try:
        _newest_fernet().decrypt(token.encode("ascii"))
    except (InvalidToken, ValueError, TypeError):
        return False
    return True


def reencrypt(token: str) -> str:
    """``token`` encrypted with the newest key (CredentialUnreadable when no key reads it)."""
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError, TypeError):
        raise CredentialUnreadable("A stored API key could not be decrypted (the encryption key changed?).") from None


# --- secrets in config ---------------------------------------------------------------------

# Secret settings (the webhook signing secret, any *_token, *_password, ...) are kept
# encrypted together under this config key, never as plain text in the row; the API and the
# admin show only that they are set.
ENCRYPTED_CONFIG_KEY = "_encrypted"
SECRET_SET = "(set)"
_SECRET_WORDS = {"secret", "password", "passwd", "passphrase", "token", "key", "apikey", "credential", "credentials"}


def is_secret_config_key(name: str) -> bool:
    words = re.split(r"[^a-z0-9]+", str(name).lower())
    return any(word in _SECRET_WORDS for word in words) or str(name).lower().endswith("apikey")


def split_config(stored: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain settings, decrypted secrets) of a stored config. Secrets kept as plain text by
    older versions are returned as secrets too (``rotate_credentials_key`` encrypts them)."""
    plain = dict(stored or {})
    token = plain.pop(ENCRYPTED_CONFIG_KEY, None)
    secrets_: dict[str, Any] = {}
    if token:
        secrets_ = json.loads(decrypt(str(token)))
    for name in [n for n in plain if is_secret_config_key(n)]:
        secrets_.setdefault(name, plain.pop(name))
    return plain, secrets_


def join_config(plain: dict[str, Any], secrets_: dict[str, Any]) -> dict[str, Any]:
    """The stored form: plain settings, and the secrets encrypted under ENCRYPTED_CONFIG_KEY."""
    out = {k: v for k, v in plain.items() if k != ENCRYPTED_CONFIG_KEY and not is_secret_config_key(k)}
    kept = {k: v for k, v in secrets_.items() if v not in (None, "")}
    if kept:
        out[ENCRYPTED_CONFIG_KEY] = encrypt(json.dumps(kept, sort_keys=True))
    return out


def plain_config(stored: dict[str, Any] | None) -> dict[str, Any]:
    """The non-secret settings only (no decryption needed)."""
    return {k: v for k, v in (stored or {}).items() if k != ENCRYPTED_CONFIG_KEY and not is_secret_config_key(k)}


def secret_names(stored: dict[str, Any] | None) -> list[str]:
    """Names of the secrets set in a stored config (empty when they cannot be decrypted)."""
    try:
        return sorted(split_config(stored)[1])
    except CredentialUnreadable:
        return []


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
    plain, secrets_ = split_config(cred.config)
    return ProjectCredential(api_key=key, config={**plain, **secrets_}, exists=True)


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


def public_config(config: dict[str, Any] | None) -> dict[str, Any]:
    """Config as shown in the API: secrets in it (the webhook secret) only say they are set."""
    out = plain_config(config)
    for name in secret_names(config):
        out[name] = SECRET_SET
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


ADDRESS_CONFIG_KEYS = {"base_url": "base URL", "host": "host"}


def _address_errors(config: dict[str, Any]) -> dict[str, str]:
    """A base_url/host a worker would refuse to call (loopback, private, link-local, ...)."""
    errors: dict[str, str] = {}
    for name, label in ADDRESS_CONFIG_KEYS.items():
        problem = address_error(str(config.get(name) or ""), field=label) if config.get(name) else ""
        if problem:
            errors[name] = problem
    return errors


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
        errors = {**found.config_errors(config), **_address_errors(config)}
        if errors:
            first = next(iter(errors.values()))
            raise ValidationError(first, fields={name: [message] for name, message in errors.items()})
    with transaction.atomic():
        cred = Credential.objects.select_for_update().filter(project=access.project, backend=backend).first()
        if cred is None:
            cred = Credential(project=access.project, backend=backend, encrypted="", hint="", config={})
        if config is not None:
            try:
                _, stored_secrets = split_config(cred.config)
            except CredentialUnreadable:
                stored_secrets = {}
            secrets_ = {}
            for name in [n for n in config if is_secret_config_key(n)]:
                value = config.pop(name)
                # "(set)" sent back unchanged keeps the stored secret
                secrets_[name] = stored_secrets.get(name, "") if value == SECRET_SET else value
            cred.config = join_config(config, secrets_)
        if api_key is not None:
            cred.encrypted = encrypt(api_key) if api_key else ""
            cred.hint = hint_for(api_key) if api_key else ""
        cred.updated_by = access.user
        cred.save()
        from apps.projects.events import record_event

        record_event(
            project=access.project, actor=access.user, type="credential.updated",
            # No hint: every member gets this event (the settings page refetches the key list).
            data={"backend": backend, "configured": bool(cred.encrypted)},
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
                data={"backend": backend, "configured": False},
            )


# --- key rotation --------------------------------------------------------------------------


@dataclass
class RotationReport:
    rotated: int = 0  # re-encrypted with the newest key (or secrets moved out of plain text)
    current: int = 0  # already used it: nothing written
    unreadable: int = 0  # no configured key reads them: their keys must be entered again
    unreadable_rows: list[str] | None = None


def credentials_rotate(*, old_secret_keys: list[str] | None = None) -> RotationReport:
    """Re-encrypt every stored API key and config secret with the newest credentials key.

    Idempotent: a row that already uses the newest key is not written. ``old_secret_keys``:
    former SECRET_KEY values whose derived keys may have encrypted old rows."""
    from cryptography.fernet import Fernet, InvalidToken, MultiFernet

    keys = list(_fernet_keys()) + [_derived_from_secret_key(k) for k in (old_secret_keys or []) if k]
    reader = MultiFernet([Fernet(k) for k in dict.fromkeys(keys)])
    newest = Fernet(keys[0])

    def _current(token: str) -> bool:
        try:
            newest.decrypt(token.encode("ascii"))
        except (InvalidToken, ValueError, TypeError):
            return False
        return True

    report = RotationReport(unreadable_rows=[])
    for pk in Credential.objects.order_by("created_at").values_list("pk", flat=True):
        with transaction.atomic():
            cred = Credential.objects.select_for_update().get(pk=pk)
            config = dict(cred.config or {})
            token = config.get(ENCRYPTED_CONFIG_KEY)
            plain_secrets = [n for n in config if n != ENCRYPTED_CONFIG_KEY and is_secret_config_key(n)]
            if (not cred.encrypted or _current(cred.encrypted)) and (not token or _current(str(token))) and not plain_secrets:
                report.current += 1
                continue
            try:
                encrypted = reader.rotate(cred.encrypted.encode("ascii")).decode("ascii") if cred.encrypted else ""
                secrets_ = json.loads(reader.decrypt(str(token).encode("ascii"))) if token else {}
            except (InvalidToken, ValueError, TypeError):
                report.unreadable += 1
                report.unreadable_rows.append(f"{cred.project_id}/{cred.backend}")
                continue
            for name in plain_secrets:
                secrets_.setdefault(name, config.pop(name))
            config.pop(ENCRYPTED_CONFIG_KEY, None)
            cred.encrypted = encrypted
            cred.config = join_config(config, secrets_)
            cred.save(update_fields=["encrypted", "config", "updated_at"])
            report.rotated += 1
    return report
