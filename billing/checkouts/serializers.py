"""Checkout shapes: Polar's ``Checkout`` (merchant view), ``CheckoutPublicConfirmed`` (client view after
confirmation), and the create/confirm inputs. Every response carries the union of both SDKs' required
keys (1.0.2 adds ``units``, ``min_units``, ``max_units``, ``payment_method_type``)."""

from rest_framework import serializers

from polar.api.fields import AddressInput, Int32Field, SeatsField
from polar.api.metadata import validate_metadata


class CheckoutCreateInput(serializers.Serializer):
    products = serializers.ListField(child=serializers.UUIDField(), allow_empty=False)
    customer_id = serializers.UUIDField(required=False, allow_null=True)
    external_customer_id = serializers.CharField(required=False, allow_null=True, max_length=256)
    customer_email = serializers.EmailField(required=False, allow_null=True)
    customer_name = serializers.CharField(required=False, allow_null=True, max_length=256)
    customer_ip_address = serializers.CharField(required=False, allow_null=True, max_length=64)
    customer_tax_id = serializers.CharField(required=False, allow_null=True, max_length=64)
    customer_billing_address = AddressInput(required=False, allow_null=True)
    customer_metadata = serializers.JSONField(required=False, allow_null=True)
    discount_id = serializers.UUIDField(required=False, allow_null=True)
    # Not in Polar's CheckoutCreate (extra keys are ignored by Polar): pre-apply a discount by its code.
    discount_code = serializers.CharField(required=False, allow_null=True, max_length=256)
    allow_discount_codes = serializers.BooleanField(required=False, allow_null=True, default=True)
    allow_trial = serializers.BooleanField(required=False, allow_null=True, default=True)
    trial_interval = serializers.ChoiceField(choices=["day", "week", "month", "year"], required=False, allow_null=True)
    trial_interval_count = Int32Field(required=False, allow_null=True, min_value=1, max_value=1000)
    require_billing_address = serializers.BooleanField(required=False, allow_null=True, default=False)
    is_business_customer = serializers.BooleanField(required=False, allow_null=True, default=False)
    success_url = serializers.URLField(required=False, allow_null=True, max_length=2048)
    return_url = serializers.URLField(required=False, allow_null=True, max_length=2048)
    embed_origin = serializers.CharField(required=False, allow_null=True, max_length=512)
    seats = SeatsField(required=False, allow_null=True)
    units = SeatsField(required=False, allow_null=True)
    metadata = serializers.JSONField(required=False, allow_null=True)
    locale = serializers.CharField(required=False, allow_null=True, max_length=16)
    # Checked against the product's attached custom fields by the service (billing.custom_fields).
    custom_field_data = serializers.DictField(required=False, allow_null=True)

    def validate_metadata(self, value):
        return validate_metadata(value) if value else {}

    def validate_customer_metadata(self, value):
        return validate_metadata(value) if value else {}

    def validate(self, data):
        for name in ("allow_discount_codes", "require_billing_address", "is_business_customer"):
            if data.get(name) is None:
                data[name] = self.fields[name].default
        return data


class CheckoutConfirmInput(serializers.Serializer):
    customer_email = serializers.EmailField(required=False, allow_null=True)
    customer_name = serializers.CharField(required=False, allow_null=True, max_length=256)
    confirmation_token_id = serializers.CharField(required=False, allow_null=True, max_length=128)
    product_id = serializers.UUIDField(required=False, allow_null=True)
    discount_code = serializers.CharField(required=False, allow_null=True, max_length=256)
    customer_billing_address = AddressInput(required=False, allow_null=True)
    custom_field_data = serializers.DictField(required=False, allow_null=True)


class CheckoutListQuery(serializers.Serializer):
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    product_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    customer_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    external_customer_id = serializers.ListField(child=serializers.CharField(max_length=256), required=False)
    status = serializers.ListField(
        child=serializers.ChoiceField(choices=["open", "expired", "confirmed", "succeeded", "failed"]), required=False
    )
    query = serializers.CharField(max_length=320, required=False, allow_blank=True)


class CheckoutUpdatePublicInput(serializers.Serializer):
    """Polar's ``CheckoutUpdatePublic`` (the buyer, by client secret). ``amount`` (custom prices) and
    ``payment_method_type`` are accepted and not used yet; ``units`` is the quantity of a unit_based price."""

    product_id = serializers.UUIDField(required=False, allow_null=True)
    product_price_id = serializers.UUIDField(required=False, allow_null=True)
    amount = Int32Field(required=False, allow_null=True, min_value=0)
    seats = SeatsField(required=False, allow_null=True)
    units = Int32Field(required=False, allow_null=True, min_value=1)
    is_business_customer = serializers.BooleanField(required=False, allow_null=True)
    customer_name = serializers.CharField(required=False, allow_null=True, max_length=256)
    customer_email = serializers.EmailField(required=False, allow_null=True)
    customer_billing_name = serializers.CharField(required=False, allow_null=True, max_length=256)
    customer_billing_address = AddressInput(required=False, allow_null=True)
    customer_tax_id = serializers.CharField(required=False, allow_null=True, max_length=64)
    locale = serializers.CharField(required=False, allow_null=True, max_length=16)
    custom_field_data = serializers.DictField(required=False, allow_null=True)
    payment_method_type = serializers.CharField(required=False, allow_null=True, max_length=64)
    discount_code = serializers.CharField(required=False, allow_null=True, max_length=256)
    allow_trial = serializers.BooleanField(required=False, allow_null=True)

    def validate_allow_trial(self, value):
        if value is True:
            raise serializers.ValidationError("Input should be False")
        return value


class CheckoutUpdateInput(CheckoutUpdatePublicInput):
    """Polar's ``CheckoutUpdate`` (the merchant)."""

    discount_code = None
    payment_method_type = None
    allow_trial = serializers.BooleanField(required=False, allow_null=True)
    trial_interval = serializers.ChoiceField(choices=["day", "week", "month", "year"], required=False, allow_null=True)
    trial_interval_count = Int32Field(required=False, allow_null=True, min_value=1, max_value=1000)
    metadata = serializers.JSONField(required=False)
    currency = serializers.CharField(required=False, allow_null=True, max_length=3)
    discount_id = serializers.UUIDField(required=False, allow_null=True)
    allow_discount_codes = serializers.BooleanField(required=False, allow_null=True)
    require_billing_address = serializers.BooleanField(required=False, allow_null=True)
    customer_ip_address = serializers.CharField(required=False, allow_null=True, max_length=64)
    customer_metadata = serializers.JSONField(required=False, allow_null=True)
    success_url = serializers.URLField(required=False, allow_null=True, max_length=2048)
    return_url = serializers.URLField(required=False, allow_null=True, max_length=2048)
    embed_origin = serializers.CharField(required=False, allow_null=True, max_length=512)

    def validate_allow_trial(self, value):
        return value

    def validate_metadata(self, value):
        return validate_metadata(value) if value else {}

    def validate_customer_metadata(self, value):
        return validate_metadata(value) if value else {}

    def validate_currency(self, value):
        checkout = self.context.get("checkout")
        if value is not None and checkout is not None and value != checkout.currency:
            raise serializers.ValidationError("The currency of an open checkout cannot change.")
        return value
