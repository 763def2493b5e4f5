from django.db.models import Count
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import NotFound
from apps.core.throttling import InviteAcceptThrottle
from apps.projects import selectors, services
from apps.projects.access import project_access
from apps.projects.models import Invitation, Membership, Project, Reference

from . import serializers as s


def _uuid_or_404(value, what: str):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"No such {what}.")


class ProjectListView(APIView):
    @extend_schema(operation_id="projects_list", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        roles = dict(Membership.objects.filter(user=request.user).values_list("project_id", "role"))
        return Response([s.project_out(p, role=roles.get(p.pk)) for p in selectors.project_list(user=request.user)])

    @extend_schema(request=s.ProjectCreateIn, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        data = s.ProjectCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.project_create(actor=request.user, **data.validated_data)
        return Response(s.project_out(project, role="director"), status=status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    def _get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        project = Project.objects.annotate(
            member_count=Count("memberships", distinct=True), segment_count=Count("segments", distinct=True)
        ).get(pk=access.project.pk)
        return access, project

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id):
        access, project = self._get(request, project_id)
        return Response(s.project_out(project, role=access.role))

    @extend_schema(request=s.ProjectUpdateIn, responses={200: OpenApiTypes.OBJECT})
    def patch(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        data = s.ProjectUpdateIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.project_update(access=access, **data.validated_data)
        access, project = self._get(request, project_id)
        return Response(s.project_out(project, role=access.role))


class MemberListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        return Response([s.member_out(m) for m in selectors.membership_list(access=access)])

    @extend_schema(request=s.MemberIn, responses={202: OpenApiTypes.OBJECT})
    def post(self, request, project_id):
        """Invite someone by username. The answer is the same whether or not the name exists."""
        access = project_access(user=request.user, project_id=project_id)
        data = s.MemberIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.member_invite(access=access, **data.validated_data)
        name, role = data.validated_data["username"].strip(), data.validated_data["role"]
        return Response(
            {
                "detail": f"If someone is called {name}, they are invited as {role}; they join when they accept.",
                "username": name,
                "role": role,
            },
            status=status.HTTP_202_ACCEPTED,
        )


class ProjectInvitationListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        access.require("director", "producer", action="see pending invitations")
        return Response([s.invitation_out(i) for i in selectors.invitation_list(access=access)])


class ProjectInvitationDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, project_id, invitation_id):
        access = project_access(user=request.user, project_id=project_id)
        invitation = Invitation.objects.filter(pk=_uuid_or_404(invitation_id, "invitation"), project=access.project).first()
        if invitation is None:
            raise NotFound("No such invitation.")
        services.invitation_cancel(access=access, invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyInvitationListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response([s.my_invitation_out(i) for i in selectors.my_invitations(user=request.user)])


class MyInvitationAcceptView(APIView):
    throttle_classes = [InviteAcceptThrottle]

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, invitation_id):
        membership = services.invitation_accept(user=request.user, invitation_id=_uuid_or_404(invitation_id, "invitation"))
        return Response({**s.member_out(membership), "project": s.project_out(membership.project, role=membership.role)})


class MyInvitationDeclineView(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request, invitation_id):
        services.invitation_decline(user=request.user, invitation_id=_uuid_or_404(invitation_id, "invitation"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberDetailView(APIView):
    def _get(self, request, project_id, member_id):
        access = project_access(user=request.user, project_id=project_id)
        membership = Membership.objects.select_related("user").filter(
            pk=_uuid_or_404(member_id, "member"), project=access.project
        ).first()
        if membership is None:
            raise NotFound("No such member in this project.")
        return access, membership

    @extend_schema(request=s.MemberUpdateIn, responses={200: OpenApiTypes.OBJECT})
    def patch(self, request, project_id, member_id):
        access, membership = self._get(request, project_id, member_id)
        data = s.MemberUpdateIn(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_update(access=access, membership=membership, **data.validated_data)
        return Response(s.member_out(membership))

    @extend_schema(responses={204: None})
    def delete(self, request, project_id, member_id):
        access, membership = self._get(request, project_id, member_id)
        services.membership_remove(access=access, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InviteListView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        access.require("director", "producer", action="see invite links")
        return Response([s.invite_out(i, request) for i in selectors.invite_list(access=access)])

    @extend_schema(request=s.InviteIn, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        data = s.InviteIn(data=request.data)
        data.is_valid(raise_exception=True)
        invite = services.invite_create(access=access, **data.validated_data)
        return Response(s.invite_out(invite, request), status=status.HTTP_201_CREATED)


class InviteRevokeView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, project_id, invite_id):
        from apps.projects.models import Invite

        access = project_access(user=request.user, project_id=project_id)
        invite = Invite.objects.filter(pk=_uuid_or_404(invite_id, "invite"), project=access.project).first()
        if invite is None:
            raise NotFound("No such invite.")
        services.invite_revoke(access=access, invite=invite)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitePeekView(APIView):
    """What an invite is for (shown on the invite page before accepting)."""

    permission_classes = []

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, token):
        from apps.projects.models import Invite

        invite = Invite.objects.select_related("project").filter(token=token, revoked=False).first()
        if invite is None:
            raise NotFound("This invite link is not valid (it may have been revoked).")
        return Response({"project": {"id": str(invite.project.pk), "title": invite.project.title}, "role": invite.role,
                         "expires_at": invite.expires_at})


class InviteAcceptView(APIView):
    throttle_classes = [InviteAcceptThrottle]

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, token):
        membership = services.invite_accept(user=request.user, token=token)
        return Response({**s.member_out(membership), "project": s.project_out(membership.project, role=membership.role)})


class ReferenceListView(APIView):
    @extend_schema(operation_id="projects_references_list", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        return Response([s.reference_out(r, request) for r in selectors.reference_list(access=access)])

    @extend_schema(request=s.ReferenceIn, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        data = s.ReferenceIn(data=request.data)
        data.is_valid(raise_exception=True)
        ref = services.reference_create(access=access, **data.validated_data)
        return Response(s.reference_out(ref, request), status=status.HTTP_201_CREATED)


class ReferenceDetailView(APIView):
    def _get(self, request, project_id, reference_id):
        access = project_access(user=request.user, project_id=project_id)
        ref = Reference.objects.filter(pk=_uuid_or_404(reference_id, "reference"), project=access.project).first()
        if ref is None:
            raise NotFound("No such reference in this project.")
        return access, ref

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id, reference_id):
        _, ref = self._get(request, project_id, reference_id)
        return Response(s.reference_out(ref, request))

    @extend_schema(request=s.ReferenceUpdateIn, responses={200: OpenApiTypes.OBJECT})
    def patch(self, request, project_id, reference_id):
        access, ref = self._get(request, project_id, reference_id)
        data = s.ReferenceUpdateIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        ref = services.reference_update(access=access, reference=ref, **data.validated_data)
        return Response(s.reference_out(ref, request))

    @extend_schema(responses={204: None})
    def delete(self, request, project_id, reference_id):
        access, ref = self._get(request, project_id, reference_id)
        services.reference_delete(access=access, reference=ref)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BudgetView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        budget = selectors.budget_get(access=access)
        return Response(budget)


class ActivityView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        try:
            limit = max(1, min(int(request.query_params.get("limit", 50)), 200))
        except ValueError:
            limit = 50
        return Response([s.activity_out(e) for e in selectors.activity_list(access=access, limit=limit)])
