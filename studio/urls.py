from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_v1 = [
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.projects.api.urls")),
    path("", include("apps.production.api.urls")),
    path("", include("apps.media.api.urls")),
    path("", include("apps.timeline.api.urls")),
    path("", include("apps.generation.api.urls")),
    path("", include("apps.rendering.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("", include("apps.media.file_urls")),
    path("", include("apps.core.urls")),
]
