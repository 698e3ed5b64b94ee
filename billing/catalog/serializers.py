"""Product and price shapes (Polar's ``Product``, ``ProductPrice*``, ``ProductCreate``/``ProductUpdate``).

Price outputs carry ``amount_type`` (1.0.2's required discriminator) and ``type`` but never
``recurring_interval``: with it, 0.32.0 would read a recurring price as a ``LegacyRecurringProductPrice``.
``metered_tiers`` and ``unit_based`` (issue 22) have the same shape in every API version; polar-sdk
0.32 predates them and cannot parse a product carrying one (docs/pricing.md, "Clients").
"""

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from billing.custom_fields.serializers import AttachedCustomFieldInput
from billing.models import Product, ProductPrice, RecurringInterval
from billing.pricing import Tier, TierError, Tiers
from polar import money
from polar.api.fields import AmountField, Int32Field, Int64Field, SeatsField
from polar.api.metadata import validate_metadata


class CurrencyField(serializers.CharField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data).lower()
        if not money.is_valid_currency(value):
            self.fail("invalid_choice", input=value)
        return value

    default_error_messages = {"invalid_choice": "{input!r} is not a supported currency."}


class _PriceBaseInput(serializers.Serializer):
    amount_type = serializers.CharField()
    price_currency = CurrencyField(required=False, allow_null=True, default="usd")
    tax_behavior = serializers.ChoiceField(choices=ProductPrice.TaxBehavior.choices, required=False, allow_null=True)
    # Legacy price fields: only accepted when they agree with the product (checked by the service).
    type = serializers.ChoiceField(choices=ProductPrice.Type.choices, required=False)
    recurring_interval = serializers.ChoiceField(choices=RecurringInterval.choices, required=False, allow_null=True)

    def validate_price_currency(self, value):
        return value or "usd"


class FixedPriceInput(_PriceBaseInput):
    price_amount = AmountField()


class FreePriceInput(_PriceBaseInput):
    pass


class CustomPriceInput(_PriceBaseInput):
    minimum_amount = AmountField(required=False, allow_null=True, default=50)
    maximum_amount = AmountField(required=False, allow_null=True)
    preset_amount = AmountField(required=False, allow_null=True)


class MeteredUnitPriceInput(_PriceBaseInput):
    meter_id = serializers.UUIDField()
    unit_amount = serializers.DecimalField(max_digits=24, decimal_places=12, min_value=0)
    cap_amount = AmountField(required=False, allow_null=True)


class TierInput(serializers.Serializer):
    bound = SeatsField(required=False, allow_null=True)
    unit_amount = serializers.DecimalField(max_digits=24, decimal_places=12, min_value=0)


class TiersInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=ProductPrice.SeatTierType.choices)
    tiers = TierInput(many=True, allow_empty=False)


class RateTierInput(serializers.Serializer):
    """Polar's ``TierInput`` for metered_tiers and unit_based: a bound is a positive integer (usage can
    run far beyond a seat count), the rate a non-negative decimal string or number of cents."""

    bound = Int64Field(required=False, allow_null=True, min_value=1)
    unit_amount = serializers.DecimalField(max_digits=24, decimal_places=12, min_value=0)


class RateTiersInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=ProductPrice.SeatTierType.choices)
    tiers = RateTierInput(many=True, allow_empty=False, max_length=100)

    def validate(self, attrs):
        # The engine's rules, with the location of the first offence: bounds strictly increasing
        # (Polar sorts unsorted tiers; here they are refused, so what is stored is what was sent),
        # only the last tier unbounded.
        try:
            schedule = Tiers(attrs["type"], tuple(Tier(t.get("bound"), t["unit_amount"]) for t in attrs["tiers"]))
        except TierError as exc:
            raise serializers.ValidationError(_nested(exc.loc, str(exc))) from None
        return schedule.to_dict()


def _nested(loc: tuple, message: str):
    error = [message]
    for key in reversed(loc):
        error = {key: error}
    return error


class UnitLabelField(serializers.DictField):
    """``{"en": {"=1": "device", "other": "devices"}}``: per locale, plural forms, ``other`` required."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.DictField(child=serializers.CharField(max_length=64)), **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not value:
            raise serializers.ValidationError("At least one locale is required.")
        for locale, forms in value.items():
            if len(locale) > 16 or not forms.get("other", "").strip():
                raise serializers.ValidationError({locale: ["Each locale must include a non-empty 'other' form"]})
        return {locale: {k: v.strip() for k, v in forms.items()} for locale, forms in value.items()}


class MeteredTiersPriceInput(_PriceBaseInput):
    meter_id = serializers.UUIDField()
    tiers = RateTiersInput()
    cap_amount = AmountField(required=False, allow_null=True)


class UnitBasedPriceInput(_PriceBaseInput):
    tiers = RateTiersInput()
    minimum_units = SeatsField(required=False, allow_null=True)
    unit_label = UnitLabelField(required=False, allow_null=True)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        # Polar's rules: a unit is bought whole, so rates are whole cents; the minimum fits the tiers.
        for index, tier in enumerate(attrs["tiers"]["tiers"]):
            amount = tier["unit_amount"]
            if "." in amount:
                raise serializers.ValidationError(
                    _nested(("tiers", "tiers", index, "unit_amount"), "Unit tier rates must be in smallest currency unit.")
                )
        last_bound = attrs["tiers"]["tiers"][-1]["bound"]
        minimum = attrs.get("minimum_units")
        if minimum is not None and last_bound is not None and minimum > last_bound:
            raise serializers.ValidationError({"minimum_units": ["minimum_units must not exceed the last tier's bound."]})
        return attrs


class SeatBasedPriceInput(_PriceBaseInput):
    """The 2027-01 shape (``tiers``, ``minimum_units``); older versions' ``seat_tiers`` are upgraded to it
    by polar.api.versions before validation. Validated into the seat tiers the catalog stores
    (``seat_tiers``: contiguous ``min_seats``/``max_seats``/``price_per_seat``)."""

    tiers = TiersInput()
    minimum_units = SeatsField(required=False, allow_null=True)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        tiers_in = attrs.pop("tiers")
        start = attrs.pop("minimum_units", None) or 1
        tiers, errors = [], {}
        for index, tier in enumerate(tiers_in["tiers"]):
            bound, amount = tier.get("bound"), tier["unit_amount"]
            if amount != amount.to_integral_value():
                errors[index] = {"unit_amount": ["Seat prices are whole amounts in cents on this platform."]}
            elif bound is None and index < len(tiers_in["tiers"]) - 1:
                errors[index] = {"bound": ["Only the last tier may be unbounded."]}
            elif bound is not None and bound < start:
                errors[index] = {"bound": ["A tier's bound must not be below the units where it starts."]}
            tiers.append({"min_seats": start, "max_seats": bound, "price_per_seat": int(amount)})
            start = (bound or start) + 1
        if errors:
            raise serializers.ValidationError({"tiers": {"tiers": errors}})
        attrs["seat_tiers"] = {"tiers": tiers, "seat_tier_type": tiers_in["type"]}
        return attrs


PRICE_INPUTS = {
    "fixed": FixedPriceInput,
    "free": FreePriceInput,
    "custom": CustomPriceInput,
    "metered_unit": MeteredUnitPriceInput,
    "seat_based": SeatBasedPriceInput,
    "metered_tiers": MeteredTiersPriceInput,
    "unit_based": UnitBasedPriceInput,
}


class ExistingPriceInput(serializers.Serializer):
    id = serializers.UUIDField()


def _price_input_schema(*, allow_existing: bool):
    inputs = [
        FixedPriceInput,
        CustomPriceInput,
        MeteredUnitPriceInput,
        SeatBasedPriceInput,
        MeteredTiersPriceInput,
        UnitBasedPriceInput,
    ]
    return PolymorphicProxySerializer(
        component_name="ProductPriceInput" + ("OrExisting" if allow_existing else ""),
        serializers=[*inputs, ExistingPriceInput] if allow_existing else inputs,
        resource_type_field_name=None,
    )


@extend_schema_field(_price_input_schema(allow_existing=False))
class PriceInput(serializers.Field):
    """One entry of ``prices``: ``{"id": ...}`` to keep an existing price (update only), or a new price
    discriminated by ``amount_type``. Returns ``{"id": uuid}`` or the validated new-price dict."""

    default_error_messages = {"invalid": "Input should be a valid dictionary or object"}

    def __init__(self, *, allow_existing: bool, **kwargs):
        self.allow_existing = allow_existing
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        if self.allow_existing and "id" in data and "amount_type" not in data:
            field = serializers.UUIDField()
            try:
                return {"id": field.run_validation(data["id"])}
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"id": exc.detail})
        amount_type = data.get("amount_type")
        if amount_type is None:
            raise serializers.ValidationError({"amount_type": [serializers.ErrorDetail("This field is required.", "required")]})
        if amount_type not in PRICE_INPUTS:
            raise serializers.ValidationError(
                {
                    "amount_type": [
                        serializers.ErrorDetail(
                            f"Input should be one of {', '.join(repr(name) for name in PRICE_INPUTS)}", "invalid_choice"
                        )
                    ]
                }
            )
        serializer = PRICE_INPUTS[amount_type](data=data)
        if not serializer.is_valid():
            raise serializers.ValidationError(serializer.errors)
        return dict(serializer.validated_data)

    def to_representation(self, value):
        return value


class _ProductInputBase(serializers.Serializer):
    description = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=10_000)
    visibility = serializers.ChoiceField(choices=Product._meta.get_field("visibility").choices, required=False)
    metadata = serializers.JSONField(required=False, allow_null=True, validators=[validate_metadata])
    trial_interval = serializers.ChoiceField(choices=RecurringInterval.choices, required=False, allow_null=True)
    trial_interval_count = Int32Field(required=False, allow_null=True, min_value=1, max_value=1000)
    recurring_interval = serializers.ChoiceField(choices=RecurringInterval.choices, required=False, allow_null=True)
    recurring_interval_count = Int32Field(required=False, allow_null=True, min_value=1, max_value=999)
    meter_interval = serializers.ChoiceField(choices=RecurringInterval.choices, required=False, allow_null=True)
    meter_interval_count = Int32Field(required=False, allow_null=True, min_value=1, max_value=999)
    medias = serializers.ListField(child=serializers.UUIDField(), required=False, allow_null=True, max_length=0)
    attached_custom_fields = serializers.ListField(
        child=AttachedCustomFieldInput(), required=False, allow_null=True, max_length=100
    )

    def validate(self, attrs):
        attrs.pop("medias", None)
        if attrs.get("attached_custom_fields") is not None:
            attrs["attached_custom_fields"] = [dict(entry) for entry in attrs["attached_custom_fields"]]
        elif "attached_custom_fields" in attrs:
            attrs["attached_custom_fields"] = []
        if "metadata" in attrs and attrs["metadata"] is None:
            attrs["metadata"] = {}
        return attrs


class ProductCreateInput(_ProductInputBase):
    name = serializers.CharField(min_length=1, max_length=256)
    prices = serializers.ListField(child=PriceInput(allow_existing=False), allow_empty=False, max_length=50)
    organization_id = serializers.UUIDField(required=False, allow_null=True)


class _UpdatePriceInput(PriceInput):
    pass


extend_schema_field(_price_input_schema(allow_existing=True))(_UpdatePriceInput)


class ProductUpdateInput(_ProductInputBase):
    name = serializers.CharField(min_length=1, max_length=256, required=False, allow_null=True)
    prices = serializers.ListField(
        child=_UpdatePriceInput(allow_existing=True), allow_empty=False, max_length=50, required=False, allow_null=True
    )
    is_archived = serializers.BooleanField(required=False, allow_null=True)
    visibility = serializers.ChoiceField(choices=Product._meta.get_field("visibility").choices, required=False, allow_null=True)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        # The SDKs send null for "leave as it is" on these.
        for name in ("name", "prices", "is_archived", "visibility"):
            if name in attrs and attrs[name] is None:
                del attrs[name]
        return attrs


class ProductBenefitsUpdateInput(serializers.Serializer):
    benefits = serializers.ListField(child=serializers.UUIDField(), max_length=100)


class ProductListQuery(serializers.Serializer):
    id = serializers.ListField(child=serializers.UUIDField(), required=False)
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    query = serializers.CharField(required=False)
    is_archived = serializers.BooleanField(required=False, allow_null=True)
    is_recurring = serializers.BooleanField(required=False, allow_null=True)
    benefit_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    visibility = serializers.ListField(
        child=serializers.ChoiceField(choices=Product._meta.get_field("visibility").choices), required=False
    )
    metadata = serializers.DictField(child=serializers.CharField(), required=False)


class ProductPriceListQuery(serializers.Serializer):
    is_archived = serializers.BooleanField(required=False, allow_null=True)
