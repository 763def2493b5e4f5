from django.contrib import admin, messages

from .models import Export, ExportArtifact, ExportSegment


class ExportArtifactInline(admin.TabularInline):
    model = ExportArtifact
    extra = 0
    readonly_fields = ("kind", "storage_key", "filename", "content_type", "size", "created_at")
    can_delete = False


class ExportSegmentInline(admin.TabularInline):
    model = ExportSegment
    extra = 0
    readonly_fields = ("position", "segment_id", "attempt", "done", "frames", "encoded_pieces", "cached_pieces",
                       "master_cache_hit", "video_path", "audio_path")  # fmt: skip
    can_delete = False


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "kind", "segment", "state", "progress", "attempts", "created_by", "created_at", "finished_at")
    list_filter = ("state", "kind")
    search_fields = ("id", "project__title", "project__slug", "created_by__username")
    list_select_related = ("project", "segment", "created_by")
    raw_id_fields = ("project", "segment", "created_by")
    date_hierarchy = "created_at"
    # The plan snapshot can be large: read-only, like everything the pipeline writes.
    readonly_fields = (
        "id", "created_at", "updated_at", "state", "progress", "error", "heartbeat_at", "attempts", "started_at",
        "finished_at", "segments_total", "segments_done", "shots_total", "shots_done", "final_started_at", "stats",
        "plan", "frames",
    )  # fmt: skip
    inlines = (ExportSegmentInline, ExportArtifactInline)
    actions = ("fail_exports",)

    @admin.action(description="Stop (fail) the selected running exports")
    def fail_exports(self, request, queryset):
        from .services import export_fail

        count = 0
        for export in queryset.filter(state__in=("queued", "running")):
            if export_fail(export_id=export.pk, attempt=None, error="Stopped by an administrator."):
                count += 1
        self.message_user(request, f"Stopped {count} export(s).", messages.SUCCESS)
