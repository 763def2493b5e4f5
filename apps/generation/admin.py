from django.contrib import admin, messages

from .models import Credential, GenerationJob, LedgerEntry, WebhookDelivery


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("id", "backend", "model", "kind", "state", "progress", "project", "author", "variations",
                    "estimated_cost", "actual_cost", "attempts", "created_at", "finished_at")  # fmt: skip
    list_filter = ("state", "backend", "kind")
    search_fields = ("id", "provider_job_id", "idempotency_key", "author__username", "project__title")
    list_select_related = ("project", "author")
    raw_id_fields = ("project", "shot", "author")
    date_hierarchy = "created_at"
    # provider_data holds encrypted output links and bookkeeping; shown read-only.
    readonly_fields = (
        "id", "created_at", "updated_at", "idempotency_key", "provider_job_id", "provider_state", "provider_data",
        "submitted_at", "finished_at", "heartbeat_at", "next_poll_at", "attempts", "poll_count", "estimated_cost",
        "actual_cost", "request",
    )  # fmt: skip
    actions = ("run_step", "fail_jobs")

    @admin.action(description="Run the next step now (re-queue)")
    def run_step(self, request, queryset):
        from .services import job_enqueue

        count = 0
        for job in queryset.filter(state__in=("queued", "running")):
            job_enqueue(job_id=job.pk)
            count += 1
        self.message_user(request, f"Queued {count} job(s).", messages.SUCCESS)

    @admin.action(description="Stop (fail) and release the budget")
    def fail_jobs(self, request, queryset):
        from .services import _fail_job

        count = 0
        for job in queryset.filter(state__in=("queued", "running")):
            _fail_job(job.pk, "Stopped by an administrator.", cancel_at_provider=True)
            count += 1
        self.message_user(request, f"Stopped {count} job(s).", messages.SUCCESS)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "project", "user", "kind", "amount", "job", "note")
    list_filter = ("kind",)
    search_fields = ("project__title", "user__username", "job__id", "note")
    list_select_related = ("project", "user")
    raw_id_fields = ("project", "user", "job")

    def has_change_permission(self, request, obj=None):  # the ledger is append-only
        return False


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    list_display = ("project", "backend", "hint", "updated_by", "updated_at")
    search_fields = ("project__title", "backend")
    list_select_related = ("project", "updated_by")
    raw_id_fields = ("project", "updated_by")
    exclude = ("encrypted",)  # keys are set through the API, never shown
    readonly_fields = ("hint", "updated_by", "created_at", "updated_at")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "backend", "delivery_id", "job")
    search_fields = ("delivery_id", "job__id")
    list_filter = ("backend",)
    raw_id_fields = ("job",)
