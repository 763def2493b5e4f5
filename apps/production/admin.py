from django.contrib import admin

from .models import Comment, Segment, Shot, Take


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("title", "project", "position", "owner", "status")
    list_filter = ("status",)
    search_fields = ("title",)


@admin.register(Shot)
class ShotAdmin(admin.ModelAdmin):
    list_display = ("title", "segment", "position", "duration_frames", "revision")
    search_fields = ("title", "prompt")


@admin.register(Take)
class TakeAdmin(admin.ModelAdmin):
    list_display = ("shot", "number", "source", "status", "review_state", "author", "cost")
    list_filter = ("status", "review_state", "source")
    raw_id_fields = ("shot", "media", "parent")


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("take", "author", "frame", "created_at")
