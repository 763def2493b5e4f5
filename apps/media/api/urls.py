from django.urls import path

from . import views

urlpatterns = [
    path("uploads/", views.UploadCreateView.as_view(), name="media-upload-create"),
    path("uploads/<str:upload_id>/", views.UploadDetailView.as_view(), name="media-upload-detail"),
    path("uploads/<str:upload_id>/data/", views.UploadDataView.as_view(), name="media-upload-data"),
    path("uploads/<str:upload_id>/complete/", views.UploadCompleteView.as_view(), name="media-upload-complete"),
    path("media/<str:media_id>/", views.MediaDetailView.as_view(), name="media-detail"),
]
