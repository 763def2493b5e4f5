from django.urls import path

from . import views

urlpatterns = [
    path("projects/<str:project_id>/timeline/", views.TimelineView.as_view(), name="timeline"),
    path("projects/<str:project_id>/timeline/comments/", views.TimelineCommentsView.as_view(), name="timeline-comments"),
    path(
        "projects/<str:project_id>/timeline/audio-sources/", views.TimelineAudioSourcesView.as_view(), name="timeline-audio-sources"
    ),
]
