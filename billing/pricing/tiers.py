"""The tier engine: one schedule of rates serves ``metered_tiers`` (usage in arrears), ``unit_based``
(a quantity bought up front) and, from API 2027-01, the seat-based price's wire shape. Pure: no ORM.

A schedule is Polar's ``Tiers``: ``type`` (``graduated`` | ``volume``) and ``tiers`` =
``[{bound, unit_amount}]``. ``bound`` is the tier's **inclusive upper bound** (``None`` only on an
unbounded last tier); each tier starts where the previous one ended and the first starts at 0, so tier
*i* covers ``(previous bound, bound]``. ``unit_amount`` is a ``Decimal`` of minor units (cents) and may
be fractional.

- ``graduated``: each tier prices the units that fall in its own range (1,500 calls with "first 1,000
  free, then 0.5" → 1,000 × 0 + 500 × 0.5).
- ``volume``: the tier the whole quantity falls in prices every unit (a quantity exactly on a bound
  belongs to that tier: 10 licences with bounds 10 / 50 are all at the first rate).

``tier_breakdown`` returns one ``TierLine`` per tier reached (graduated) or the one tier reached
(volume). Each line's amount is its exact ``units × unit_amount`` **rounded once, half away from
zero** (``polar.money.round_minor_units``); the total is the sum of the rounded lines, never rounded
again. A cap applies after the tiers: lines keep their amounts in tier order until the cap is used up,
the line where it bites is cut to what is left, later lines bill 0 (their units still shown).

Relation between the modes (documented and property-tested): with rates that never increase from one
tier to the next (volume discounts), ``volume(q) ≤ graduated(q)`` before rounding; with rates that
never decrease, ``graduated(q) ≤ volume(q)``; with one tier, or equal rates, they are equal. Graduated
is monotone in the quantity; volume with falling rates is not (the cliff at a bound: 10 licences at
10.00 cost more than 11 at 8.00), which is how volume pricing works everywhere (Stripe, Lago).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from polar.money import round_minor_units

TIER_TYPES = ("graduated", "volume")


class TierError(ValueError):
    """A schedule that breaks the rules, or a quantity no tier covers. ``loc`` is the path inside the
    schedule (``("tiers", 2, "bound")``) that the API reports in its 422."""

    def __init__(self, message: str, loc: tuple = ()):
        super().__init__(message)
        self.loc = loc


@dataclass(frozen=True)
class Tier:
    """Units in ``(previous bound, bound]`` at ``unit_amount`` minor units each."""

    bound: int | None
    unit_amount: Decimal

    def to_dict(self) -> dict:
        return {"bound": self.bound, "unit_amount": _decimal_text(self.unit_amount)}


@dataclass(frozen=True)
class Tiers:
    """A validated schedule. Construction raises ``TierError`` for: no tiers, an unknown type, a bound
    that is not a positive integer, bounds not strictly increasing (unsorted or repeated), ``None``
    on any tier but the last, a negative or non-finite rate."""

    type: str
    tiers: tuple[Tier, ...]

    def __post_init__(self):
        if self.type not in TIER_TYPES:
            raise TierError(f"type must be one of {TIER_TYPES}", ("type",))
        tiers = tuple(Tier(t.bound, _decimal(t.unit_amount, ("tiers", i, "unit_amount"))) for i, t in enumerate(self.tiers))
        object.__setattr__(self, "tiers", tiers)
        if not tiers:
            raise TierError("At least one tier is required.", ("tiers",))
        previous = 0
        for index, tier in enumerate(tiers):
            loc = ("tiers", index)
            if tier.unit_amount < 0:
                raise TierError("Input should be greater than or equal to 0", (*loc, "unit_amount"))
            if tier.bound is None:
                if index != len(tiers) - 1:
                    raise TierError("Only the last tier can be unbounded.", (*loc, "bound"))
                continue
            if isinstance(tier.bound, bool) or not isinstance(tier.bound, int) or tier.bound <= 0:
                raise TierError("A tier's bound must be a positive integer.", (*loc, "bound"))
            if tier.bound <= previous:
                raise TierError("Tier bounds must be strictly increasing (sorted, no repeats).", (*loc, "bound"))
            previous = tier.bound

    @property
    def last_bound(self) -> int | None:
        return self.tiers[-1].bound

    def to_dict(self) -> dict:
        return {"type": self.type, "tiers": [t.to_dict() for t in self.tiers]}

    @classmethod
    def from_dict(cls, data: dict) -> Tiers:
        return cls(
            type=data["type"],
            tiers=tuple(Tier(bound=t.get("bound"), unit_amount=Decimal(str(t["unit_amount"]))) for t in data["tiers"]),
        )


@dataclass(frozen=True)
class TierLine:
    """One tier reached: ``units`` in ``(start, end]`` (``end`` None = unbounded) at ``unit_amount``.
    ``exact`` is ``units × unit_amount``; ``amount`` is what it bills after rounding and the cap."""

    index: int
    start: int
    end: int | None
    units: Decimal
    unit_amount: Decimal
    exact: Decimal
    amount: int
    capped: bool = False


@dataclass(frozen=True)
class TierBreakdown:
    type: str
    quantity: Decimal
    lines: tuple[TierLine, ...]
    uncapped_amount: int  # sum of the rounded tier lines before the cap
    amount: int  # sum of ``lines[*].amount``: what is billed
    cap_amount: int | None


def _decimal(value, loc) -> Decimal:
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    if not value.is_finite():
        raise TierError("Input should be a finite number", loc)
    return value


def _decimal_text(value: Decimal) -> str:
    # "0.500000000000" -> "0.5", "100" -> "100" (never an exponent): the wire's decimal string.
    text = format(value.normalize(), "f")
    return text


def tier_breakdown(tiers: Tiers, quantity, cap_amount: int | None = None) -> TierBreakdown:
    """Price ``quantity`` (≥ 0, may be fractional for metered usage) on ``tiers``; see the module doc.

    Zero gives one line for the first tier with 0 units and 0 amount (an invoice still shows the
    rate). Raises ``TierError`` when the quantity is negative or beyond a bounded last tier.
    """
    quantity = _decimal(quantity, ("quantity",))
    if quantity < 0:
        raise TierError(f"Negative quantity: {quantity}", ("quantity",))
    last = tiers.last_bound
    if last is not None and quantity > last:
        raise TierError(f"No tier covers quantity {quantity} (the last tier ends at {last})", ("quantity",))
    raw: list[tuple[int, int, int | None, Decimal, Decimal]] = []  # (index, start, end, units, rate)
    previous = 0
    for index, tier in enumerate(tiers.tiers):
        in_range = tier.bound is None or quantity <= tier.bound
        if tiers.type == "volume":
            if in_range:
                raw.append((index, previous, tier.bound, quantity, tier.unit_amount))
                break
        else:
            units = (quantity if in_range else Decimal(tier.bound)) - previous
            if units > 0 or index == 0:
                raw.append((index, previous, tier.bound, max(units, Decimal(0)), tier.unit_amount))
            if in_range:
                break
        previous = tier.bound
    lines: list[TierLine] = []
    budget = cap_amount
    uncapped = 0
    for index, start, end, units, rate in raw:
        exact = units * rate
        amount = round_minor_units(exact)
        uncapped += amount
        capped = False
        if budget is not None:
            if amount > budget:
                amount, capped = budget, True
            budget -= amount
        lines.append(TierLine(index, start, end, units, rate, exact, amount, capped))
    return TierBreakdown(
        type=tiers.type,
        quantity=quantity,
        lines=tuple(lines),
        uncapped_amount=uncapped,
        amount=sum(line.amount for line in lines),
        cap_amount=cap_amount,
    )


def tiered_amount(tiers: Tiers, quantity, cap_amount: int | None = None) -> int:
    """What ``quantity`` bills on ``tiers`` (the sum of ``tier_breakdown``'s lines)."""
    return tier_breakdown(tiers, quantity, cap_amount).amount


def tier_line_label(line: TierLine, *, type: str, unit: str = "units") -> str:
    """How an invoice shows one tier line: "units 1,001–100,000: 99,000 × 0.5¢" (graduated) or
    "11 units at the 11–50 rate: 11 × 800¢" (volume). ``¢`` = the currency's minor unit."""
    units = _quantity_text(line.units)
    rate = _decimal_text(line.unit_amount)
    span = f"{line.start + 1:,}–{line.end:,}" if line.end is not None else f"{line.start + 1:,}+"
    capped = " (capped)" if line.capped else ""
    if type == "volume":
        return f"{units} {unit} at the {span} rate: {units} × {rate}¢{capped}"
    return f"{unit} {span}: {units} × {rate}¢{capped}"


def _quantity_text(value: Decimal) -> str:
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return _decimal_text(value)
