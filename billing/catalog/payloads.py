"""Output shapes of catalog: what the API returns and webhooks carry, computed from loaded rows."""

from decimal import Decimal

from rest_framework import serializers

from billing.catalog.selectors import product_is_deletable
from billing.custom_fields.payloads import attached_custom_fields_output
from billing.models import Benefit, Product, ProductPrice
from polar.api.formatting import dt, sid


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


# A product carries its benefits, so the benefit's shape lives with the catalog; the benefits package
# (definitions' services and grants) renders it from here.
def benefit_properties_output(benefit: Benefit) -> dict:
    props = benefit.properties or {}
    if benefit.type == Benefit.Type.CUSTOM:
        return {"note": props.get("note")}
    if benefit.type == Benefit.Type.METER_CREDIT:
        return {"units": props["units"], "rollover": props["rollover"], "meter_id": str(benefit.meter_id)}
    if benefit.type == Benefit.Type.LICENSE_KEYS:
        return {
            "prefix": props.get("prefix"),
            "expires": props.get("expires"),
            "activations": props.get("activations"),
            "limit_usage": props.get("limit_usage"),
        }
    return {}


class BenefitOutput(serializers.BaseSerializer):
    def to_representation(self, benefit: Benefit) -> dict:
        return {
            "id": str(benefit.id),
            "created_at": dt(benefit.created_at),
            "modified_at": dt(benefit.modified_at),
            # The discriminator: 1.0.2 requires it, 0.32.0 uses it to pick the model.
            "type": benefit.type,
            "description": benefit.description,
            "selectable": benefit.selectable,
            "deletable": benefit.deletable,
            "is_deleted": benefit.is_deleted,
            "organization_id": str(benefit.organization_id),
            "metadata": benefit.metadata or {},
            "visibility": benefit.visibility,
            "visibility_configurable": True,
            "properties": benefit_properties_output(benefit),
        }


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
        elif amount_type == ProductPrice.AmountType.METERED_TIERS:
            data["cap_amount"] = price.cap_amount
            data["meter_id"] = str(price.meter_id)
            data["meter"] = meter_summary(price.meter)
            data["tiers"] = price.tiers
        elif amount_type == ProductPrice.AmountType.UNIT_BASED:
            data["tiers"] = price.tiers
            data["minimum_units"] = price.minimum_units
            data["unit_label"] = price.unit_label
            data["maximum_units"] = price.maximum_units
        elif amount_type == ProductPrice.AmountType.SEAT_BASED:
            # The 2027-01 shape (polar.api.versions turns it into 2026's ``seat_tiers`` for older clients).
            data["tiers"] = {
                "type": price.seat_tier_type or "volume",
                "tiers": [
                    {"bound": tier.get("max_seats"), "unit_amount": decimal_string(Decimal(tier["price_per_seat"]))}
                    for tier in price.seat_tiers or ()
                ],
            }
            data["minimum_units"] = price.minimum_seats
            data["maximum_units"] = price.maximum_seats
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
        prices = list(product.all_prices.filter(is_archived=False).select_related("meter").order_by("created_at", "id"))
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
        data["attached_custom_fields"] = attached_custom_fields_output(product)
        data["is_deletable"] = product_is_deletable(product=product)
        return data


class DiscountProductOutput(serializers.BaseSerializer):
    def to_representation(self, product: Product) -> dict:
        return product_base_output(product)


# --- input ------------------------------------------------------------------
