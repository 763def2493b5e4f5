from django.urls import path

from . import views

urlpatterns = [
    path("backends/", views.BackendListView.as_view(), name="backend-list"),
    path("shots/<str:shot_id>/generate/", views.GenerateView.as_view(), name="shot-generate"),
    path("shots/<str:shot_id>/generate/estimate/", views.EstimateView.as_view(), name="shot-generate-estimate"),
    path("generation-jobs/<str:job_id>/", views.JobDetailView.as_view(), name="generation-job-detail"),
    path("generation-jobs/<str:job_id>/cancel/", views.JobCancelView.as_view(), name="generation-job-cancel"),
    path("projects/<str:project_id>/generation-jobs/", views.ProjectJobListView.as_view(), name="project-generation-jobs"),
    path("projects/<str:project_id>/credentials/", views.CredentialListView.as_view(), name="credential-list"),
    path("projects/<str:project_id>/credentials/<str:backend>/", views.CredentialView.as_view(), name="credential-detail"),
    path("projects/<str:project_id>/credentials/<str:backend>/test/", views.CredentialTestView.as_view(), name="credential-test"),
    path("webhooks/<str:backend>/", views.WebhookView.as_view(), name="generation-webhook"),
]
