from rest_framework import serializers

from polar.api import versions
from polar.api.output import BuiltOnceModelSerializer

from ..events import SUBSCRIBABLE_EVENT_TYPES
from ..models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint, WebhookFormat
from ..services.delivery import payload_body

_EVENT_TYPE_CHOICES = [(value, value) for value in SUBSCRIBABLE_EVENT_TYPES]


# --- input ------------------------------------------------------------------
class WebhookEndpointCreateInput(serializers.Serializer):
    url = serializers.CharField(trim_whitespace=True)
    name = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=255)
    format = serializers.ChoiceField(choices=WebhookFormat.choices)
    events = serializers.ListField(child=serializers.ChoiceField(choices=_EVENT_TYPE_CHOICES))
    organization_id = serializers.UUIDField(required=False, allow_null=True)
    api_version = serializers.ChoiceField(choices=[], required=False, allow_null=True)
    # Deprecated by Polar ("the secret is now generated on the backend"): accepted and ignored.
    secret = serializers.CharField(required=False, allow_null=True, write_only=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # At version V a client may name the versions up to V (Polar's ApiVersion enum grows with each one).
        request = self.context.get("request")
        allowed = versions.versions_up_to(versions.request_version(request) if request else versions.LATEST)
        self.fields["api_version"].choices = [(v, v) for v in allowed]


class WebhookEndpointUpdateInput(serializers.Serializer):
    url = serializers.CharField(required=False, allow_null=True, trim_whitespace=True)
    name = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=255)
    format = serializers.ChoiceField(choices=WebhookFormat.choices, required=False, allow_null=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=_EVENT_TYPE_CHOICES), required=False, allow_null=True)
    enabled = serializers.BooleanField(required=False, allow_null=True)
    secret = serializers.CharField(required=False, allow_null=True, write_only=True)
    api_version = serializers.ChoiceField(choices=[], required=False, allow_null=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        allowed = versions.versions_up_to(versions.request_version(request) if request else versions.LATEST)
        self.fields["api_version"].choices = [(v, v) for v in allowed]


class WebhookEndpointListQuery(serializers.Serializer):
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)


class WebhookDeliveryListQuery(serializers.Serializer):
    endpoint_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    start_timestamp = serializers.DateTimeField(required=False)
    end_timestamp = serializers.DateTimeField(required=False)
    succeeded = serializers.BooleanField(required=False)
    query = serializers.CharField(required=False)
    http_code_class = serializers.ChoiceField(choices=["2xx", "3xx", "4xx", "5xx"], required=False)
    event_type = serializers.ListField(child=serializers.ChoiceField(choices=_EVENT_TYPE_CHOICES), required=False)


# --- output -----------------------------------------------------------------
# What a token without ``webhooks:write`` sees instead of an endpoint's signing secret. ``secret`` is a
# required string in polar-sdk 0.32 and 1.0, so the key stays (clients still parse the endpoint); the value is
# not a usable key (no "whsec_" prefix), so verifying with it fails loudly instead of silently.
REDACTED_SECRET = "********"


class WebhookEndpointOutput(BuiltOnceModelSerializer):
    """An endpoint in Polar's shape. The signing secret is shown only to a request whose token has
    ``webhooks:write`` (who could rotate it anyway); a read-only token gets ``REDACTED_SECRET``, since the
    secret lets its holder forge webhooks that the merchant's receiver would trust."""

    organization_id = serializers.UUIDField()
    secret = serializers.SerializerMethodField()
    events = serializers.ListField(child=serializers.CharField())
    uses_standard_webhook_signature = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "created_at",
            "modified_at",
            "url",
            "name",
            "api_version",
            "format",
            "secret",
            "organization_id",
            "events",
            "enabled",
            "uses_standard_webhook_signature",
        ]

    def get_secret(self, endpoint) -> str:
        request = self.context.get("request")
        scopes = getattr(getattr(request, "user", None), "scopes", frozenset())
        return endpoint.secret if "webhooks:write" in scopes else REDACTED_SECRET

    def get_uses_standard_webhook_signature(self, endpoint) -> bool:
        # Every secret here is a Standard Webhooks "whsec_" key, used as such to sign.
        return True


class WebhookEventOutput(serializers.Serializer):
    """Polar's WebhookEvent, seen through one endpoint's delivery (Polar has one event per endpoint)."""

    def to_representation(self, delivery: WebhookDelivery):
        event = delivery.event
        if delivery.status == WebhookDelivery.Status.SUCCEEDED:
            succeeded = True
        elif delivery.status == WebhookDelivery.Status.FAILED:
            succeeded = False
        else:
            succeeded = None
        return {
            "id": str(event.id),
            "created_at": serializers.DateTimeField().to_representation(event.created_at),
            "modified_at": serializers.DateTimeField().to_representation(event.modified_at) if event.modified_at else None,
            "type": event.type,
            # Required by polar-sdk 1.0.x (not listed in the contract's section 4): the payload's API version.
            "api_version": delivery.endpoint.api_version,
            "payload": payload_body(event, delivery.endpoint.api_version),
            "last_http_code": delivery.last_http_code,
            "succeeded": succeeded,
            "skipped": delivery.status == WebhookDelivery.Status.SKIPPED,
            "is_archived": False,
        }


class WebhookDeliveryOutput(BuiltOnceModelSerializer):
    """Polar's WebhookDelivery: one HTTP attempt. The extra keys (endpoint, attempt number, duration, next
    attempt) are ignored by the SDKs and useful to people."""

    webhook_event = serializers.SerializerMethodField()
    webhook_endpoint_id = serializers.UUIDField(source="endpoint_id")
    attempt_number = serializers.IntegerField(source="number")

    class Meta:
        model = WebhookDeliveryAttempt
        fields = [
            "id",
            "created_at",
            "modified_at",
            "succeeded",
            "http_code",
            "response",
            "webhook_event",
            "webhook_endpoint_id",
            "attempt_number",
            "attempted_at",
            "duration_ms",
            "next_attempt_at",
        ]

    def get_webhook_event(self, attempt) -> dict:
        return WebhookEventOutput(attempt.delivery).data
