import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings.local")
# Set up Django (apps registry, settings) before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import OriginValidator
from django.conf import settings

from apps.media.asgi import UploadBodyLimit
from apps.realtime.auth import ProjectAuthMiddlewareStack
from apps.realtime.routing import websocket_urlpatterns


class BrowserOriginValidator(OriginValidator):
    """Browsers always send Origin: it must be one of ALLOWED_HOSTS, which keeps other
    sites from opening sockets with a member's session cookie. Scripts (token auth) send
    no Origin at all and are let through; they authenticate with ``?token=``."""

    def valid_origin(self, parsed_origin):
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)


def _origin_validator(app):
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(app, hosts)


from studio.runtime import tune_gc  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": UploadBodyLimit(django_asgi_app),  # refuses upload bodies past their declared size
        "websocket": _origin_validator(
            ProjectAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

tune_gc()
