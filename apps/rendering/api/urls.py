from django.urls import path

from . import views

urlpatterns = [
    path("projects/<str:project_id>/exports/", views.ProjectExportsView.as_view(), name="project-exports"),
    path("exports/<str:export_id>/", views.ExportDetailView.as_view(), name="export-detail"),
    path("exports/<str:export_id>/cancel/", views.ExportCancelView.as_view(), name="export-cancel"),
]
