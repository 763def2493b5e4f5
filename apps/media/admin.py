from django.contrib import admin, messages

from .models import MediaFile, Upload
from .services import media_reingest


@admin.register(MediaFile)
class MediaFileAdmin(admin.ModelAdmin):
    list_display = ("id", "original_name", "kind", "status", "project", "owner", "duration_seconds", "width", "height", "size", "created_at")
    list_filter = ("status", "kind", "has_audio")
    search_fields = ("id", "original_name", "storage_key", "sha256", "owner__username", "project__title")
    list_select_related = ("project", "owner")
    raw_id_fields = ("project", "owner")
    date_hierarchy = "created_at"
    readonly_fields = (
        "id", "created_at", "updated_at", "sha256", "probe", "duration_seconds", "width", "height", "fps", "has_audio",
        "thumbnail_key", "filmstrip_key", "proxy_key", "waveform", "ingest_attempts", "heartbeat_at",
    )  # fmt: skip
    actions = ("reingest",)

    @admin.action(description="Run ingest again")
    def reingest(self, request, queryset):
        count = 0
        for media in queryset:
            media_reingest(media=media)
            count += 1
        self.message_user(request, f"Queued ingest for {count} media file(s).", messages.SUCCESS)


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ("id", "filename", "owner", "project", "method", "status", "size", "received_bytes", "consumed_at", "expires_at", "created_at")
    list_filter = ("status", "method")
    search_fields = ("id", "filename", "storage_key", "owner__username")
    list_select_related = ("owner", "project", "media")
    raw_id_fields = ("owner", "project", "media")
    readonly_fields = ("id", "created_at", "updated_at", "s3_upload_id", "received_bytes", "consumed_at")
