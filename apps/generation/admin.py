from django import forms
from django.contrib import admin, messages

from . import credentials
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


class CredentialForm(forms.ModelForm):
    """Secrets are write-only here: the API key and the webhook secret have their own
    password fields (blank keeps what is stored) and are saved encrypted; ``config`` holds
    the plain settings only."""

    config = forms.JSONField(required=False, help_text="Plain settings only (host, workflow, ...). Secrets go in the fields below.")
    new_api_key = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False), label="New API key",
        help_text="Leave blank to keep the stored key.",
    )
    new_webhook_secret = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False), label="New webhook secret",
        help_text="Leave blank to keep the stored secret.",
    )
    clear_webhook_secret = forms.BooleanField(required=False, label="Remove the webhook secret")

    class Meta:
        model = Credential
        fields = ("project", "backend", "config")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance and self.instance.pk:
            self.initial["config"] = credentials.plain_config(self.instance.config)

    def clean_config(self):
        config = self.cleaned_data.get("config") or {}
        if not isinstance(config, dict):
            raise forms.ValidationError("Settings are a JSON object.")
        secret = [name for name in config if name == credentials.ENCRYPTED_CONFIG_KEY or credentials.is_secret_config_key(name)]
        if secret:
            raise forms.ValidationError(f"{', '.join(secret)} looks like a secret: set secrets in their own fields, not here.")
        return config

    def save(self, commit=True):
        cred = super().save(commit=False)
        original = Credential.objects.filter(pk=cred.pk).values_list("config", flat=True).first() if cred.pk else {}
        try:
            _, stored = credentials.split_config(original)
        except credentials.CredentialUnreadable:
            stored = {}
        if self.cleaned_data.get("clear_webhook_secret"):
            stored.pop("webhook_secret", None)
        if self.cleaned_data.get("new_webhook_secret"):
            stored["webhook_secret"] = self.cleaned_data["new_webhook_secret"]
        cred.config = credentials.join_config(self.cleaned_data.get("config") or {}, stored)
        key = self.cleaned_data.get("new_api_key")
        if key:
            cred.encrypted = credentials.encrypt(key)
            cred.hint = credentials.hint_for(key)
        elif not cred.pk:
            cred.encrypted = ""
        if commit:
            cred.save()
        return cred


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    form = CredentialForm
    list_display = ("project", "backend", "hint", "updated_by", "updated_at")
    search_fields = ("project__title", "backend")
    list_select_related = ("project", "updated_by")
    raw_id_fields = ("project", "updated_by")
    fields = ("project", "backend", "config", "secrets", "hint", "new_api_key", "new_webhook_secret", "clear_webhook_secret",
              "updated_by", "created_at", "updated_at")  # fmt: skip
    # Keys and secrets are never shown: only which are set.
    readonly_fields = ("secrets", "hint", "updated_by", "created_at", "updated_at")

    @admin.display(description="Secrets")
    def secrets(self, obj):
        if obj is None or not obj.pk:
            return "-"
        names = (["API key"] if obj.encrypted else []) + credentials.secret_names(obj.config)
        return ", ".join(f"{name}: {credentials.SECRET_SET}" for name in names) or "none"

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "backend", "delivery_id", "job")
    search_fields = ("delivery_id", "job__id")
    list_filter = ("backend",)
    raw_id_fields = ("job",)
