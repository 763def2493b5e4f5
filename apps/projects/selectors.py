from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q, Sum

from .access import Access
from .models import ActivityEvent, Invite, Membership, Project, Reference


def project_list(*, user):
    return (
        Project.objects.filter(memberships__user=user)
        .annotate(member_count=Count("memberships", distinct=True), segment_count=Count("segments", distinct=True))
        .order_by("-created_at")
    )


def membership_list(*, access: Access):
    return Membership.objects.filter(project=access.project).select_related("user").order_by("created_at")


def invite_list(*, access: Access):
    return Invite.objects.filter(project=access.project).order_by("-created_at")


def reference_list(*, access: Access):
    return Reference.objects.filter(project=access.project).prefetch_related("images").order_by("tag")


def activity_list(*, access: Access, limit: int = 50):
    return ActivityEvent.objects.filter(project=access.project).select_related("actor").order_by("-created_at")[:limit]


def budget_get(*, access: Access) -> dict:
    """Budget as the contract shows it. Spending comes from takes' costs (the generation
    work adds a ledger of reservations; until then nothing is reserved)."""
    from apps.production.models import Take

    project = access.project
    takes = Take.objects.filter(shot__segment__project=project)
    spent = takes.aggregate(total=Sum("cost"))["total"] or Decimal("0")
    by_artist = (
        takes.filter(~Q(cost=0)).values("author_id", "author__username").annotate(spent=Sum("cost")).order_by("-spent")
    )
    reserved = Decimal("0")
    return {
        "amount": project.budget_amount,
        "currency": project.budget_currency,
        "reserved": reserved,
        "spent": spent,
        "remaining": project.budget_amount - reserved - spent,
        "artist_cap": project.artist_budget_cap,
        "by_artist": [
            {"user": {"id": row["author_id"], "username": row["author__username"]}, "spent": row["spent"], "reserved": Decimal("0")}
            for row in by_artist
        ],
    }
