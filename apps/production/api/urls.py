from django.urls import path

from . import views

urlpatterns = [
    path("projects/<str:project_id>/segments/", views.SegmentListView.as_view(), name="segment-list"),
    path("projects/<str:project_id>/review/", views.ReviewQueueView.as_view(), name="review-queue"),
    path("segments/<str:segment_id>/", views.SegmentDetailView.as_view(), name="segment-detail"),
    path("segments/<str:segment_id>/claim/", views.SegmentClaimView.as_view(), name="segment-claim"),
    path("segments/<str:segment_id>/release/", views.SegmentReleaseView.as_view(), name="segment-release"),
    path("segments/<str:segment_id>/assign/", views.SegmentAssignView.as_view(), name="segment-assign"),
    path("segments/<str:segment_id>/shots/", views.ShotListView.as_view(), name="shot-list"),
    path("shots/<str:shot_id>/", views.ShotDetailView.as_view(), name="shot-detail"),
    path("shots/<str:shot_id>/takes/", views.TakeListView.as_view(), name="take-list"),
    path("takes/<str:take_id>/", views.TakeDetailView.as_view(), name="take-detail"),
    path("takes/<str:take_id>/submit/", views.TakeSubmitView.as_view(), name="take-submit"),
    path("takes/<str:take_id>/approve/", views.TakeApproveView.as_view(), name="take-approve"),
    path("takes/<str:take_id>/request-changes/", views.TakeRequestChangesView.as_view(), name="take-request-changes"),
    path("takes/<str:take_id>/comments/", views.CommentListView.as_view(), name="comment-list"),
]
