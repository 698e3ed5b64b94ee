"""Query parameters of the CSV exports (Polar's names, types and defaults)."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rest_framework import serializers

from billing.exports.payloads import ORDER_HEADERS, SUBSCRIPTION_HEADERS
from billing.models import OrderStatus, SubscriptionStatus


class AwareDateTimeField(serializers.DateTimeField):
    """Polar's ``AwareDatetime``: a date without a UTC offset is refused, not read in some default zone."""

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        text = str(value).strip()
        if not (text.endswith(("Z", "z")) or "+" in text[10:] or "-" in text[10:]):
            raise serializers.ValidationError("Input should have timezone info")
        return parsed


class _Export(serializers.Serializer):
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    timezone = serializers.CharField(required=False, default="UTC", max_length=64)

    def validate_timezone(self, value):
        try:
            return ZoneInfo(value)
        except (ValueError, ZoneInfoNotFoundError):
            raise serializers.ValidationError(f"{value!r} is not a valid IANA time zone")


class CustomerExportQuery(serializers.Serializer):
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)


class OrderExportQuery(_Export):
    product_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    status = serializers.ListField(child=serializers.ChoiceField(choices=OrderStatus.values), required=False)
    created_after = AwareDateTimeField(required=False)
    created_before = AwareDateTimeField(required=False)
    columns = serializers.ListField(child=serializers.ChoiceField(choices=list(ORDER_HEADERS)), required=False)


class SubscriptionExportQuery(_Export):
    product_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    status = serializers.ListField(child=serializers.ChoiceField(choices=SubscriptionStatus.values), required=False)
    cancel_at_period_end = serializers.BooleanField(required=False, allow_null=True, default=None)
    started_after = AwareDateTimeField(required=False)
    started_before = AwareDateTimeField(required=False)
    columns = serializers.ListField(child=serializers.ChoiceField(choices=list(SUBSCRIPTION_HEADERS)), required=False)
