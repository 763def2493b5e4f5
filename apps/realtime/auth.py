from channels.auth import AuthMiddlewareStack as ProjectAuthMiddlewareStack  # replaced by the realtime work

__all__ = ["ProjectAuthMiddlewareStack"]
