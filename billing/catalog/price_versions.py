"""The pricing engine's view of a stored price (``billing.pricing.PriceVersion``), built from a
``ProductPrice`` row. It lives with the catalog, which owns prices, so that every reader of usage (orders,
renewals, subscriptions, customer meters) builds a price version the same way without importing orders."""

from billing.models import ProductPrice
from billing.pricing import PriceVersion, SeatTier, Tiers


def price_version_for(product_price: ProductPrice, *, custom_amount: int | None = None) -> PriceVersion:
    """The engine's view of one immutable price version. ``custom_amount`` is what a pay-what-you-want
    buyer chose (defaults to the preset, else the minimum)."""
    amount_type = product_price.amount_type
    common = {"price_id": str(product_price.id), "currency": product_price.price_currency}
    if amount_type == ProductPrice.AmountType.FIXED:
        return PriceVersion(amount_type="fixed", amount=product_price.price_amount, **common)
    if amount_type == ProductPrice.AmountType.CUSTOM:
        chosen = custom_amount
        if chosen is None:
            chosen = product_price.preset_amount if product_price.preset_amount is not None else product_price.minimum_amount
        return PriceVersion(amount_type="custom", amount=chosen or 0, **common)
    if amount_type == ProductPrice.AmountType.SEAT_BASED:
        tiers = tuple(
            SeatTier(min_seats=t["min_seats"], max_seats=t.get("max_seats"), price_per_seat=t["price_per_seat"])
            for t in product_price.seat_tiers or ()
        )
        return PriceVersion(amount_type="seat_based", tiers=tiers, tier_mode=product_price.seat_tier_type or "volume", **common)
    if amount_type in (ProductPrice.AmountType.METERED_TIERS, ProductPrice.AmountType.UNIT_BASED):
        # The schedule travels with the stored inputs, so billing_verify reprices from it alone.
        return PriceVersion(
            amount_type=amount_type,
            rate_tiers=Tiers.from_dict(product_price.tiers),
            cap_amount=product_price.cap_amount if amount_type == ProductPrice.AmountType.METERED_TIERS else None,
            **common,
        )
    return PriceVersion(
        amount_type="metered_unit", unit_amount=product_price.unit_amount, cap_amount=product_price.cap_amount, **common
    )
