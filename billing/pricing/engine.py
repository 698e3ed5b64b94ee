"""The pricing engine: ``price(PricingInput) -> PricingResult``. Pure: no ORM, no clock, no I/O.

Per line, in this order, each figure computed exactly in ``Decimal`` and rounded **once** to minor
units, half away from zero (``polar.money.round_minor_units``):

1. ``amount``: the price's full amount for the line's period (fixed / custom / seats / metered usage,
   capped), times ``remaining seconds / period seconds`` when the line is prorated from an instant
   (Stripe's rule, by the second); negative for a ``credit`` line.
2. ``discount_amount``: a percentage discount takes ``round(|amount| × bps / 10000)`` off each
   discountable line (with the line's sign, so a discounted plan's credit is discounted too); a fixed
   discount is spread over the discountable charge lines in order, never more than a line's amount,
   until the fixed amount is used up.
3. ``tax_amount``: ``round(|amount − discount| × tax_rate_bps / 10000)`` with the line's sign.

Totals are sums of the rounded line figures (never re-rounded): ``subtotal − discount = net``,
``net + tax = total``. ``total`` is negative only when credits exceed charges; then
``amount_due`` is 0 and ``credit_carried`` says how much the caller carries to the next order.

Invariants (property-tested in tests/billing/pricing): a full period costs the full price; a change
and its immediate reversal net to zero within one minor unit per line; ``|discount| ≤ |amount|`` on
every line; with no credit lines every total is ≥ 0; ``amount_due ≥ 0`` always; a metered line
never exceeds its cap.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from billing.pricing.inputs import (
    DiscountInput,
    LineInput,
    Period,
    PriceVersion,
    PricingInput,
)
from billing.pricing.periods import period_seconds
from billing.pricing.tiers import Tier, TierError, Tiers, tier_breakdown, tier_line_label
from polar.money import round_minor_units

_BPS = Decimal(10_000)


class PricingError(ValueError):
    """Inputs that cannot be priced (seats outside the tiers, a proration instant outside the period…)."""


def _billable_units(line: LineInput) -> Decimal:
    return max((line.units or Decimal(0)) - line.credited_units, Decimal(0))


def _tier_parts(line: LineInput) -> list[tuple[str, Decimal]]:
    """A rate-tiered line as one part per tier reached: ``(label, exact amount)``. ``metered_tiers``
    parts are already rounded and capped (their sum never exceeds the cap); ``unit_based`` parts are
    exact, so a prorated part is rounded once, after the proration."""
    price = line.price
    metered = price.amount_type == "metered_tiers"
    quantity = _billable_units(line) if metered else (line.units or Decimal(0))
    try:
        breakdown = tier_breakdown(price.rate_tiers, quantity, price.cap_amount if metered else None)
    except TierError as exc:
        raise PricingError(f"price {price.price_id}: {exc}") from None
    return [
        (
            f"{line.label} · {tier_line_label(tl, type=breakdown.type)}",
            Decimal(tl.amount) if metered else tl.exact,
        )
        for tl in breakdown.lines
    ]


@dataclass(frozen=True)
class LineItem:
    label: str
    amount: int
    currency: str
    proration: bool
    price_id: str
    period_start: dt.datetime
    period_end: dt.datetime
    discount_amount: int
    tax_amount: int
    tax_rate_bps: int

    @property
    def net_amount(self) -> int:
        return self.amount - self.discount_amount

    @property
    def total_amount(self) -> int:
        return self.net_amount + self.tax_amount

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "amount": self.amount,
            "currency": self.currency,
            "proration": self.proration,
            "price_id": self.price_id,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "discount_amount": self.discount_amount,
            "tax_amount": self.tax_amount,
            "tax_rate_bps": self.tax_rate_bps,
        }


@dataclass(frozen=True)
class PricingResult:
    currency: str
    lines: tuple[LineItem, ...]
    subtotal_amount: int
    discount_amount: int
    net_amount: int
    tax_amount: int
    total_amount: int
    amount_due: int
    credit_carried: int

    def to_dict(self) -> dict:
        return {
            "currency": self.currency,
            "lines": [line.to_dict() for line in self.lines],
            "subtotal_amount": self.subtotal_amount,
            "discount_amount": self.discount_amount,
            "net_amount": self.net_amount,
            "tax_amount": self.tax_amount,
            "total_amount": self.total_amount,
            "amount_due": self.amount_due,
            "credit_carried": self.credit_carried,
        }


def seat_amount(price: PriceVersion, seats: int) -> int:
    """The full-period amount for ``seats`` seats of a seat-based price, through the tier engine
    (``billing.pricing.tiers``: the seat tiers are the schedule with ``bound = max_seats``, the shape
    API 2027-01 shows them in; seat prices are whole cents, so nothing is rounded).

    ``volume``: every seat at the price of the tier that contains ``seats``.
    ``graduated``: seats 1..n each at the price of the tier they fall in (first seats in the first tier).
    Zero seats cost 0. Raises ``PricingError`` when ``seats`` lies outside the tiers.
    """
    if seats == 0:
        return 0
    tiers = sorted(price.tiers, key=lambda t: t.min_seats)
    if seats < tiers[0].min_seats:
        raise PricingError(f"{seats} seats are outside the tiers of price {price.price_id}")
    try:
        schedule = Tiers(price.tier_mode, tuple(Tier(t.max_seats, Decimal(t.price_per_seat)) for t in tiers))
        return tier_breakdown(schedule, seats).amount
    except TierError:
        raise PricingError(f"{seats} seats are outside the tiers of price {price.price_id}") from None


def full_amount(line: LineInput) -> Decimal:
    """The exact (unrounded, unsigned) amount of a line for its whole period, before proration."""
    price = line.price
    if price.amount_type in ("fixed", "custom"):
        return Decimal(price.amount)
    if price.amount_type == "free":
        return Decimal(0)
    if price.amount_type == "seat_based":
        return Decimal(seat_amount(price, line.seats or 0))
    if price.amount_type in ("metered_tiers", "unit_based"):
        return sum((exact for _label, exact in _tier_parts(line)), Decimal(0))
    # metered_unit
    billable = _billable_units(line)
    exact = price.unit_amount * billable
    if price.cap_amount is not None:
        exact = min(exact, Decimal(price.cap_amount))
    return exact


def proration_factor(period: Period, instant: dt.datetime) -> Decimal:
    """``remaining seconds / period seconds`` for a change at ``instant`` in ``[period.start, period.end]``.

    1 at the period start, 0 at its end. Raises ``PricingError`` for an instant outside the period.
    """
    if not period.start <= instant <= period.end:
        raise PricingError(f"proration instant {instant.isoformat()} is outside the period")
    total = period_seconds(period.start, period.end)
    remaining = period_seconds(instant, period.end)
    return Decimal(remaining) / Decimal(total)


def _signed_round(magnitude: Decimal, sign: int) -> int:
    # Rounding the magnitude keeps a credit the exact mirror of the equal charge.
    return sign * round_minor_units(magnitude)


def price(pricing_input: PricingInput) -> PricingResult:
    """Price an order. Deterministic: the same input always gives the same result.

    Raises ``PricingError`` (a ``ValueError``) for inputs that cannot be priced. See the module
    docstring for the rules and invariants.
    """
    discount = pricing_input.discount if pricing_input.discount and pricing_input.discount.is_active() else None
    fixed_left = _fixed_discount_budget(discount, pricing_input.currency)
    items: list[LineItem] = []
    for line in pricing_input.lines:
        period = line.period or pricing_input.period
        sign = -1 if line.kind == "credit" else 1
        start = period.start
        prorated = line.prorate_from is not None
        factor = Decimal(1)
        if prorated:
            if line.price.amount_type in ("metered_unit", "metered_tiers"):
                raise PricingError("metered lines are billed on usage and cannot be prorated")
            factor = proration_factor(period, line.prorate_from)
            start = line.prorate_from
        # A rate-tiered price is one line item per tier reached, so the invoice shows how it was made.
        if line.price.amount_type in ("metered_tiers", "unit_based"):
            parts = _tier_parts(line)
        else:
            parts = [(line.label, full_amount(line))]
        for label, exact in parts:
            amount = _signed_round(exact * factor if prorated else exact, sign)
            discount_amount = 0
            if discount is not None and line.discountable and amount != 0:
                if discount.type == "percentage":
                    discount_amount = _signed_round(Decimal(abs(amount)) * discount.basis_points / _BPS, sign)
                elif amount > 0:
                    discount_amount = min(fixed_left, amount)
                    fixed_left -= discount_amount
            net = amount - discount_amount
            tax_amount = _signed_round(Decimal(abs(net)) * line.tax_rate_bps / _BPS, 1 if net >= 0 else -1)
            items.append(
                LineItem(
                    label=label,
                    amount=amount,
                    currency=pricing_input.currency,
                    proration=prorated,
                    price_id=line.price.price_id,
                    period_start=start,
                    period_end=period.end,
                    discount_amount=discount_amount,
                    tax_amount=tax_amount,
                    tax_rate_bps=line.tax_rate_bps,
                )
            )
    subtotal = sum(i.amount for i in items)
    discount_total = sum(i.discount_amount for i in items)
    tax = sum(i.tax_amount for i in items)
    net = subtotal - discount_total
    total = net + tax
    return PricingResult(
        currency=pricing_input.currency,
        lines=tuple(items),
        subtotal_amount=subtotal,
        discount_amount=discount_total,
        net_amount=net,
        tax_amount=tax,
        total_amount=total,
        amount_due=max(total, 0),
        credit_carried=max(-total, 0),
    )


def _fixed_discount_budget(discount: DiscountInput | None, currency: str) -> int:
    if discount is None or discount.type != "fixed":
        return 0
    return discount.amounts.get(currency, 0)
