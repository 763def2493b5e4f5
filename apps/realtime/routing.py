from django.urls import path, re_path

from .consumers import NotFoundConsumer, ProjectConsumer

websocket_urlpatterns = [
    path("ws/projects/<uuid:project_id>/", ProjectConsumer.as_asgi()),
    re_path(r"", NotFoundConsumer.as_asgi()),
]
