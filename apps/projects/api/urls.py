from django.urls import path

from . import views

urlpatterns = [
    path("projects/", views.ProjectListView.as_view(), name="project-list"),
    path("projects/<str:project_id>/", views.ProjectDetailView.as_view(), name="project-detail"),
    path("projects/<str:project_id>/members/", views.MemberListView.as_view(), name="member-list"),
    path("projects/<str:project_id>/members/<str:member_id>/", views.MemberDetailView.as_view(), name="member-detail"),
    path("projects/<str:project_id>/invites/", views.InviteListView.as_view(), name="invite-list"),
    path("projects/<str:project_id>/invites/<str:invite_id>/", views.InviteRevokeView.as_view(), name="invite-revoke"),
    path("projects/<str:project_id>/invitations/", views.ProjectInvitationListView.as_view(), name="invitation-list"),
    path("projects/<str:project_id>/invitations/<str:invitation_id>/", views.ProjectInvitationDetailView.as_view(), name="invitation-cancel"),
    path("me/invitations/", views.MyInvitationListView.as_view(), name="my-invitations"),
    path("me/invitations/<str:invitation_id>/accept/", views.MyInvitationAcceptView.as_view(), name="my-invitation-accept"),
    path("me/invitations/<str:invitation_id>/decline/", views.MyInvitationDeclineView.as_view(), name="my-invitation-decline"),
    path("invites/<str:token>/", views.InvitePeekView.as_view(), name="invite-peek"),
    path("invites/<str:token>/accept/", views.InviteAcceptView.as_view(), name="invite-accept"),
    path("projects/<str:project_id>/references/", views.ReferenceListView.as_view(), name="reference-list"),
    path("projects/<str:project_id>/references/<str:reference_id>/", views.ReferenceDetailView.as_view(), name="reference-detail"),
    path("projects/<str:project_id>/budget/", views.BudgetView.as_view(), name="budget"),
    path("projects/<str:project_id>/activity/", views.ActivityView.as_view(), name="activity"),
]
