"""Local media files under ``/media/`` (Range requests for seeking). See apps.media.views."""

from django.urls import re_path

from .views import serve_media

urlpatterns = [
    re_path(r"^media/(?P<path>.+)$", serve_media, name="media-file"),
]
