import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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

UTC = dt.UTC
JAN = Period(dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(2025, 2, 1, tzinfo=UTC))  # 31 days


def fixed(amount, price_id="p_fixed", currency="usd"):
    return PriceVersion(price_id=price_id, amount_type="fixed", currency=currency, amount=amount)


def metered(unit_amount, cap=None):
    return PriceVersion(
        price_id="p_meter", amount_type="metered_unit", currency="usd", unit_amount=Decimal(unit_amount), cap_amount=cap
    )


def seats(mode):
    tiers = (SeatTier(1, 5, 1000), SeatTier(6, 10, 800), SeatTier(11, None, 500))
    return PriceVersion(price_id="p_seats", amount_type="seat_based", currency="usd", tiers=tiers, tier_mode=mode)


def order(*lines, discount=None, period=JAN):
    return PricingInput(period=period, currency="usd", lines=tuple(lines), discount=discount)


# --- hand-checked examples -----------------------------------------------------------------------


def test_fixed_price_full_period():
    result = price(order(LineInput(price=fixed(2000), label="Pro")))
    assert (result.subtotal_amount, result.total_amount, result.amount_due) == (2000, 2000, 2000)
    line = result.lines[0]
    assert (line.proration, line.period_start, line.period_end) == (False, JAN.start, JAN.end)


def test_proration_by_the_second_rounded_half_away_from_zero():
    # 10 of 31 days left: 999 × 10/31 = 322.258… → 322
    t = dt.datetime(2025, 1, 22, tzinfo=UTC)
    result = price(order(LineInput(price=fixed(999), label="Pro", prorate_from=t)))
    assert result.lines[0].amount == 322
    assert result.lines[0].proration is True
    assert result.lines[0].period_start == t


def test_proration_half_rounds_away_from_zero_for_charges_and_credits():
    period = Period(dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(2025, 1, 1, 0, 0, 4, tzinfo=UTC))
    t = dt.datetime(2025, 1, 1, 0, 0, 2, tzinfo=UTC)  # half the period: 5 × 1/2 = 2.5
    charge = price(order(LineInput(price=fixed(5), label="c", prorate_from=t), period=period))
    credit = price(order(LineInput(price=fixed(5), label="c", kind="credit", prorate_from=t), period=period))
    assert charge.lines[0].amount == 3
    assert credit.lines[0].amount == -3


def test_metered_usage_less_credits_at_fractional_unit_price():
    # (1234 − 234) units × 0.35¢ = 350.0
    line = LineInput(price=metered("0.35"), label="API calls", units=Decimal(1234), credited_units=Decimal(234))
    assert price(order(line)).lines[0].amount == 350


def test_metered_credits_beyond_usage_bill_zero():
    line = LineInput(price=metered("2"), label="API calls", units=Decimal(10), credited_units=Decimal(50))
    assert price(order(line)).lines[0].amount == 0


def test_metered_cap_is_respected():
    line = LineInput(price=metered("1.5", cap=1000), label="API calls", units=Decimal(100_000))
    assert price(order(line)).lines[0].amount == 1000


def test_metered_line_cannot_be_prorated():
    line = LineInput(price=metered("1"), label="m", units=Decimal(1), prorate_from=JAN.start)
    with pytest.raises(PricingError):
        price(order(line))


def test_volume_tiers_price_every_seat_at_the_reached_tier():
    assert seat_amount(seats("volume"), 3) == 3 * 1000
    assert seat_amount(seats("volume"), 7) == 7 * 800
    assert seat_amount(seats("volume"), 12) == 12 * 500


def test_graduated_tiers_price_each_seat_in_its_own_tier():
    assert seat_amount(seats("graduated"), 3) == 3 * 1000
    assert seat_amount(seats("graduated"), 7) == 5 * 1000 + 2 * 800
    assert seat_amount(seats("graduated"), 12) == 5 * 1000 + 5 * 800 + 2 * 500


def test_seats_outside_bounded_tiers_are_refused():
    bounded = PriceVersion(
        price_id="p", amount_type="seat_based", currency="usd", tiers=(SeatTier(1, 5, 1000),), tier_mode="graduated"
    )
    with pytest.raises(PricingError):
        seat_amount(bounded, 6)
    with pytest.raises(PricingError):
        seat_amount(PriceVersion(price_id="p", amount_type="seat_based", currency="usd", tiers=(SeatTier(1, 5, 1000),)), 6)


def test_percentage_discount_and_tax_per_line():
    # 1999 − round(1999 × 15%) = 1999 − 300 (299.85) = 1699; tax 20% = 339.8 → 340
    discount = DiscountInput(discount_id="d", type="percentage", basis_points=1500, duration="forever")
    result = price(order(LineInput(price=fixed(1999), label="Pro", tax_rate_bps=2000), discount=discount))
    line = result.lines[0]
    assert (line.discount_amount, line.tax_amount) == (300, 340)
    assert (result.subtotal_amount, result.discount_amount, result.net_amount, result.tax_amount, result.total_amount) == (
        1999,
        300,
        1699,
        340,
        2039,
    )


def test_fixed_discount_spreads_over_lines_and_never_exceeds_one():
    discount = DiscountInput(discount_id="d", type="fixed", amounts={"usd": 1500}, duration="once")
    result = price(
        order(LineInput(price=fixed(1000, "a"), label="A"), LineInput(price=fixed(1000, "b"), label="B"), discount=discount)
    )
    assert [line.discount_amount for line in result.lines] == [1000, 500]
    assert result.total_amount == 500


def test_fixed_discount_in_another_currency_gives_nothing():
    discount = DiscountInput(discount_id="d", type="fixed", amounts={"eur": 500})
    assert price(order(LineInput(price=fixed(1000), label="A"), discount=discount)).discount_amount == 0


def test_discount_the_caller_says_does_not_apply_is_ignored():
    discount = DiscountInput(discount_id="d", type="percentage", basis_points=5000, duration="once", applies=False)
    assert price(order(LineInput(price=fixed(1000), label="A"), discount=discount)).total_amount == 1000


def test_repeating_discount_with_no_months_left_is_ignored():
    discount = DiscountInput(discount_id="d", type="percentage", basis_points=5000, duration="repeating", months_remaining=0)
    assert price(order(LineInput(price=fixed(1000), label="A"), discount=discount)).total_amount == 1000


def test_credits_larger_than_charges_are_carried_not_charged():
    t = dt.datetime(2025, 1, 2, tzinfo=UTC)
    result = price(
        order(
            LineInput(price=fixed(10_000, "big"), label="Old", kind="credit", prorate_from=t),
            LineInput(price=fixed(1000, "small"), label="New", prorate_from=t),
        )
    )
    # 30 of 31 days left: −10000 × 30/31 = −9677.42 → −9677; 1000 × 30/31 = 967.74 → 968
    assert [line.amount for line in result.lines] == [-9677, 968]
    assert result.total_amount == -8709
    assert result.amount_due == 0
    assert result.credit_carried == -result.total_amount


def test_currency_mismatch_is_refused():
    with pytest.raises(ValueError):
        PricingInput(period=JAN, currency="usd", lines=(LineInput(price=fixed(100, currency="eur"), label="A"),))


def test_input_round_trips_through_json():
    discount = DiscountInput(discount_id="d", type="fixed", amounts={"usd": 300}, duration="repeating", months_remaining=2)
    pricing_input = order(
        LineInput(price=fixed(999), label="Pro", prorate_from=dt.datetime(2025, 1, 9, 13, 5, 7, tzinfo=UTC), tax_rate_bps=825),
        LineInput(price=metered("0.0125", cap=5000), label="Calls", units=Decimal("123456.5"), credited_units=Decimal(1000)),
        LineInput(price=seats("graduated"), label="Seats", seats=7),
        discount=discount,
    )
    restored = PricingInput.from_dict(json.loads(json.dumps(pricing_input.to_dict())))
    assert restored == pricing_input
    assert price(restored) == price(pricing_input)


# --- properties ----------------------------------------------------------------------------------

amounts = st.integers(min_value=0, max_value=10_000_000)
bps = st.integers(min_value=0, max_value=10_000)
instants_in_jan = st.datetimes(
    min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2025, 1, 31, 23, 59, 59), timezones=st.just(UTC)
)
periods = st.builds(
    lambda start, seconds: Period(start, start + dt.timedelta(seconds=seconds)),
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2080, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=1, max_value=400 * 86400),
)


# No deadline: the machine is shared and slow moments are not failures of the engine.
@settings(deadline=None)
@given(period=periods, amount=amounts)
def test_a_full_period_prorates_to_the_full_price(period, amount):
    line = LineInput(price=fixed(amount), label="Pro", prorate_from=period.start)
    assert price(order(line, period=period)).lines[0].amount == amount


@settings(deadline=None)
@given(old=amounts, new=amounts, t=instants_in_jan, tax=bps, discount_bps=st.one_of(st.none(), bps))
def test_upgrade_then_immediate_downgrade_nets_to_no_change(old, new, t, tax, discount_bps):
    discount = (
        None
        if discount_bps is None
        else DiscountInput(discount_id="d", type="percentage", basis_points=discount_bps, duration="forever")
    )
    up = order(
        LineInput(price=fixed(old, "old"), label="Old", kind="credit", prorate_from=t, tax_rate_bps=tax),
        LineInput(price=fixed(new, "new"), label="New", prorate_from=t, tax_rate_bps=tax),
        discount=discount,
    )
    down = order(
        LineInput(price=fixed(new, "new"), label="New", kind="credit", prorate_from=t, tax_rate_bps=tax),
        LineInput(price=fixed(old, "old"), label="Old", prorate_from=t, tax_rate_bps=tax),
        discount=discount,
    )
    up_result, down_result = price(up), price(down)
    # 2 lines each; each figure within one unit of rounding per line.
    assert abs(up_result.net_amount + down_result.net_amount) <= 4
    assert abs(up_result.total_amount + down_result.total_amount) <= 4


line_inputs = st.one_of(
    st.builds(lambda a, tax: LineInput(price=fixed(a), label="F", tax_rate_bps=tax), amounts, bps),
    st.builds(
        lambda u, c, cap, units, credited: LineInput(
            price=metered(u, cap), label="M", units=Decimal(units), credited_units=Decimal(credited)
        ),
        st.decimals(min_value=0, max_value=1000, places=4),
        st.one_of(st.none(), amounts),
        st.one_of(st.none(), amounts),
        st.integers(0, 10**7),
        st.integers(0, 10**6),
    ).map(lambda x: x),
    st.builds(
        lambda n, mode: LineInput(price=seats(mode), label="S", seats=n),
        st.integers(0, 200),
        st.sampled_from(["volume", "graduated"]),
    ),
    st.builds(lambda a, t: LineInput(price=fixed(a), label="P", prorate_from=t), amounts, instants_in_jan),
)
discounts = st.one_of(
    st.none(),
    st.builds(lambda b: DiscountInput(discount_id="d", type="percentage", basis_points=b, duration="forever"), bps),
    st.builds(lambda a: DiscountInput(discount_id="d", type="fixed", amounts={"usd": a}, duration="once"), amounts),
)


@settings(deadline=None)
@given(lines=st.lists(line_inputs, min_size=1, max_size=6), discount=discounts)
def test_totals_are_never_negative_without_credits_and_discounts_never_exceed_their_line(lines, discount):
    result = price(order(*lines, discount=discount))
    for line in result.lines:
        assert 0 <= line.discount_amount <= line.amount
        assert line.tax_amount >= 0
    assert min(result.subtotal_amount, result.discount_amount, result.net_amount, result.tax_amount, result.total_amount) >= 0
    assert result.net_amount == result.subtotal_amount - result.discount_amount
    assert result.total_amount == result.net_amount + result.tax_amount == result.amount_due


@settings(deadline=None)
@given(
    lines=st.lists(
        st.builds(
            lambda a, t, k: LineInput(price=fixed(a), label="X", kind=k, prorate_from=t),
            amounts,
            instants_in_jan,
            st.sampled_from(["charge", "credit"]),
        ),
        min_size=1,
        max_size=6,
    ),
    discount=discounts,
)
def test_amount_due_is_never_negative_and_discount_magnitude_never_exceeds_the_line(lines, discount):
    result = price(order(*lines, discount=discount))
    for line in result.lines:
        assert abs(line.discount_amount) <= abs(line.amount)
    assert result.amount_due >= 0 and result.credit_carried >= 0
    assert result.amount_due - result.credit_carried == result.total_amount


@settings(deadline=None)
@given(unit=st.decimals(min_value=0, max_value=10_000, places=6), cap=amounts, units=st.integers(0, 10**9))
def test_metered_cap_is_never_exceeded(unit, cap, units):
    line = LineInput(price=metered(unit, cap), label="M", units=Decimal(units))
    assert 0 <= price(order(line)).lines[0].amount <= cap


@settings(deadline=None)
@given(n=st.integers(1, 300))
def test_graduated_is_the_sum_of_each_seat_at_its_tier_and_never_below_volume(n):
    graduated = seat_amount(seats("graduated"), n)
    assert graduated == sum(1000 if i <= 5 else 800 if i <= 10 else 500 for i in range(1, n + 1))
    # with decreasing tier prices, volume gives every seat the lowest reached price
    assert graduated >= seat_amount(seats("volume"), n)


def test_proration_instant_outside_the_period_is_refused():
    line = LineInput(price=fixed(1000), label="Pro", prorate_from=dt.datetime(2025, 2, 1, 0, 0, 1, tzinfo=UTC))
    with pytest.raises(PricingError):
        price(order(line))


def test_a_change_at_the_period_end_costs_nothing():
    line = LineInput(price=fixed(1000), label="Pro", prorate_from=JAN.end)
    assert price(order(line)).lines[0].amount == 0


def test_credit_line_is_discounted_and_taxed_with_its_sign():
    # Unused half of a 10.00 plan at 10 % off and 20 % tax: −500, discount −50, tax round(−450 × 20 %) = −90
    period = Period(dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(2025, 1, 3, tzinfo=UTC))
    line = LineInput(
        price=fixed(1000), label="Old", kind="credit", prorate_from=dt.datetime(2025, 1, 2, tzinfo=UTC), tax_rate_bps=2000
    )
    discount = DiscountInput(discount_id="d", type="percentage", basis_points=1000, duration="forever")
    result = price(order(line, discount=discount, period=period))
    item = result.lines[0]
    assert (item.amount, item.discount_amount, item.tax_amount) == (-500, -50, -90)
    assert (result.total_amount, result.amount_due, result.credit_carried) == (-540, 0, 540)


def test_metered_usage_billed_in_arrears_carries_its_own_period():
    december = Period(dt.datetime(2024, 12, 1, tzinfo=UTC), JAN.start)
    line = LineInput(price=metered("0.5"), label="Calls (December)", units=Decimal(3), period=december)
    item = price(order(line)).lines[0]
    assert (item.amount, item.period_start, item.period_end) == (2, december.start, december.end)  # 1.5 → 2


def test_free_and_custom_prices():
    free = PriceVersion(price_id="f", amount_type="free", currency="usd")
    custom = PriceVersion(price_id="c", amount_type="custom", currency="usd", amount=1234)
    result = price(order(LineInput(price=free, label="Free"), LineInput(price=custom, label="Tip")))
    assert [line.amount for line in result.lines] == [0, 1234]
