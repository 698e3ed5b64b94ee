"""The pure pricing engine: (period, price versions, quantities, seats, discount state, proration
instants) → line items and totals. No ORM, no clock, no Django: callers read the database and the
clock, build a ``PricingInput``, store its ``to_dict()`` with the order, and call ``price()``.
See docs/pricing.md.
"""

from billing.pricing.engine import LineItem, PricingError, PricingResult, full_amount, price, proration_factor, seat_amount
from billing.pricing.inputs import DiscountInput, LineInput, Period, PriceVersion, PricingInput, SeatTier
from billing.pricing.periods import iter_periods, next_period_end, period_seconds
from billing.pricing.tiers import Tier, TierBreakdown, TierError, TierLine, Tiers, tier_breakdown, tier_line_label, tiered_amount

__all__ = [
    "DiscountInput",
    "LineInput",
    "LineItem",
    "Period",
    "PriceVersion",
    "PricingError",
    "PricingInput",
    "PricingResult",
    "SeatTier",
    "Tier",
    "TierBreakdown",
    "TierError",
    "TierLine",
    "Tiers",
    "full_amount",
    "iter_periods",
    "next_period_end",
    "period_seconds",
    "price",
    "proration_factor",
    "seat_amount",
    "tier_breakdown",
    "tier_line_label",
    "tiered_amount",
]
