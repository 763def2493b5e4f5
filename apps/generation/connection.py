"""The "Test connection" button of a provider's settings: one cheap call with the project's
stored key and settings, answered as ``{ok, detail, info}`` (``detail`` is a sentence for
people; never the key, never a raw provider body)."""

from __future__ import annotations

import logging
from typing import Any

from apps.core.errors import NotFound
from apps.projects.access import Access

from .credentials import CredentialUnreadable, credential_load, require_manager, scrub
from .planning import backend_context
from .registry import get_backend

logger = logging.getLogger(__name__)


def credential_test(*, access: Access, backend: str) -> dict[str, Any]:
    """Call ``backend`` with the project's settings (director or producer)."""
    require_manager(access)
    found = get_backend(backend)
    if found is None:
        raise NotFound(f"There is no generation backend called {backend!r}.")
    title = found.title or found.name
    ok, reason = found.available()
    if not ok:
        return {"ok": False, "detail": f"{title} is not available on this server: {reason}", "info": {}}
    if found.is_local:
        return {"ok": True, "detail": f"{title} runs on this server; there is nothing to connect to.", "info": {"local": True}}
    try:
        cred = credential_load(access.project, found.name)
    except CredentialUnreadable:
        return {"ok": False, "detail": f"The stored key for {title} can no longer be read; enter it again.", "info": {}}
    if found.needs_credentials and not cred.api_key:
        return {"ok": False, "detail": f"No API key is stored for {title} in this project.", "info": {}}
    ctx = backend_context(found, cred)
    try:
        result = found.test_connection(ctx)
    except Exception as exc:  # noqa: BLE001 - an adapter bug: say so, never a traceback
        logger.warning("connection test of %s failed: %s", found.name, scrub(str(exc), cred.api_key))
        result = {"ok": False, "detail": f"The test of {title} could not run ({exc.__class__.__name__}).", "info": {}}
    return {
        "ok": bool(result.get("ok")),
        "detail": scrub(str(result.get("detail") or ""), cred.api_key)[:600],
        "info": result.get("info") if isinstance(result.get("info"), dict) else {},
    }
