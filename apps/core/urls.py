from django.urls import path, re_path

from .views import health, spa

urlpatterns = [
    path("healthz", health, name="health"),
    # Browser routes (deep links) all serve the single-page app.
    re_path(r"^(?!api/|admin/|static/|media/|ws/).*$", spa, name="spa"),
]
