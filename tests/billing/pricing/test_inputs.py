"""billing/pricing/inputs.py: what the engine refuses (each rule at its boundary, with its exact message), the
stored dict form (exact keys and values, and the defaults a dict stored before a field existed reads back
with), and the conversions to Decimal. The stored form is how ``billing_verify`` recomputes old orders, so a
change to any of it must fail here."""

import datetime as dt
import re
from decimal import Decimal

import pytest

from billing.pricing import DiscountInput, LineInput, Period, PriceVersion, PricingInput, SeatTier
from billing.pricing.tiers import Tier, Tiers

UTC = dt.UTC
T0 = dt.datetime(2025, 1, 1, tzinfo=UTC)
T1 = dt.datetime(2025, 2, 1, tzinfo=UTC)
JAN = Period(T0, T1)


def fixed(amount=1000, currency="usd"):
    return PriceVersion(price_id="p", amount_type="fixed", currency=currency, amount=amount)


def rate_tiers():
    return Tiers(type="graduated", tiers=(Tier(bound=10, unit_amount=Decimal(1)), Tier(None, Decimal(2))))


def refused(message):
    return pytest.raises(ValueError, match="^" + re.escape(message) + "$")


# --- Period --------------------------------------------------------------------------------------


def test_period_needs_aware_datetimes_in_order():
    with refused("Period.start must be an aware datetime"):
        Period(dt.datetime(2025, 1, 1), T1)
    with refused("Period.end must be an aware datetime"):
        Period(T0, dt.datetime(2025, 2, 1))
    with refused("Period.start must be an aware datetime"):
        Period("2025-01-01T00:00:00+00:00", T1)
    with refused("Period.start must be before Period.end"):
        Period(T0, T0)
    with refused("Period.start must be before Period.end"):
        Period(T1, T0)
    assert Period(T0, T0 + dt.timedelta(microseconds=1)).end > T0


def test_period_is_half_open():
    assert JAN.contains(T0) is True
    assert JAN.contains(T1 - dt.timedelta(microseconds=1)) is True
    assert JAN.contains(T1) is False
    assert JAN.contains(T0 - dt.timedelta(microseconds=1)) is False


def test_period_dict_form():
    assert JAN.to_dict() == {"start": "2025-01-01T00:00:00+00:00", "end": "2025-02-01T00:00:00+00:00"}
    assert Period.from_dict(JAN.to_dict()) == JAN
    with refused("datetime '2025-01-01T00:00:00' has no timezone"):
        Period.from_dict({"start": "2025-01-01T00:00:00", "end": "2025-02-01T00:00:00+00:00"})


# --- PriceVersion --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amount_type": "yearly"}, "amount_type must be one of ('fixed', 'custom', 'free', 'metered_unit', 'seat_based', 'metered_tiers', 'unit_based')"),
        ({"amount_type": "metered_tiers"}, "a metered_tiers price needs rate_tiers"),
        ({"amount_type": "unit_based"}, "a unit_based price needs rate_tiers"),
        ({"amount_type": "free", "cap_amount": -1}, "cap_amount must be non-negative"),
        ({"amount_type": "fixed"}, "a fixed price needs a non-negative amount"),
        ({"amount_type": "fixed", "amount": -1}, "a fixed price needs a non-negative amount"),
        ({"amount_type": "custom", "amount": -1}, "a custom price needs a non-negative amount"),
        ({"amount_type": "metered_unit"}, "a metered price needs a non-negative unit_amount"),
        ({"amount_type": "metered_unit", "unit_amount": Decimal("-0.01")}, "a metered price needs a non-negative unit_amount"),
        ({"amount_type": "metered_unit", "unit_amount": Decimal(1), "cap_amount": -1}, "cap_amount must be non-negative"),
        ({"amount_type": "seat_based"}, "a seat-based price needs tiers"),
        ({"amount_type": "seat_based", "tiers": (SeatTier(1, None, 100),), "tier_mode": "stairs"}, "tier_mode must be one of ('volume', 'graduated')"),
        ({"amount_type": "seat_based", "tiers": (SeatTier(1, None, -1),)}, "price_per_seat must be non-negative"),
    ],
)  # fmt: skip
def test_price_version_refuses(kwargs, message):
    with refused(message):
        PriceVersion(price_id="p", currency="usd", **kwargs)


def test_price_version_accepts_the_boundaries():
    assert fixed(0).amount == 0
    assert PriceVersion(price_id="p", amount_type="custom", currency="usd", amount=0).amount == 0
    assert PriceVersion(price_id="p", amount_type="free", currency="usd", cap_amount=0).cap_amount == 0
    metered = PriceVersion(price_id="p", amount_type="metered_unit", currency="usd", unit_amount=Decimal(0), cap_amount=0)
    assert (metered.unit_amount, metered.cap_amount) == (Decimal(0), 0)
    seats = PriceVersion(price_id="p", amount_type="seat_based", currency="usd", tiers=(SeatTier(1, None, 0),))
    assert seats.tier_mode == "volume"
    graduated = PriceVersion(
        price_id="p", amount_type="seat_based", currency="usd", tiers=(SeatTier(1, None, 0),), tier_mode="graduated"
    )
    assert graduated.tier_mode == "graduated"


def test_price_version_unit_amount_becomes_an_exact_decimal():
    from_float = PriceVersion(price_id="p", amount_type="metered_unit", currency="usd", unit_amount=0.1)
    assert from_float.unit_amount == Decimal("0.1") and isinstance(from_float.unit_amount, Decimal)
    from_int = PriceVersion(price_id="p", amount_type="metered_unit", currency="usd", unit_amount=3)
    assert from_int.unit_amount == Decimal(3) and isinstance(from_int.unit_amount, Decimal)


def test_price_version_dict_form():
    price = PriceVersion(price_id="p_m", amount_type="metered_unit", currency="eur", unit_amount=Decimal("0.125"), cap_amount=900)
    assert price.to_dict() == {
        "price_id": "p_m",
        "amount_type": "metered_unit",
        "currency": "eur",
        "amount": None,
        "unit_amount": "0.125",
        "cap_amount": 900,
        "tiers": [],
        "tier_mode": "volume",
    }
    assert PriceVersion.from_dict(price.to_dict()) == price
    seats = PriceVersion(
        price_id="p_s", amount_type="seat_based", currency="usd", tiers=(SeatTier(1, 5, 100), SeatTier(6, None, 80)),
        tier_mode="graduated",
    )  # fmt: skip
    stored = seats.to_dict()
    assert stored["tiers"] == [
        {"min_seats": 1, "max_seats": 5, "price_per_seat": 100},
        {"min_seats": 6, "max_seats": None, "price_per_seat": 80},
    ]
    assert PriceVersion.from_dict(stored) == seats
    tiered = PriceVersion(price_id="p_t", amount_type="metered_tiers", currency="usd", rate_tiers=rate_tiers())
    assert tiered.to_dict()["rate_tiers"] == rate_tiers().to_dict()
    assert PriceVersion.from_dict(tiered.to_dict()) == tiered


def test_price_version_defaults_of_an_old_stored_dict():
    old = {
        "price_id": "p",
        "amount_type": "seat_based",
        "currency": "usd",
        "tiers": [{"min_seats": "1", "price_per_seat": "100"}],
    }
    price = PriceVersion.from_dict(old)
    assert price.tier_mode == "volume"
    assert price.tiers == (SeatTier(1, None, 100),)
    assert (price.amount, price.unit_amount, price.cap_amount, price.rate_tiers) == (None, None, None, None)
    assert PriceVersion.from_dict({"price_id": "p", "amount_type": "free", "currency": "usd", "tiers": None}).tiers == ()


# --- LineInput -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "refund"}, "kind must be one of ('charge', 'credit')"),
        ({"tax_rate_bps": -1}, "tax_rate_bps must be between 0 and 10000"),
        ({"tax_rate_bps": 10_001}, "tax_rate_bps must be between 0 and 10000"),
        ({"units": Decimal("-0.001")}, "units must be non-negative"),
        ({"credited_units": Decimal("-1")}, "credited_units must be non-negative"),
        ({"credited_units": Decimal(5), "rollover_units": Decimal(6)}, "rollover_units must be between 0 and credited_units"),
        ({"credited_units": Decimal(5), "rollover_units": Decimal(-1)}, "rollover_units must be between 0 and credited_units"),
        ({"prorate_from": dt.datetime(2025, 1, 5)}, "prorate_from must be an aware datetime"),
    ],
)  # fmt: skip
def test_line_input_refuses(kwargs, message):
    with refused(message):
        LineInput(price=fixed(), label="Pro", **kwargs)


def test_line_input_refuses_lines_its_price_cannot_take():
    unit_based = PriceVersion(price_id="p", amount_type="unit_based", currency="usd", rate_tiers=rate_tiers())
    with refused("a unit-based line needs a unit quantity"):
        LineInput(price=unit_based, label="Licences")
    assert LineInput(price=unit_based, label="Licences", units=Decimal(0)).units == Decimal(0)
    seat_price = PriceVersion(price_id="p", amount_type="seat_based", currency="usd", tiers=(SeatTier(1, None, 100),))
    with refused("a seat-based line needs a non-negative seat count"):
        LineInput(price=seat_price, label="Seats")
    with refused("a seat-based line needs a non-negative seat count"):
        LineInput(price=seat_price, label="Seats", seats=-1)
    assert LineInput(price=seat_price, label="Seats", seats=0).seats == 0


def test_line_input_accepts_the_boundaries_and_converts_to_decimal():
    assert LineInput(price=fixed(), label="x", tax_rate_bps=0).tax_rate_bps == 0
    assert LineInput(price=fixed(), label="x", tax_rate_bps=10_000).tax_rate_bps == 10_000
    line = LineInput(price=fixed(), label="x", units=7, credited_units=2, rollover_units=2)
    assert (line.units, line.credited_units, line.rollover_units) == (Decimal(7), Decimal(2), Decimal(2))
    assert all(isinstance(value, Decimal) for value in (line.units, line.credited_units, line.rollover_units))
    assert LineInput(price=fixed(), label="x", units=0.5).units == Decimal("0.5")
    assert LineInput(price=fixed(), label="x", credited_units=3, rollover_units=0).rollover_units == Decimal(0)
    assert LineInput(price=fixed(), label="x", prorate_from=T0).prorate_from == T0


def test_line_input_defaults():
    line = LineInput(price=fixed(), label="Pro")
    assert (line.kind, line.seats, line.units, line.credited_units) == ("charge", None, None, Decimal(0))
    assert (line.period, line.prorate_from, line.tax_rate_bps, line.discountable, line.rollover_units) == (
        None, None, 0, True, None,
    )  # fmt: skip


def test_line_input_dict_form():
    line = LineInput(
        price=fixed(500),
        label="Pro",
        kind="credit",
        seats=3,
        units=Decimal("1.5"),
        credited_units=Decimal("0.5"),
        period=JAN,
        prorate_from=dt.datetime(2025, 1, 10, tzinfo=UTC),
        tax_rate_bps=2000,
        discountable=False,
        rollover_units=Decimal("0.25"),
    )
    assert line.to_dict() == {
        "price": fixed(500).to_dict(),
        "label": "Pro",
        "kind": "credit",
        "seats": 3,
        "units": "1.5",
        "credited_units": "0.5",
        "period": JAN.to_dict(),
        "prorate_from": "2025-01-10T00:00:00+00:00",
        "tax_rate_bps": 2000,
        "discountable": False,
        "rollover_units": "0.25",
    }
    assert LineInput.from_dict(line.to_dict()) == line
    plain = LineInput(price=fixed(500), label="Pro").to_dict()
    assert "rollover_units" not in plain
    assert (plain["units"], plain["credited_units"], plain["period"], plain["prorate_from"]) == (None, "0", None, None)


def test_line_input_defaults_of_an_old_stored_dict():
    line = LineInput.from_dict({"price": fixed(500).to_dict(), "label": "Pro", "tax_rate_bps": "1500"})
    assert line == LineInput(price=fixed(500), label="Pro", tax_rate_bps=1500)
    assert (line.kind, line.credited_units, line.discountable, line.rollover_units) == ("charge", Decimal(0), True, None)
    assert LineInput.from_dict({"price": fixed(500).to_dict(), "label": "Pro"}).tax_rate_bps == 0
    assert LineInput.from_dict({"price": fixed(500).to_dict(), "label": "Pro", "discountable": 0}).discountable is False
    assert LineInput.from_dict({"price": fixed(500).to_dict(), "label": "Pro", "credited_units": None}).credited_units == 0


# --- DiscountInput -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "bogo"}, "discount type must be one of ('percentage', 'fixed')"),
        ({"type": "fixed", "duration": "weekly"}, "discount duration must be one of ('once', 'forever', 'repeating')"),
        ({"type": "percentage"}, "a percentage discount needs basis_points between 0 and 10000"),
        ({"type": "percentage", "basis_points": -1}, "a percentage discount needs basis_points between 0 and 10000"),
        ({"type": "percentage", "basis_points": 10_001}, "a percentage discount needs basis_points between 0 and 10000"),
        ({"type": "fixed", "amounts": {"usd": 100, "eur": -1}}, "fixed discount amounts must be non-negative"),
    ],
)
def test_discount_input_refuses(kwargs, message):
    with refused(message):
        DiscountInput(discount_id="d", **kwargs)


def test_discount_input_accepts_the_boundaries():
    assert DiscountInput(discount_id="d", type="percentage", basis_points=0).basis_points == 0
    assert DiscountInput(discount_id="d", type="percentage", basis_points=10_000).basis_points == 10_000
    assert DiscountInput(discount_id="d", type="fixed", amounts={"usd": 0}).amounts == {"usd": 0}


@pytest.mark.parametrize(
    ("kwargs", "active"),
    [
        ({}, True),
        ({"applies": False}, False),
        ({"duration": "forever"}, True),
        ({"duration": "forever", "applies": False}, False),
        ({"duration": "repeating", "months_remaining": 1}, True),
        ({"duration": "repeating", "months_remaining": 0}, False),
        ({"duration": "repeating", "months_remaining": -1}, False),
        ({"duration": "repeating", "months_remaining": None}, False),
        ({"duration": "repeating", "months_remaining": 3, "applies": False}, False),
        ({"duration": "once", "months_remaining": 0}, True),
    ],
)
def test_discount_is_active(kwargs, active):
    assert DiscountInput(discount_id="d", type="percentage", basis_points=1000, **kwargs).is_active() is active


def test_discount_input_dict_form_and_defaults():
    discount = DiscountInput(
        discount_id="d", type="fixed", amounts={"usd": 500, "eur": 400}, duration="repeating", months_remaining=2
    )
    assert discount.to_dict() == {
        "discount_id": "d",
        "type": "fixed",
        "basis_points": None,
        "amounts": {"usd": 500, "eur": 400},
        "duration": "repeating",
        "months_remaining": 2,
        "applies": True,
    }
    assert DiscountInput.from_dict(discount.to_dict()) == discount
    old = DiscountInput.from_dict({"discount_id": "d", "type": "fixed", "amounts": {"usd": "500"}})
    assert old == DiscountInput(discount_id="d", type="fixed", amounts={"usd": 500})
    assert (old.duration, old.months_remaining, old.applies, old.basis_points) == ("once", None, True, None)
    assert DiscountInput.from_dict({"discount_id": "d", "type": "fixed", "amounts": None}).amounts == {}
    assert DiscountInput.from_dict({"discount_id": "d", "type": "fixed", "applies": 0}).applies is False
    percentage = DiscountInput.from_dict({"discount_id": "d", "type": "percentage", "basis_points": 2500})
    assert percentage.basis_points == 2500


# --- PricingInput --------------------------------------------------------------------------------


def test_pricing_input_refuses_a_line_in_another_currency():
    with refused("line 'Pro' is in eur, the order in usd"):
        PricingInput(period=JAN, currency="usd", lines=(LineInput(price=fixed(currency="eur"), label="Pro"),))


def test_pricing_input_dict_form():
    discount = DiscountInput(discount_id="d", type="percentage", basis_points=1000)
    stored = PricingInput(period=JAN, currency="usd", lines=[LineInput(price=fixed(), label="Pro")], discount=discount)
    assert isinstance(stored.lines, tuple)
    assert stored.to_dict() == {
        "version": 1,
        "period": JAN.to_dict(),
        "currency": "usd",
        "lines": [LineInput(price=fixed(), label="Pro").to_dict()],
        "discount": discount.to_dict(),
    }
    assert PricingInput.from_dict(stored.to_dict()) == stored
    without = PricingInput(period=JAN, currency="usd", lines=())
    assert without.to_dict()["discount"] is None
    assert PricingInput.from_dict(without.to_dict()).discount is None
    unversioned = {key: value for key, value in without.to_dict().items() if key != "version"}
    assert PricingInput.from_dict(unversioned) == without


def test_pricing_input_refuses_an_unknown_stored_version():
    stored = PricingInput(period=JAN, currency="usd", lines=()).to_dict()
    with refused("unknown pricing input version 2"):
        PricingInput.from_dict({**stored, "version": 2})
