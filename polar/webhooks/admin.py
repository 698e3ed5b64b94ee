"""Staff views of webhooks. Attempts and events are read-only; actions call the services."""

from django import forms
from django.contrib import admin, messages

from polar.admin_base import ReadOnlyAdmin, ScopedModelAdmin, status
from polar.errors import PolarRequestValidationError

from . import services
from .models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint, WebhookEvent
from .services.endpoints import validate_endpoint_url


class WebhookEndpointForm(forms.ModelForm):
    class Meta:
        model = WebhookEndpoint
        fields = ["url", "name", "format", "events"]

    def clean_url(self):
        try:
            return validate_endpoint_url(self.cleaned_data["url"])
        except PolarRequestValidationError as error:
            raise forms.ValidationError(error.detail)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ScopedModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "organization", "enabled", "disabled_reason", "consecutive_failures", "created_at"]
    list_filter = ["enabled", "disabled_reason", "format"]
    search_fields = ["url", "id", "organization__slug"]
    readonly_fields = [
        "id",
        "organization",
        "secret",
        "api_version",
        "enabled",
        "disabled_at",
        "disabled_reason",
        "deleted_at",
        "failing_since",
        "consecutive_failures",
        "last_success_at",
        "lease_token",
        "lease_expires_at",
        "created_at",
        "modified_at",
    ]
    fields = ["url", "name", "format", "events", *readonly_fields]
    actions = ["enable", "disable", "rotate_secret"]

    def has_add_permission(self, request):
        # Endpoints are created by merchants through the API (URL validation, secret generation).
        return False

    def save_model(self, request, obj, form, change):
        services.webhook_endpoint_update(
            endpoint=obj,
            url=form.cleaned_data["url"],
            name=form.cleaned_data.get("name") or None,
            format=form.cleaned_data["format"],
            events=form.cleaned_data["events"],
        )

    @admin.action(description="Enable selected endpoints")
    def enable(self, request, queryset):
        for endpoint in queryset:
            services.webhook_endpoint_update(endpoint=endpoint, enabled=True)
        self.message_user(request, f"Enabled {queryset.count()} endpoint(s).")

    @admin.action(description="Disable selected endpoints")
    def disable(self, request, queryset):
        for endpoint in queryset:
            services.webhook_endpoint_update(endpoint=endpoint, enabled=False)
        self.message_user(request, f"Disabled {queryset.count()} endpoint(s).")

    @admin.action(description="Rotate the signing secret")
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            services.webhook_endpoint_rotate_secret(endpoint=endpoint)
        self.message_user(request, "Secrets rotated; merchants must update their receivers.", messages.WARNING)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "organization", "created_at", "fanned_out_at"]
    list_filter = ["type"]
    search_fields = ["id", "organization__slug"]
    actions = ["redeliver"]

    @admin.action(description="Redeliver to its endpoints")
    def redeliver(self, request, queryset):
        for event in queryset:
            services.webhook_event_redeliver(organization=event.organization, event_id=event.id)
        self.message_user(request, f"Redelivery scheduled for {queryset.count()} event(s).")


class WebhookDeliveryAttemptInline(admin.TabularInline):
    model = WebhookDeliveryAttempt
    fields = ["number", "attempted_at", "succeeded", "http_code", "duration_ms", "response", "next_attempt_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event_type", "endpoint", "status_badge", "attempt_count", "next_attempt_at", "event_created_at"]
    list_filter = ["status", "event_type", "organization"]
    search_fields = ["event__id", "endpoint__url", "organization__slug"]
    list_select_related = ["endpoint"]
    status_badge = status()
    inlines = [WebhookDeliveryAttemptInline]
    actions = ["redeliver"]

    def has_change_permission(self, request, obj=None):
        # Viewing the change page (with its inline attempts) needs "change"; every field stays read-only.
        # Who may view the deliveries (and which organizations' rows: the scoped get_object) may open it.
        return self.has_view_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    @admin.action(description="Redeliver the event (to all its endpoints)")
    def redeliver(self, request, queryset):
        event_ids = {(delivery.organization, delivery.event_id) for delivery in queryset.select_related("organization")}
        for organization, event_id in event_ids:
            services.webhook_event_redeliver(organization=organization, event_id=event_id)
        self.message_user(request, f"Redelivery scheduled for {len(event_ids)} event(s).")


@admin.register(WebhookDeliveryAttempt)
class WebhookDeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = ["event_type", "endpoint", "number", "attempted_at", "succeeded", "http_code", "duration_ms"]
    list_filter = ["succeeded", "event_type"]
    search_fields = ["event__id", "endpoint__url"]
