"""Checkout link inputs: Polar's ``CheckoutLinkCreate`` (by ``products``, or the deprecated single
``product_id`` / ``product_price_id``), ``CheckoutLinkUpdate`` and the list filters."""

from rest_framework import serializers

from polar.api.fields import Int32Field, SeatsField
from polar.api.metadata import validate_metadata

TRIAL_INTERVALS = ["day", "week", "month", "year"]


class _CheckoutLinkFields(serializers.Serializer):
    label = serializers.CharField(required=False, allow_null=True, max_length=256)
    allow_discount_codes = serializers.BooleanField(required=False, allow_null=True)
    require_billing_address = serializers.BooleanField(required=False, allow_null=True)
    discount_id = serializers.UUIDField(required=False, allow_null=True)
    seats = SeatsField(required=False, allow_null=True)
    units = Int32Field(required=False, allow_null=True, min_value=1)
    success_url = serializers.URLField(required=False, allow_null=True, max_length=2048)
    return_url = serializers.URLField(required=False, allow_null=True, max_length=2048)
    trial_interval = serializers.ChoiceField(choices=TRIAL_INTERVALS, required=False, allow_null=True)
    trial_interval_count = Int32Field(required=False, allow_null=True, min_value=1, max_value=1000)
    metadata = serializers.JSONField(required=False)

    def validate_metadata(self, value):
        return validate_metadata(value) if value else {}


class CheckoutLinkCreateInput(_CheckoutLinkFields):
    payment_processor = serializers.ChoiceField(choices=["stripe"])
    products = serializers.ListField(child=serializers.UUIDField(), required=False, allow_empty=False)
    product_id = serializers.UUIDField(required=False)
    product_price_id = serializers.UUIDField(required=False)

    def validate(self, data):
        given = [name for name in ("products", "product_id", "product_price_id") if name in data]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"products": ["Exactly one of products, product_id or product_price_id is required."]}
            )
        return super().validate(data)


class CheckoutLinkUpdateInput(_CheckoutLinkFields):
    products = serializers.ListField(child=serializers.UUIDField(), required=False, allow_null=True, allow_empty=False)


class CheckoutLinkListQuery(serializers.Serializer):
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    product_id = serializers.ListField(child=serializers.UUIDField(), required=False)


class CheckoutLinkRedirectQuery(serializers.Serializer):
    """What the link's URL may carry to prefill the checkout (Polar's redirect parameters)."""

    product_id = serializers.UUIDField(required=False, allow_null=True)
    customer_email = serializers.EmailField(required=False, allow_null=True, allow_blank=True)
    customer_name = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=256)
    discount_code = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=256)
    locale = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=16)
    embed_origin = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=512)
    reference_id = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=500)
    utm_source = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=500)
    utm_medium = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=500)
    utm_campaign = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=500)
    utm_term = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=500)
    utm_content = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=500)
