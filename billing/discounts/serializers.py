"""Discount shapes: Polar's four ``Discount*`` outputs and ``DiscountCreate``/``DiscountUpdate``."""

from rest_framework import serializers

from billing.catalog.serializers import CurrencyField
from billing.models import Discount
from polar.api.fields import (
    MAX_REDEMPTIONS,
    AmountField,
    BoundedDateTimeField,
    Int32Field,
)
from polar.api.metadata import validate_metadata


class DiscountCreateInput(serializers.Serializer):
    name = serializers.CharField(min_length=1, max_length=256)
    type = serializers.ChoiceField(choices=Discount.Type.choices, required=False, allow_null=True)
    duration = serializers.ChoiceField(choices=Discount.Duration.choices)
    duration_in_months = Int32Field(required=False, allow_null=True, min_value=1, max_value=999)
    basis_points = Int32Field(required=False, allow_null=True, min_value=1, max_value=10_000)
    amount = AmountField(required=False, allow_null=True, min_value=1)
    currency = CurrencyField(required=False, allow_null=True)
    amounts = serializers.DictField(child=AmountField(min_value=1), required=False, allow_null=True)
    code = serializers.RegexField(r"^[A-Za-z0-9]+$", min_length=3, max_length=256, required=False, allow_null=True)
    starts_at = BoundedDateTimeField(required=False, allow_null=True)
    ends_at = BoundedDateTimeField(required=False, allow_null=True)
    max_redemptions = Int32Field(required=False, allow_null=True, min_value=1, max_value=MAX_REDEMPTIONS)
    max_redemptions_per_customer = Int32Field(required=False, allow_null=True, min_value=1, max_value=MAX_REDEMPTIONS)
    products = serializers.ListField(child=serializers.UUIDField(), required=False, allow_null=True)
    metadata = serializers.JSONField(required=False, allow_null=True, validators=[validate_metadata])
    organization_id = serializers.UUIDField(required=False, allow_null=True)

    def validate(self, attrs):
        if not attrs.get("type"):
            # The SDKs' default: a body with basis_points is a percentage discount, else fixed.
            attrs["type"] = Discount.Type.PERCENTAGE if attrs.get("basis_points") is not None else Discount.Type.FIXED
        return attrs


class DiscountUpdateInput(serializers.Serializer):
    name = serializers.CharField(min_length=1, max_length=256, required=False)
    duration = serializers.ChoiceField(choices=Discount.Duration.choices, required=False)
    duration_in_months = Int32Field(required=False, allow_null=True, min_value=1, max_value=999)
    basis_points = Int32Field(required=False, min_value=1, max_value=10_000)
    amount = AmountField(required=False, min_value=1)
    currency = CurrencyField(required=False)
    amounts = serializers.DictField(child=AmountField(min_value=1), required=False)
    code = serializers.RegexField(r"^[A-Za-z0-9]+$", min_length=3, max_length=256, required=False, allow_null=True)
    starts_at = BoundedDateTimeField(required=False, allow_null=True)
    ends_at = BoundedDateTimeField(required=False, allow_null=True)
    max_redemptions = Int32Field(required=False, allow_null=True, min_value=1, max_value=MAX_REDEMPTIONS)
    max_redemptions_per_customer = Int32Field(required=False, allow_null=True, min_value=1, max_value=MAX_REDEMPTIONS)
    products = serializers.ListField(child=serializers.UUIDField(), required=False, allow_null=True)
    metadata = serializers.JSONField(required=False, allow_null=True, validators=[validate_metadata])


class DiscountListQuery(serializers.Serializer):
    query = serializers.CharField(required=False)
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
