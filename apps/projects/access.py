"""Who may do what in a project: the roles table of API.md in one place.

A caller who is not a member of a project gets 404 for anything in it, so that project ids
cannot be probed. Members who lack the role get 403 with a sentence saying who may.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from apps.core.errors import NotFound, PermissionDenied

from .models import Membership, Project, Role

MANAGERS = (Role.DIRECTOR, Role.PRODUCER)


@dataclass(frozen=True)
class Access:
    """A checked actor: the user and their membership of one project."""

    user: AbstractBaseUser
    project: Project
    role: str

    @property
    def is_director(self) -> bool:
        return self.role == Role.DIRECTOR

    @property
    def is_manager(self) -> bool:
        return self.role in MANAGERS

    def owns(self, segment) -> bool:
        return segment.owner_id is not None and segment.owner_id == self.user.pk

    def require(self, *roles: str, action: str) -> None:
        if self.role not in roles:
            who = " or ".join(sorted({str(r) for r in roles}))
            raise PermissionDenied(f"Only a {who} of this project can {action}.")

    def require_segment_editor(self, segment, *, action: str) -> None:
        """Directors edit any segment; artists only segments they own."""
        if self.is_director:
            return
        if self.role == Role.ARTIST and self.owns(segment):
            return
        if self.role == Role.ARTIST:
            raise PermissionDenied(f"Only the artist who owns this segment (or the director) can {action}.")
        raise PermissionDenied(f"Only the segment's artist or the director can {action}.")


def project_access(*, user, project_id: uuid.UUID | str, for_update: bool = False) -> Access:
    if user is None or not user.is_authenticated:
        raise PermissionDenied("Sign in first.", code="not_authenticated")
    try:
        project_id = uuid.UUID(str(project_id))
    except ValueError:
        raise NotFound("No such project.")
    qs = Membership.objects.select_related("project").filter(project_id=project_id, user=user)
    membership = qs.first()
    if membership is None:
        raise NotFound("No such project.")
    project = membership.project
    if for_update:
        project = Project.objects.select_for_update().get(pk=project.pk)
    return Access(user=user, project=project, role=membership.role)


def access_for(*, user, project: Project) -> Access:
    return project_access(user=user, project_id=project.pk)
