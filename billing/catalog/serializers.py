"""Product and price shapes (Polar's ``Product``, ``ProductPrice*``, ``ProductCreate``/``ProductUpdate``).

Price outputs carry ``amount_type`` (1.0.2's required discriminator) and ``type`` but never
``recurring_interval``: with it, 0.32.0 would read a recurring price as a ``LegacyRecurringProductPrice``.
Only amount types both SDKs know are emitted (never ``unit_based``/``metered_tiers``).
"""
from rest_framework import serializers

from billing.models import Product, ProductPrice, RecurringInterval
from billing.catalog.selectors import product_is_deletable
from polar import money
from polar.api.fields import AmountField, Int32Field, SeatsField
from polar.api.metadata import validate_metadata

from billing.benefits.serializers import BenefitOutput, dt, sid


def meter_summary(meter) -> dict:
    # Meter has no unit settings yet: Polar's default unit is "scalar".
    return {
        "id": str(meter.id),
        "name": meter.name,
        "unit": getattr(meter, "unit", None) or "scalar",
        "custom_label": getattr(meter, "custom_label", None),
        "custom_multiplier": getattr(meter, "custom_multiplier", None),
    }


def decimal_string(value) -> str:
    # Normalised without exponent: Decimal("1.500000000000") -> "1.5", Decimal("100") -> "100".
    text = format(value.normalize(), "f")
    return text


class ProductPriceOutput(serializers.BaseSerializer):
    def to_representation(self, price: ProductPrice) -> dict:
        data = {
            "id": str(price.id),
            "created_at": dt(price.created_at),
            "modified_at": dt(price.modified_at),
            "source": price.source,
            "amount_type": price.amount_type,
            "type": price.type,
            "price_currency": price.price_currency,
            "tax_behavior": price.tax_behavior,
            "is_archived": price.is_archived,
            "product_id": str(price.product_id),
        }
        amount_type = price.amount_type
        if amount_type == ProductPrice.AmountType.FIXED:
            data["price_amount"] = price.price_amount
        elif amount_type == ProductPrice.AmountType.CUSTOM:
            data["minimum_amount"] = price.minimum_amount
            data["maximum_amount"] = price.maximum_amount
            data["preset_amount"] = price.preset_amount
        elif amount_type == ProductPrice.AmountType.METERED_UNIT:
            data["unit_amount"] = decimal_string(price.unit_amount)
            data["cap_amount"] = price.cap_amount
            data["meter_id"] = str(price.meter_id)
            data["meter"] = meter_summary(price.meter)
        elif amount_type == ProductPrice.AmountType.SEAT_BASED:
            data["seat_tiers"] = {
                "seat_tier_type": price.seat_tier_type,
                "tiers": price.seat_tiers,
                "minimum_seats": price.minimum_seats,
                "maximum_seats": price.maximum_seats,
            }
        return data


class ProductPriceHistoryOutput(ProductPriceOutput):
    """A price version with its place in the history (not part of Polar's shape; extra keys are ignored)."""

    def to_representation(self, price: ProductPrice) -> dict:
        data = super().to_representation(price)
        data["version"] = price.version
        data["replaces_id"] = sid(price.replaces_id)
        data["archived_at"] = dt(price.archived_at)
        return data


def product_base_output(product: Product) -> dict:
    """The product fields without prices and benefits (Polar's ``DiscountProduct``)."""
    return {
        "id": str(product.id),
        "created_at": dt(product.created_at),
        "modified_at": dt(product.modified_at),
        "trial_interval": product.trial_interval,
        "trial_interval_count": product.trial_interval_count,
        "name": product.name,
        "description": product.description,
        "visibility": product.visibility,
        "recurring_interval": product.recurring_interval,
        "recurring_interval_count": product.recurring_interval_count,
        "meter_interval": product.meter_interval,
        "meter_interval_count": product.meter_interval_count,
        "is_recurring": product.is_recurring,
        "is_archived": product.is_archived,
        "organization_id": str(product.organization_id),
        "metadata": product.metadata or {},
    }


def product_active_prices(product: Product) -> list[ProductPrice]:
    prices = getattr(product, "active_prices", None)
    if prices is None:
        prices = list(
            product.all_prices.filter(is_archived=False).select_related("meter").order_by("created_at", "id")
        )
    return prices


def product_benefits(product: Product) -> list:
    links = getattr(product, "benefit_links", None)
    if links is None:
        links = list(product.product_benefits.select_related("benefit").filter(benefit__deleted_at__isnull=True))
    return [link.benefit for link in links]


class ProductOutput(serializers.BaseSerializer):
    def to_representation(self, product: Product) -> dict:
        data = product_base_output(product)
        data["prices"] = ProductPriceOutput(product_active_prices(product), many=True).data
        data["benefits"] = BenefitOutput(product_benefits(product), many=True).data
        data["medias"] = []
        data["attached_custom_fields"] = []
        data["is_deletable"] = product_is_deletable(product=product)
        return data


class DiscountProductOutput(serializers.BaseSerializer):
    def to_representation(self, product: Product) -> dict:
        return product_base_output(product)


# --- input ------------------------------------------------------------------

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


class SeatTierInput(serializers.Serializer):
    min_seats = SeatsField()
    max_seats = SeatsField(required=False, allow_null=True)
    price_per_seat = AmountField()


class SeatTiersInput(serializers.Serializer):
    tiers = SeatTierInput(many=True, allow_empty=False)
    seat_tier_type = serializers.ChoiceField(
        choices=ProductPrice.SeatTierType.choices, required=False, allow_null=True, default="volume"
    )


class SeatBasedPriceInput(_PriceBaseInput):
    seat_tiers = SeatTiersInput()


PRICE_INPUTS = {
    "fixed": FixedPriceInput,
    "free": FreePriceInput,
    "custom": CustomPriceInput,
    "metered_unit": MeteredUnitPriceInput,
    "seat_based": SeatBasedPriceInput,
}


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
        child=serializers.DictField(), required=False, allow_null=True, max_length=0
    )

    def validate(self, attrs):
        attrs.pop("medias", None)
        attrs.pop("attached_custom_fields", None)
        if "metadata" in attrs and attrs["metadata"] is None:
            attrs["metadata"] = {}
        return attrs


class ProductCreateInput(_ProductInputBase):
    name = serializers.CharField(min_length=1, max_length=256)
    prices = serializers.ListField(child=PriceInput(allow_existing=False), allow_empty=False, max_length=50)
    organization_id = serializers.UUIDField(required=False, allow_null=True)


class ProductUpdateInput(_ProductInputBase):
    name = serializers.CharField(min_length=1, max_length=256, required=False, allow_null=True)
    prices = serializers.ListField(
        child=PriceInput(allow_existing=True), allow_empty=False, max_length=50, required=False, allow_null=True
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
