"""Websocket authentication: the Django session cookie, or ``?token=<key>`` (DRF token).

The session wins when both are present (same order as the REST API's authentication
classes). An unknown token or an inactive user leaves ``scope["user"]`` anonymous; the
consumer then refuses the socket with 4401.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware

MAX_TOKEN_LENGTH = 128


def token_from_scope(scope) -> str | None:
    query = scope.get("query_string", b"")
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    values = parse_qs(query).get("token")
    if not values:
        return None
    key = values[-1].strip()
    return key if 0 < len(key) <= MAX_TOKEN_LENGTH else None


@database_sync_to_async
def user_for_token(key: str):
    """The active user owning the DRF token ``key``, or None."""
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


class TokenAuthMiddleware(BaseMiddleware):
    """Sets ``scope["user"]`` from ``?token=`` unless a session already authenticated it.

    Must sit inside channels' ``AuthMiddleware`` (which resolves the session user first).
    """

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            key = token_from_scope(scope)
            if key is not None:
                token_user = await user_for_token(key)
                if token_user is not None:
                    scope = dict(scope, user=token_user)
        return await super().__call__(scope, receive, send)


def ProjectAuthMiddlewareStack(inner):
    """Cookies → session → session user → token user → ``inner``."""
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))


__all__ = [
    "ProjectAuthMiddlewareStack",
    "TokenAuthMiddleware",
    "token_from_scope",
    "user_for_token",
]
