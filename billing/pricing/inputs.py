"""The inputs of the pricing engine: frozen, JSON-serialisable dataclasses.

Every order stores ``PricingInput.to_dict()`` beside itself, and ``billing_verify`` recomputes the
order with ``price(PricingInput.from_dict(stored))``. The dict form is therefore a stored format:
add fields with defaults, never rename or remove one.

Conventions: amounts are ``int`` minor units; metered unit prices and quantities are ``Decimal``
(serialised as strings, so no precision is lost through JSON); datetimes are aware and serialised
in ISO 8601; currencies are lowercase ISO 4217 codes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from billing.pricing.tiers import Tiers

AMOUNT_TYPES = ("fixed", "custom", "free", "metered_unit", "seat_based", "metered_tiers", "unit_based")
# Priced from a ``Tiers`` schedule (``rate_tiers``) by billing.pricing.tiers.
RATE_TIERED_TYPES = ("metered_tiers", "unit_based")
METERED_TYPES = ("metered_unit", "metered_tiers")
TIER_MODES = ("volume", "graduated")
DISCOUNT_TYPES = ("percentage", "fixed")
DISCOUNT_DURATIONS = ("once", "forever", "repeating")
LINE_KINDS = ("charge", "credit")


def _dt_out(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt_in(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"datetime {value!r} has no timezone")
    return parsed


def _dec_out(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _dec_in(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass(frozen=True)
class Period:
    """A half-open interval ``[start, end)`` of aware datetimes, ``start < end``."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self):
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, dt.datetime) or value.tzinfo is None:
                raise ValueError(f"Period.{name} must be an aware datetime")
        if not self.start < self.end:
            raise ValueError("Period.start must be before Period.end")

    def contains(self, instant: dt.datetime) -> bool:
        return self.start <= instant < self.end

    def to_dict(self) -> dict:
        return {"start": _dt_out(self.start), "end": _dt_out(self.end)}

    @classmethod
    def from_dict(cls, data: dict) -> Period:
        return cls(start=_dt_in(data["start"]), end=_dt_in(data["end"]))


@dataclass(frozen=True)
class SeatTier:
    """One seat tier: seats ``min_seats``..``max_seats`` (inclusive; ``None`` = unbounded) at ``price_per_seat``."""

    min_seats: int
    max_seats: int | None
    price_per_seat: int

    def to_dict(self) -> dict:
        return {"min_seats": self.min_seats, "max_seats": self.max_seats, "price_per_seat": self.price_per_seat}

    @classmethod
    def from_dict(cls, data: dict) -> SeatTier:
        return cls(min_seats=int(data["min_seats"]), max_seats=data.get("max_seats"), price_per_seat=int(data["price_per_seat"]))


@dataclass(frozen=True)
class PriceVersion:
    """A price as it was when the order was priced (prices are immutable versions in the catalog).

    - ``fixed``: ``amount`` per period; ``custom``: ``amount`` is what the buyer chose; ``free``: 0.
    - ``metered_unit``: ``unit_amount`` (Decimal, minor units, may have fractions of a cent) per unit,
      total optionally capped at ``cap_amount`` (minor units) per period.
    - ``seat_based``: ``tiers`` (sorted, contiguous from 1) and ``tier_mode``: ``volume`` (every seat at
      the price of the tier the seat count falls in) or ``graduated`` (each seat at its own tier's price).
    - ``metered_tiers``: usage (``units − credited_units``) priced on ``rate_tiers`` (a
      ``billing.pricing.tiers.Tiers``), optionally capped at ``cap_amount``; one line item per tier reached.
    - ``unit_based``: the quantity bought (``units``) priced on ``rate_tiers``; prorated like seats.
    """

    price_id: str
    amount_type: str
    currency: str
    amount: int | None = None
    unit_amount: Decimal | None = None
    cap_amount: int | None = None
    tiers: tuple[SeatTier, ...] = ()
    tier_mode: str = "volume"
    rate_tiers: Tiers | None = None

    def __post_init__(self):
        if self.amount_type not in AMOUNT_TYPES:
            raise ValueError(f"amount_type must be one of {AMOUNT_TYPES}")
        if self.amount_type in RATE_TIERED_TYPES and not isinstance(self.rate_tiers, Tiers):
            raise ValueError(f"a {self.amount_type} price needs rate_tiers")
        if self.cap_amount is not None and self.cap_amount < 0:
            raise ValueError("cap_amount must be non-negative")
        if self.amount_type in ("fixed", "custom") and (self.amount is None or self.amount < 0):
            raise ValueError(f"a {self.amount_type} price needs a non-negative amount")
        if self.amount_type == "metered_unit":
            if self.unit_amount is None or self.unit_amount < 0:
                raise ValueError("a metered price needs a non-negative unit_amount")
        if self.amount_type == "seat_based":
            if not self.tiers:
                raise ValueError("a seat-based price needs tiers")
            if self.tier_mode not in TIER_MODES:
                raise ValueError(f"tier_mode must be one of {TIER_MODES}")
            if any(t.price_per_seat < 0 for t in self.tiers):
                raise ValueError("price_per_seat must be non-negative")
        if isinstance(self.unit_amount, (int, float)) and not isinstance(self.unit_amount, bool):
            object.__setattr__(self, "unit_amount", Decimal(str(self.unit_amount)))

    def to_dict(self) -> dict:
        return {
            "price_id": self.price_id,
            "amount_type": self.amount_type,
            "currency": self.currency,
            "amount": self.amount,
            "unit_amount": _dec_out(self.unit_amount),
            "cap_amount": self.cap_amount,
            "tiers": [t.to_dict() for t in self.tiers],
            "tier_mode": self.tier_mode,
            # Only when set, so inputs stored before tiered rates existed read back unchanged.
            **({} if self.rate_tiers is None else {"rate_tiers": self.rate_tiers.to_dict()}),
        }

    @classmethod
    def from_dict(cls, data: dict) -> PriceVersion:
        return cls(
            price_id=data["price_id"],
            amount_type=data["amount_type"],
            currency=data["currency"],
            amount=data.get("amount"),
            unit_amount=_dec_in(data.get("unit_amount")),
            cap_amount=data.get("cap_amount"),
            tiers=tuple(SeatTier.from_dict(t) for t in data.get("tiers") or ()),
            tier_mode=data.get("tier_mode", "volume"),
            rate_tiers=None if data.get("rate_tiers") is None else Tiers.from_dict(data["rate_tiers"]),
        )


@dataclass(frozen=True)
class LineInput:
    """One line to price.

    - ``kind``: ``charge`` (positive) or ``credit`` (negative: unused time given back on a plan change).
    - ``seats``: the seat count, for seat-based prices.
    - ``units`` / ``credited_units``: metered usage for the line's period and the units granted free
      by meter credits; billed quantity is ``max(units - credited_units, 0)``. For a ``unit_based``
      price, ``units`` is the quantity bought (credits do not apply).
    - ``period``: the period this line covers when it differs from the order's (metered usage is
      billed in arrears for the period that closed). Defaults to the order's period.
    - ``prorate_from``: a change at this instant inside the line's period: the line covers only
      ``[prorate_from, period.end)`` and its amount is ``full × remaining seconds / period seconds``.
      Metered lines are never prorated (usage already measures the time).
    - ``tax_rate_bps``: tax rate in basis points (2000 = 20 %) applied to this line after discount.
    - ``discountable``: whether the order's discount applies to this line.
    """

    price: PriceVersion
    label: str
    kind: str = "charge"
    seats: int | None = None
    units: Decimal | None = None
    credited_units: Decimal = Decimal(0)
    period: Period | None = None
    prorate_from: dt.datetime | None = None
    tax_rate_bps: int = 0
    discountable: bool = True
    # Of ``credited_units``, how many roll over to the next period if unused (meter credits with
    # ``rollover``). Not used by the engine: the renewal reads it back from the stored inputs.
    rollover_units: Decimal | None = None

    def __post_init__(self):
        if self.kind not in LINE_KINDS:
            raise ValueError(f"kind must be one of {LINE_KINDS}")
        if not 0 <= self.tax_rate_bps <= 10_000:
            raise ValueError("tax_rate_bps must be between 0 and 10000")
        if self.units is not None and not isinstance(self.units, Decimal):
            object.__setattr__(self, "units", Decimal(str(self.units)))
        if not isinstance(self.credited_units, Decimal):
            object.__setattr__(self, "credited_units", Decimal(str(self.credited_units)))
        if self.units is not None and self.units < 0:
            raise ValueError("units must be non-negative")
        if self.credited_units < 0:
            raise ValueError("credited_units must be non-negative")
        if self.rollover_units is not None:
            if not isinstance(self.rollover_units, Decimal):
                object.__setattr__(self, "rollover_units", Decimal(str(self.rollover_units)))
            if not 0 <= self.rollover_units <= self.credited_units:
                raise ValueError("rollover_units must be between 0 and credited_units")
        if self.price.amount_type == "unit_based" and self.units is None:
            raise ValueError("a unit-based line needs a unit quantity")
        if self.price.amount_type == "seat_based" and (self.seats is None or self.seats < 0):
            raise ValueError("a seat-based line needs a non-negative seat count")
        if self.prorate_from is not None and (self.prorate_from.tzinfo is None):
            raise ValueError("prorate_from must be an aware datetime")

    def to_dict(self) -> dict:
        return {
            "price": self.price.to_dict(),
            "label": self.label,
            "kind": self.kind,
            "seats": self.seats,
            "units": _dec_out(self.units),
            "credited_units": _dec_out(self.credited_units),
            "period": None if self.period is None else self.period.to_dict(),
            "prorate_from": _dt_out(self.prorate_from),
            "tax_rate_bps": self.tax_rate_bps,
            "discountable": self.discountable,
            # Only when set, so inputs stored before rollover existed read back unchanged.
            **({} if self.rollover_units is None else {"rollover_units": _dec_out(self.rollover_units)}),
        }

    @classmethod
    def from_dict(cls, data: dict) -> LineInput:
        return cls(
            price=PriceVersion.from_dict(data["price"]),
            label=data["label"],
            kind=data.get("kind", "charge"),
            seats=data.get("seats"),
            units=_dec_in(data.get("units")),
            credited_units=_dec_in(data.get("credited_units")) or Decimal(0),
            period=None if data.get("period") is None else Period.from_dict(data["period"]),
            prorate_from=_dt_in(data.get("prorate_from")),
            tax_rate_bps=int(data.get("tax_rate_bps", 0)),
            discountable=bool(data.get("discountable", True)),
            rollover_units=_dec_in(data.get("rollover_units")),
        )


@dataclass(frozen=True)
class DiscountInput:
    """The discount state for this order.

    - ``type``: ``percentage`` (``basis_points``, 1000 = 10 %) or ``fixed`` (``amounts`` by currency,
      minor units, taken off the order once, spread over its charge lines in order).
    - ``duration``: ``once`` / ``forever`` / ``repeating`` (with ``months_remaining``).
    - ``applies``: the caller's decision that the discount applies to this order (``once`` only on the
      first order, ``repeating`` while months remain…). The engine also refuses a ``repeating``
      discount with no months remaining, as a second guard.
    """

    discount_id: str
    type: str
    basis_points: int | None = None
    amounts: dict[str, int] = field(default_factory=dict)
    duration: str = "once"
    months_remaining: int | None = None
    applies: bool = True

    def __post_init__(self):
        if self.type not in DISCOUNT_TYPES:
            raise ValueError(f"discount type must be one of {DISCOUNT_TYPES}")
        if self.duration not in DISCOUNT_DURATIONS:
            raise ValueError(f"discount duration must be one of {DISCOUNT_DURATIONS}")
        if self.type == "percentage" and (self.basis_points is None or not 0 <= self.basis_points <= 10_000):
            raise ValueError("a percentage discount needs basis_points between 0 and 10000")
        if self.type == "fixed" and any(v < 0 for v in self.amounts.values()):
            raise ValueError("fixed discount amounts must be non-negative")

    def is_active(self) -> bool:
        if not self.applies:
            return False
        if self.duration == "repeating" and (self.months_remaining or 0) <= 0:
            return False
        return True

    def to_dict(self) -> dict:
        return {
            "discount_id": self.discount_id,
            "type": self.type,
            "basis_points": self.basis_points,
            "amounts": dict(self.amounts),
            "duration": self.duration,
            "months_remaining": self.months_remaining,
            "applies": self.applies,
        }

    @classmethod
    def from_dict(cls, data: dict) -> DiscountInput:
        return cls(
            discount_id=data["discount_id"],
            type=data["type"],
            basis_points=data.get("basis_points"),
            amounts={k: int(v) for k, v in (data.get("amounts") or {}).items()},
            duration=data.get("duration", "once"),
            months_remaining=data.get("months_remaining"),
            applies=bool(data.get("applies", True)),
        )


@dataclass(frozen=True)
class PricingInput:
    """Everything one order is priced from. ``lines`` keep their order in the output."""

    period: Period
    currency: str
    lines: tuple[LineInput, ...]
    discount: DiscountInput | None = None

    VERSION = 1

    def __post_init__(self):
        if not isinstance(self.lines, tuple):
            object.__setattr__(self, "lines", tuple(self.lines))
        for line in self.lines:
            if line.price.currency != self.currency:
                raise ValueError(f"line {line.label!r} is in {line.price.currency}, the order in {self.currency}")

    def to_dict(self) -> dict:
        return {
            "version": self.VERSION,
            "period": self.period.to_dict(),
            "currency": self.currency,
            "lines": [line.to_dict() for line in self.lines],
            "discount": None if self.discount is None else self.discount.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> PricingInput:
        if data.get("version", 1) != cls.VERSION:
            raise ValueError(f"unknown pricing input version {data.get('version')!r}")
        return cls(
            period=Period.from_dict(data["period"]),
            currency=data["currency"],
            lines=tuple(LineInput.from_dict(line) for line in data["lines"]),
            discount=None if data.get("discount") is None else DiscountInput.from_dict(data["discount"]),
        )
