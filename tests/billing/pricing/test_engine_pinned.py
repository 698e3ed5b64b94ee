"""Behaviours of the pricing engine that a mutation run found unpinned (issue 23), each with exact amounts:
a fixed discount beside a credit line, a fixed discount in the order's currency, the ``discountable`` flag,
proration with sub-second boundaries, negative halves, the engine's own refusals, and the dict form of its
result (stored with every order)."""

import datetime as dt
import re
from decimal import Decimal

import pytest

from billing.pricing import (
    DiscountInput,
    LineInput,
    Period,
    PriceVersion,
    PricingError,
    PricingInput,
    SeatTier,
    price,
    seat_amount,
)
from billing.pricing.engine import full_amount, proration_factor
from billing.pricing.periods import iter_periods, next_period_end, period_seconds

UTC = dt.UTC
JAN = Period(dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(2025, 2, 1, tzinfo=UTC))


def fixed(amount, price_id="p_fixed", currency="usd"):
    return PriceVersion(price_id=price_id, amount_type="fixed", currency=currency, amount=amount)


def order(*lines, discount=None, period=JAN, currency="usd"):
    return PricingInput(period=period, currency=currency, lines=tuple(lines), discount=discount)


def fixed_off(**amounts):
    return DiscountInput(discount_id="d", type="fixed", amounts=amounts, duration="forever")


def percent_off(basis_points):
    return DiscountInput(discount_id="d", type="percentage", basis_points=basis_points, duration="forever")


def refused(message):
    return pytest.raises(PricingError, match="^" + re.escape(message) + "$")


# --- fixed discounts -----------------------------------------------------------------------------


def test_a_fixed_discount_never_touches_a_credit_line():
    # The credit comes first; the fixed discount goes to the charge, not to the (negative) credit.
    result = price(
        order(
            LineInput(price=fixed(500, "p_old"), label="Unused Basic", kind="credit"),
            LineInput(price=fixed(2000, "p_new"), label="Pro"),
            discount=fixed_off(usd=300),
        )
    )
    credit, charge = result.lines
    assert (credit.amount, credit.discount_amount) == (-500, 0)
    assert (charge.amount, charge.discount_amount) == (2000, 300)
    assert (result.subtotal_amount, result.discount_amount, result.total_amount) == (1500, 300, 1200)


def test_a_fixed_discount_larger_than_the_charges_stops_at_each_line():
    result = price(
        order(
            LineInput(price=fixed(200, "p_a"), label="A"),
            LineInput(price=fixed(100, "p_b"), label="B"),
            discount=fixed_off(usd=250),
        )
    )
    assert [line.discount_amount for line in result.lines] == [200, 50]
    assert (result.total_amount, result.amount_due) == (50, 50)
    everything = price(order(LineInput(price=fixed(200), label="A"), discount=fixed_off(usd=1000)))
    assert (everything.lines[0].discount_amount, everything.total_amount) == (200, 0)


def test_a_fixed_discount_is_taken_in_the_orders_currency():
    discount = fixed_off(usd=300, eur=200)
    in_eur = price(order(LineInput(price=fixed(1000, currency="eur"), label="Pro"), discount=discount, currency="eur"))
    assert in_eur.lines[0].discount_amount == 200
    in_usd = price(order(LineInput(price=fixed(1000), label="Pro"), discount=discount))
    assert in_usd.lines[0].discount_amount == 300
    # No amount in the order's currency: nothing off.
    in_gbp = price(order(LineInput(price=fixed(1000, currency="gbp"), label="Pro"), discount=discount, currency="gbp"))
    assert (in_gbp.lines[0].discount_amount, in_gbp.total_amount) == (0, 1000)


def test_a_percentage_discount_ignores_its_fixed_amounts_and_a_fixed_one_its_basis_points():
    both = DiscountInput(discount_id="d", type="percentage", basis_points=1000, amounts={"usd": 999}, duration="forever")
    assert price(order(LineInput(price=fixed(1000), label="Pro"), discount=both)).discount_amount == 100
    fixed_only = DiscountInput(discount_id="d", type="fixed", basis_points=5000, amounts={"usd": 10}, duration="forever")
    assert price(order(LineInput(price=fixed(1000), label="Pro"), discount=fixed_only)).discount_amount == 10


def test_an_inactive_discount_takes_nothing():
    expired = DiscountInput(discount_id="d", type="percentage", basis_points=5000, duration="repeating", months_remaining=0)
    not_applied = DiscountInput(discount_id="d", type="fixed", amounts={"usd": 100}, applies=False)
    for discount in (expired, not_applied):
        result = price(order(LineInput(price=fixed(1000), label="Pro"), discount=discount))
        assert (result.discount_amount, result.total_amount) == (0, 1000)


# --- the discountable flag -----------------------------------------------------------------------


def test_a_line_that_is_not_discountable_keeps_its_full_amount():
    lines = (
        LineInput(price=fixed(1000, "p_setup"), label="Setup", discountable=False),
        LineInput(price=fixed(1000, "p_plan"), label="Plan"),
    )
    by_percent = price(order(*lines, discount=percent_off(2500)))
    assert [line.discount_amount for line in by_percent.lines] == [0, 250]
    # The fixed budget skips the line that is not discountable and goes to the next one.
    by_amount = price(order(*lines, discount=fixed_off(usd=400)))
    assert [line.discount_amount for line in by_amount.lines] == [0, 400]
    assert by_amount.total_amount == 1600


# --- proration -----------------------------------------------------------------------------------


def test_proration_drops_sub_second_remainders_of_the_period_and_the_instant():
    # Business time has microseconds. Period of 10.9 s → 10 whole seconds; 4.7 s left → 4 whole seconds.
    start = dt.datetime(2025, 1, 1, 0, 0, 0, 100_000, tzinfo=UTC)
    period = Period(start, start + dt.timedelta(seconds=10, microseconds=900_000))
    assert period_seconds(period.start, period.end) == 10
    instant = period.end - dt.timedelta(seconds=4, microseconds=700_000)
    assert period_seconds(instant, period.end) == 4
    assert proration_factor(period, instant) == Decimal(4) / Decimal(10)
    result = price(order(LineInput(price=fixed(1000), label="Pro", prorate_from=instant), period=period))
    assert result.lines[0].amount == 400
    assert result.lines[0].period_start == instant


def test_proration_factor_at_the_edges_and_outside():
    assert proration_factor(JAN, JAN.start) == 1
    assert proration_factor(JAN, JAN.end) == 0
    with refused("proration instant 2025-02-01T00:00:01+00:00 is outside the period"):
        proration_factor(JAN, JAN.end + dt.timedelta(seconds=1))
    with refused("proration instant 2024-12-31T23:59:59+00:00 is outside the period"):
        proration_factor(JAN, JAN.start - dt.timedelta(seconds=1))


def test_a_negative_half_rounds_away_from_zero_so_a_credit_mirrors_its_charge():
    # 1 cent over 2 seconds, 1 second left: exactly half a cent, charged as 1 and credited as -1.
    period = Period(dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(2025, 1, 1, 0, 0, 2, tzinfo=UTC))
    half = dt.datetime(2025, 1, 1, 0, 0, 1, tzinfo=UTC)
    charge = price(order(LineInput(price=fixed(1), label="Pro", prorate_from=half), period=period))
    credit = price(order(LineInput(price=fixed(1), label="Pro", prorate_from=half, kind="credit"), period=period))
    assert charge.lines[0].amount == 1
    assert credit.lines[0].amount == -1
    assert (credit.total_amount, credit.amount_due, credit.credit_carried) == (-1, 0, 1)


def test_taxes_and_percentage_discounts_on_a_credit_keep_its_sign():
    # 25 % off a -1,001 credit: -250.25 → -250; 20 % tax on -751: -150.2 → -150.
    result = price(
        order(LineInput(price=fixed(1001), label="Unused", kind="credit", tax_rate_bps=2000), discount=percent_off(2500))
    )
    line = result.lines[0]
    assert (line.amount, line.discount_amount, line.net_amount, line.tax_amount, line.total_amount) == (
        -1001, -250, -751, -150, -901,
    )  # fmt: skip
    assert (result.amount_due, result.credit_carried) == (0, 901)


def test_tax_on_a_half_rounds_away_from_zero():
    # 5 % of 1,010 = 50.5 → 51 (and -51 on the credit).
    charge = price(order(LineInput(price=fixed(1010), label="Pro", tax_rate_bps=500)))
    credit = price(order(LineInput(price=fixed(1010), label="Pro", tax_rate_bps=500, kind="credit")))
    assert (charge.tax_amount, credit.tax_amount) == (51, -51)


def test_a_zero_line_takes_no_discount():
    free = PriceVersion(price_id="p_free", amount_type="free", currency="usd")
    result = price(
        order(LineInput(price=free, label="Free"), LineInput(price=fixed(100), label="Pro"), discount=fixed_off(usd=30))
    )
    assert [line.discount_amount for line in result.lines] == [0, 30]
    assert full_amount(LineInput(price=free, label="Free")) == 0


# --- refusals inside the engine ------------------------------------------------------------------


def test_metered_lines_cannot_be_prorated():
    metered = PriceVersion(price_id="p_m", amount_type="metered_unit", currency="usd", unit_amount=Decimal(1))
    with refused("metered lines are billed on usage and cannot be prorated"):
        price(order(LineInput(price=metered, label="Calls", units=Decimal(5), prorate_from=JAN.start)))


def test_seats_outside_the_tiers():
    bounded = PriceVersion(
        price_id="p_s", amount_type="seat_based", currency="usd", tiers=(SeatTier(1, 5, 100), SeatTier(6, 10, 80))
    )
    with refused("11 seats are outside the tiers of price p_s"):
        seat_amount(bounded, 11)
    graduated = PriceVersion(
        price_id="p_g", amount_type="seat_based", currency="usd", tiers=(SeatTier(1, 5, 100),), tier_mode="graduated"
    )
    with refused("6 seats are outside the tiers of price p_g"):
        seat_amount(graduated, 6)
    assert seat_amount(graduated, 5) == 500
    # Fewer seats than the first tier starts at (a volume price that starts at 3 seats).
    from_three = PriceVersion(price_id="p_3", amount_type="seat_based", currency="usd", tiers=(SeatTier(3, None, 100),))
    with refused("2 seats are outside the tiers of price p_3"):
        seat_amount(from_three, 2)
    assert seat_amount(from_three, 3) == 300
    assert seat_amount(bounded, 0) == 0
    assert seat_amount(graduated, 0) == 0


def test_metered_usage_less_credits_then_the_cap():
    metered = PriceVersion(
        price_id="p_m", amount_type="metered_unit", currency="usd", unit_amount=Decimal("0.5"), cap_amount=1000
    )
    assert full_amount(LineInput(price=metered, label="Calls", units=Decimal(100), credited_units=Decimal(40))) == 30
    assert full_amount(LineInput(price=metered, label="Calls", units=Decimal(10), credited_units=Decimal(40))) == 0
    assert full_amount(LineInput(price=metered, label="Calls", units=Decimal(5000))) == 1000
    assert full_amount(LineInput(price=metered, label="Calls", units=Decimal(2000))) == 1000
    assert full_amount(LineInput(price=metered, label="Calls")) == 0


# --- the result's dict form (stored with every order) --------------------------------------------


def test_the_result_dict_form():
    result = price(order(LineInput(price=fixed(1000), label="Pro", tax_rate_bps=1000), discount=percent_off(1000)))
    assert result.to_dict() == {
        "currency": "usd",
        "lines": [
            {
                "label": "Pro",
                "amount": 1000,
                "currency": "usd",
                "proration": False,
                "price_id": "p_fixed",
                "period_start": "2025-01-01T00:00:00+00:00",
                "period_end": "2025-02-01T00:00:00+00:00",
                "discount_amount": 100,
                "tax_amount": 90,
                "tax_rate_bps": 1000,
            }
        ],
        "subtotal_amount": 1000,
        "discount_amount": 100,
        "net_amount": 900,
        "tax_amount": 90,
        "total_amount": 990,
        "amount_due": 990,
        "credit_carried": 0,
    }


# --- periods -------------------------------------------------------------------------------------


def test_periods_refuse_what_they_cannot_compute():
    start = dt.datetime(2025, 1, 31, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"^start must be an aware datetime$"):
        next_period_end(dt.datetime(2025, 1, 31), "month")
    with pytest.raises(ValueError, match=r"^interval must be one of \('day', 'week', 'month', 'year'\), not 'hour'$"):
        next_period_end(start, "hour")
    for count in (0, -1, 1.0):
        with pytest.raises(ValueError, match=r"^count must be a positive integer$"):
            next_period_end(start, "month", count)
    for anchor in (0, 32):
        with pytest.raises(ValueError, match=r"^anchor_day must be between 1 and 31$"):
            next_period_end(start, "month", 1, anchor)
    with pytest.raises(ValueError, match=r"^end must be an aware datetime$"):
        period_seconds(start, dt.datetime(2025, 2, 1))


def test_period_ends_for_each_interval_and_count():
    start = dt.datetime(2025, 1, 31, 13, 30, tzinfo=UTC)
    assert next_period_end(start, "day") == dt.datetime(2025, 2, 1, 13, 30, tzinfo=UTC)
    assert next_period_end(start, "day", 3) == dt.datetime(2025, 2, 3, 13, 30, tzinfo=UTC)
    assert next_period_end(start, "week", 2) == dt.datetime(2025, 2, 14, 13, 30, tzinfo=UTC)
    assert next_period_end(start, "month") == dt.datetime(2025, 2, 28, 13, 30, tzinfo=UTC)
    assert next_period_end(start, "month", 3) == dt.datetime(2025, 4, 30, 13, 30, tzinfo=UTC)
    assert next_period_end(start, "year") == dt.datetime(2026, 1, 31, 13, 30, tzinfo=UTC)
    assert next_period_end(start, "year", 2) == dt.datetime(2027, 1, 31, 13, 30, tzinfo=UTC)
    assert next_period_end(dt.datetime(2025, 2, 28, tzinfo=UTC), "month", 1, 31) == dt.datetime(2025, 3, 31, tzinfo=UTC)
    assert next_period_end(dt.datetime(2025, 12, 15, tzinfo=UTC), "month") == dt.datetime(2026, 1, 15, tzinfo=UTC)
    assert next_period_end(dt.datetime(2025, 11, 15, tzinfo=UTC), "month", 1, 1) == dt.datetime(2025, 12, 1, tzinfo=UTC)


def test_iter_periods_keeps_the_anchor_day_for_months_and_years_only():
    monthly = iter_periods(dt.datetime(2025, 1, 31, tzinfo=UTC), "month")
    ends = [next(monthly)[1].day for _ in range(4)]
    assert ends == [28, 31, 30, 31]
    weekly = iter_periods(dt.datetime(2025, 1, 31, tzinfo=UTC), "week", 1, None)
    assert [next(weekly)[1] for _ in range(2)] == [dt.datetime(2025, 2, 7, tzinfo=UTC), dt.datetime(2025, 2, 14, tzinfo=UTC)]
    yearly = iter_periods(dt.datetime(2024, 2, 29, tzinfo=UTC), "year")
    assert [next(yearly)[1] for _ in range(4)] == [
        dt.datetime(2025, 2, 28, tzinfo=UTC),
        dt.datetime(2026, 2, 28, tzinfo=UTC),
        dt.datetime(2027, 2, 28, tzinfo=UTC),
        dt.datetime(2028, 2, 29, tzinfo=UTC),
    ]


# --- seats and rate tiers through the engine -----------------------------------------------------


def seat_price(mode="volume"):
    tiers = (SeatTier(1, 5, 1000), SeatTier(6, None, 800))
    return PriceVersion(price_id="p_seats", amount_type="seat_based", currency="usd", tiers=tiers, tier_mode=mode)


def test_seat_lines_through_the_engine():
    assert price(order(LineInput(price=seat_price(), label="Seats", seats=3))).total_amount == 3000
    # Exactly on a tier's upper bound: still that tier's price (volume).
    assert price(order(LineInput(price=seat_price(), label="Seats", seats=5))).total_amount == 5000
    assert price(order(LineInput(price=seat_price(), label="Seats", seats=6))).total_amount == 4800
    assert price(order(LineInput(price=seat_price("graduated"), label="Seats", seats=6))).total_amount == 5800
    assert price(order(LineInput(price=seat_price(), label="Seats", seats=0))).total_amount == 0
    assert full_amount(LineInput(price=seat_price(), label="Seats", seats=0)) == 0
    assert full_amount(LineInput(price=seat_price(), label="Seats", seats=2)) == 2000


def rate_price(amount_type, type_="graduated", rows=((10, "1"), (None, "2")), cap=None):
    from billing.pricing.tiers import Tier, Tiers

    tiers = Tiers(type_, tuple(Tier(bound, Decimal(rate)) for bound, rate in rows))
    return PriceVersion(price_id="p_t", amount_type=amount_type, currency="usd", rate_tiers=tiers, cap_amount=cap)


def test_metered_tiers_bill_usage_less_credits_with_the_cap():
    line = LineInput(price=rate_price("metered_tiers"), label="Calls", units=Decimal(25), credited_units=Decimal(5))
    # 20 billable: 10 × 1 + 10 × 2 = 30
    result = price(order(line))
    assert [item.amount for item in result.lines] == [10, 20]
    assert full_amount(line) == 30
    capped = LineInput(price=rate_price("metered_tiers", cap=25), label="Calls", units=Decimal(25), credited_units=Decimal(5))
    assert [item.amount for item in price(order(capped)).lines] == [10, 15]
    assert full_amount(capped) == 25


def test_unit_based_bills_the_units_bought_without_credits_or_cap():
    # Credits and a cap are for metered usage: a unit-based line bills every unit bought.
    line = LineInput(price=rate_price("unit_based", cap=5), label="Licences", units=Decimal(12), credited_units=Decimal(3))
    result = price(order(line))
    assert [item.amount for item in result.lines] == [10, 4]
    assert [item.label for item in result.lines] == ["Licences · units 1–10: 10 × 1¢", "Licences · units 11+: 2 × 2¢"]
    assert full_amount(line) == 14
    none = LineInput(price=rate_price("unit_based"), label="Licences", units=Decimal(0))
    assert price(order(none)).total_amount == 0
    assert full_amount(none) == 0


def test_a_prorated_unit_based_line_is_rounded_once_after_the_proration():
    # 13 units at 0.2¢ = 2.6¢ exact; half the period left: 1.3 → 1 (rounding first would give 3 × ½ → 2).
    line = LineInput(
        price=rate_price("unit_based", rows=((None, "0.2"),)),
        label="Licences",
        units=Decimal(13),
        prorate_from=dt.datetime(2025, 1, 16, 12, tzinfo=UTC),
    )
    assert [item.amount for item in price(order(line)).lines] == [1]


def test_rate_tier_line_labels_name_the_tier_type():
    graduated = LineInput(price=rate_price("unit_based"), label="Licences", units=Decimal(12))
    assert [item.label for item in price(order(graduated)).lines] == [
        "Licences · units 1–10: 10 × 1¢",
        "Licences · units 11+: 2 × 2¢",
    ]
    volume = LineInput(price=rate_price("unit_based", type_="volume"), label="Licences", units=Decimal(12))
    assert [item.label for item in price(order(volume)).lines] == ["Licences · 12 units at the 11+ rate: 12 × 2¢"]


def test_a_quantity_beyond_the_last_tier_is_refused_with_the_price():
    line = LineInput(price=rate_price("unit_based", rows=((10, "1"),)), label="Licences", units=Decimal(11))
    with refused("price p_t: No tier covers quantity 11 (the last tier ends at 10)"):
        price(order(line))


def test_a_one_cent_line_takes_its_fixed_discount():
    result = price(order(LineInput(price=fixed(1), label="Tiny"), discount=fixed_off(usd=5)))
    assert (result.lines[0].discount_amount, result.total_amount) == (1, 0)


def test_awareness_is_checked_before_anything_else():
    class NoOffset(dt.tzinfo):
        def utcoffset(self, when):
            return None

        def dst(self, when):
            return None

    with pytest.raises(ValueError, match=r"^start must be an aware datetime$"):
        period_seconds(dt.datetime(2025, 1, 1, tzinfo=NoOffset()), JAN.end)
    with pytest.raises(ValueError, match=r"^start must be an aware datetime$"):
        period_seconds("2025-01-01T00:00:00+00:00", JAN.end)
    with pytest.raises(ValueError, match=r"^start must be an aware datetime$"):
        next_period_end(dt.datetime(2025, 1, 1, tzinfo=NoOffset()), "day")


def test_iter_periods_keeps_an_explicit_anchor_day():
    periods = iter_periods(dt.datetime(2025, 2, 28, tzinfo=UTC), "month", 1, 31)
    assert [next(periods)[1] for _ in range(2)] == [dt.datetime(2025, 3, 31, tzinfo=UTC), dt.datetime(2025, 4, 30, tzinfo=UTC)]
