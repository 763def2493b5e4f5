from django.contrib import admin

from .models import ActivityEvent, Invitation, Invite, Membership, Project, Reference


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "fps_num", "fps_den", "width", "height", "budget_amount", "budget_currency", "created_at")
    search_fields = ("title", "slug")
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("project", "user", "role", "created_at")
    list_filter = ("role",)
    raw_id_fields = ("user", "project")


@admin.register(Reference)
class ReferenceAdmin(admin.ModelAdmin):
    list_display = ("tag", "kind", "project")
    search_fields = ("tag", "name")


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = ("project", "role", "uses", "max_uses", "expires_at", "revoked")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("project", "username", "invitee", "role", "state", "expires_at", "created_at")
    list_filter = ("state", "role")
    search_fields = ("username", "project__title")
    raw_id_fields = ("project", "invitee", "invited_by")


@admin.register(ActivityEvent)
class ActivityEventAdmin(admin.ModelAdmin):
    list_display = ("project", "type", "actor", "created_at")
    list_filter = ("type",)
