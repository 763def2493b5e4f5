from __future__ import annotations

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from .access import Access
from .models import ActivityEvent, Invitation, InvitationState, Invite, Membership, Project, Reference


def project_list(*, user):
    # Counted in subqueries: a join on memberships filtered to this user would count 1.
    members = Membership.objects.filter(project=OuterRef("pk")).values("project").annotate(n=Count("pk")).values("n")
    from apps.production.models import Segment

    segments = Segment.objects.filter(project=OuterRef("pk")).values("project").annotate(n=Count("pk")).values("n")
    return (
        Project.objects.filter(pk__in=Membership.objects.filter(user=user).values("project"))
        .annotate(member_count=Coalesce(Subquery(members), 0), segment_count=Coalesce(Subquery(segments), 0))
        .order_by("-created_at")
    )


def membership_list(*, access: Access):
    return Membership.objects.filter(project=access.project).select_related("user").order_by("created_at")


def invite_list(*, access: Access):
    return Invite.objects.filter(project=access.project).order_by("-created_at")


def invitation_list(*, access: Access):
    """The project's pending invitations by username (directors and producers see them)."""
    return (
        Invitation.objects.filter(project=access.project, state=InvitationState.PENDING, expires_at__gt=timezone.now())
        .select_related("invited_by")
        .order_by("-created_at")
    )


def my_invitations(*, user):
    """Invitations waiting for ``user``'s answer."""
    return (
        Invitation.objects.filter(invitee=user, state=InvitationState.PENDING, expires_at__gt=timezone.now())
        .select_related("project", "invited_by")
        .order_by("-created_at")
    )


def reference_list(*, access: Access):
    return Reference.objects.filter(project=access.project).prefetch_related("images").order_by("tag")


def activity_list(*, access: Access, limit: int = 50):
    return ActivityEvent.objects.filter(project=access.project).select_related("actor").order_by("-created_at")[:limit]


def budget_get(*, access: Access) -> dict:
    """Budget as the contract shows it, from the generation ledger: money held for running
    jobs (reserved), settled costs (spent), what is left, and the same per artist (see
    apps/generation/ledger.py for the rules)."""
    from apps.generation.selectors import budget_summary

    return budget_summary(access.project)
