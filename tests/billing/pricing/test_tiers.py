"""The tier engine (billing/pricing/tiers.py): hand-computed tables and hypothesis properties."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from billing.pricing import (
    LineInput,
    Period,
    PriceVersion,
    PricingError,
    PricingInput,
    Tier,
    TierError,
    Tiers,
    price,
    tier_breakdown,
    tiered_amount,
)

D = Decimal
JAN = Period(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2025, 2, 1, tzinfo=dt.UTC))

# "first 1,000 calls free, then 0.5 cents up to 100,000, then 0.2 cents" (docs/pricing.md)
API = ((1000, "0"), (100_000, "0.5"), (None, "0.2"))
# a per-unit licence with volume discounts: 1–10 at $10, 11–50 at $8, 51+ at $6
LICENCE = ((10, "1000"), (50, "800"), (None, "600"))


def schedule(type_, rows):
    return Tiers(type_, tuple(Tier(bound, D(rate)) for bound, rate in rows))


# --- hand-computed tables ------------------------------------------------------------------------

GRADUATED_API = [
    (0, 0, [0]),
    (1000, 0, [0]),  # exactly on the first bound: still free
    (1001, 1, [0, 1]),  # 0.5 rounds half away from zero
    (1002, 1, [0, 1]),
    (1003, 2, [0, 2]),  # 1.5 → 2
    (100_000, 49_500, [0, 49_500]),  # exactly on the second bound
    (100_001, 49_500, [0, 49_500, 0]),  # 0.2 → 0
    (100_003, 49_501, [0, 49_500, 1]),  # 0.6 → 1
    (150_000, 59_500, [0, 49_500, 10_000]),
    (1_000_000, 229_500, [0, 49_500, 180_000]),
]


@pytest.mark.parametrize(("quantity", "total", "lines"), GRADUATED_API)
def test_graduated_api_calls_table(quantity, total, lines):
    breakdown = tier_breakdown(schedule("graduated", API), quantity)
    assert [line.amount for line in breakdown.lines] == lines
    assert breakdown.amount == total


VOLUME_LICENCE = [
    (0, 0, 0),
    (1, 1_000, 0),
    (10, 10_000, 0),  # on the bound: the first tier prices all ten
    (11, 8_800, 1),  # the cliff: 11 cost less than 10
    (50, 40_000, 1),
    (51, 30_600, 2),
    (200, 120_000, 2),
]


@pytest.mark.parametrize(("quantity", "total", "tier"), VOLUME_LICENCE)
def test_volume_licence_table(quantity, total, tier):
    breakdown = tier_breakdown(schedule("volume", LICENCE), quantity)
    assert len(breakdown.lines) == 1
    assert breakdown.lines[0].index == tier
    assert breakdown.amount == total


def test_graduated_licence_by_hand():
    # 60 licences: 10 × 1000 + 40 × 800 + 10 × 600
    breakdown = tier_breakdown(schedule("graduated", LICENCE), 60)
    assert [(line.units, line.amount) for line in breakdown.lines] == [(10, 10_000), (40, 32_000), (10, 6_000)]
    assert breakdown.amount == 48_000


def test_fractional_rates_round_once_per_tier_line():
    # 3 units at 0.3333 = 0.9999 → 1; 2 units at 0.25 = 0.5 → 1 (half away from zero); total 2, not round(1.4999)=1
    tiers = schedule("graduated", ((3, "0.3333"), (None, "0.25")))
    breakdown = tier_breakdown(tiers, 5)
    assert [line.exact for line in breakdown.lines] == [D("0.9999"), D("0.50")]
    assert [line.amount for line in breakdown.lines] == [1, 1]
    assert breakdown.amount == 2


def test_fractional_metered_quantity():
    # 1000.5 calls: 0.5 call in the second tier × 0.5 = 0.25 → 0
    assert tiered_amount(schedule("graduated", API), D("1000.5")) == 0
    assert tiered_amount(schedule("graduated", API), D("1003.5")) == 2  # 3.5 × 0.5 = 1.75 → 2


def test_cap_bites_after_tiers():
    breakdown = tier_breakdown(schedule("graduated", API), 150_000, cap_amount=50_000)
    assert breakdown.uncapped_amount == 59_500
    assert [(line.amount, line.capped) for line in breakdown.lines] == [(0, False), (49_500, False), (500, True)]
    assert breakdown.amount == 50_000
    # a cap above the amount changes nothing
    assert tiered_amount(schedule("graduated", API), 150_000, cap_amount=60_000) == 59_500
    # a cap inside an earlier tier: later tiers bill 0 but are still shown
    breakdown = tier_breakdown(schedule("graduated", API), 150_000, cap_amount=100)
    assert [line.amount for line in breakdown.lines] == [0, 100, 0]


def test_unbounded_last_tier_and_beyond_a_bounded_last_tier():
    assert tiered_amount(schedule("volume", LICENCE), 10**9) == 600 * 10**9
    bounded = schedule("graduated", ((10, "5"), (20, "4")))
    assert tiered_amount(bounded, 20) == 90
    with pytest.raises(TierError):
        tier_breakdown(bounded, 21)
    with pytest.raises(TierError):
        tier_breakdown(bounded, -1)


@pytest.mark.parametrize(
    ("rows", "loc"),
    [
        (((100, "1"), (50, "1"), (None, "1")), ("tiers", 1, "bound")),  # unsorted
        (((100, "1"), (100, "1")), ("tiers", 1, "bound")),  # repeated
        (((None, "1"), (100, "1")), ("tiers", 0, "bound")),  # null bound not last
        (((100, "-1"), (None, "1")), ("tiers", 0, "unit_amount")),  # negative rate
        (((0, "1"), (None, "1")), ("tiers", 0, "bound")),  # bound must be positive
        ((), ("tiers",)),
    ],
)
def test_bad_schedules_are_refused_with_their_location(rows, loc):
    with pytest.raises(TierError) as info:
        schedule("graduated", rows)
    assert info.value.loc == loc


def test_priced_as_order_lines_one_per_tier_with_credits_and_cap():
    version = PriceVersion(
        price_id="p", amount_type="metered_tiers", currency="usd", rate_tiers=schedule("graduated", API), cap_amount=50_000
    )
    # 152,000 calls less 2,000 credited → 150,000 billable → capped at 50,000
    line = LineInput(price=version, label="API calls", units=D(152_000), credited_units=D(2_000), tax_rate_bps=1000)
    result = price(PricingInput(period=JAN, currency="usd", lines=(line,)))
    assert [item.amount for item in result.lines] == [0, 49_500, 500]
    assert result.subtotal_amount == 50_000
    assert result.tax_amount == 0 + 4_950 + 50
    assert result.lines[1].label == "API calls · units 1,001–100,000: 99,000 × 0.5¢"
    stored = json.loads(json.dumps(PricingInput(period=JAN, currency="usd", lines=(line,)).to_dict()))
    assert price(PricingInput.from_dict(stored)) == result


def test_unit_based_prorates_each_tier_line_once():
    version = PriceVersion(price_id="u", amount_type="unit_based", currency="usd", rate_tiers=schedule("graduated", LICENCE))
    t = dt.datetime(2025, 1, 22, tzinfo=dt.UTC)  # 10 of 31 days left
    line = LineInput(price=version, label="Licences", units=D(12), prorate_from=t)
    result = price(PricingInput(period=JAN, currency="usd", lines=(line,)))
    # 10 × 1000 × 10/31 = 3225.8 → 3226; 2 × 800 × 10/31 = 516.1 → 516
    assert [item.amount for item in result.lines] == [3226, 516]
    with pytest.raises(PricingError):
        metered = PriceVersion(price_id="m", amount_type="metered_tiers", currency="usd", rate_tiers=schedule("volume", API))
        price(PricingInput(period=JAN, currency="usd", lines=(LineInput(price=metered, label="x", units=D(1), prorate_from=t),)))


# --- properties ----------------------------------------------------------------------------------

rates = st.decimals(min_value=0, max_value=10_000, places=4, allow_nan=False, allow_infinity=False)


@st.composite
def schedules(draw, type_=None, order=None):
    n = draw(st.integers(min_value=1, max_value=5))
    steps = draw(st.lists(st.integers(min_value=1, max_value=1000), min_size=n - 1, max_size=n - 1))
    bounds, total = [], 0
    for step in steps:
        total += step
        bounds.append(total)
    last = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=1000)))
    bounds.append(None if last is None else total + last)
    values = draw(st.lists(rates, min_size=n, max_size=n))
    if order == "falling":
        values = sorted(values, reverse=True)
    elif order == "rising":
        values = sorted(values)
    return Tiers(type_ or draw(st.sampled_from(["graduated", "volume"])), tuple(Tier(b, v) for b, v in zip(bounds, values)))


def _cover(tiers, quantity):
    return tiers.last_bound is None or quantity <= tiers.last_bound


quantities = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(schedules(), quantities, st.one_of(st.none(), st.integers(min_value=0, max_value=10**7)))
def test_lines_sum_to_the_total_and_the_cap_is_never_exceeded(tiers, quantity, cap):
    assume(_cover(tiers, quantity))
    breakdown = tier_breakdown(tiers, quantity, cap)
    assert breakdown.amount == sum(line.amount for line in breakdown.lines)
    assert sum(line.units for line in breakdown.lines) == quantity
    assert all(line.amount >= 0 for line in breakdown.lines)
    if cap is not None:
        assert breakdown.amount == min(breakdown.uncapped_amount, cap)


@settings(max_examples=300, deadline=None)
@given(schedules(type_="graduated"), quantities, quantities, st.one_of(st.none(), st.integers(min_value=0, max_value=10**7)))
def test_graduated_is_monotone_in_quantity(tiers, a, b, cap):
    low, high = sorted((a, b))
    assume(_cover(tiers, high))
    assert tiered_amount(tiers, low, cap) <= tiered_amount(tiers, high, cap)


@settings(max_examples=300, deadline=None)
@given(schedules(type_="volume", order="rising"), quantities, quantities)
def test_volume_is_monotone_when_rates_never_fall(tiers, a, b):
    low, high = sorted((a, b))
    assume(_cover(tiers, high))
    assert tiered_amount(tiers, low) <= tiered_amount(tiers, high)


def _both(tiers, quantity):
    graduated = Tiers("graduated", tiers.tiers)
    volume = Tiers("volume", tiers.tiers)
    exact = [sum(line.exact for line in tier_breakdown(t, quantity).lines) for t in (graduated, volume)]
    return exact, tier_breakdown(graduated, quantity), tier_breakdown(volume, quantity)


@settings(max_examples=300, deadline=None)
@given(schedules(order="falling"), quantities)
def test_volume_never_costs_more_than_graduated_with_falling_rates(tiers, quantity):
    assume(_cover(tiers, quantity))
    (graduated, volume), g, _v = _both(tiers, quantity)
    assert volume <= graduated
    # rounded: graduated rounds once per tier line, so it may lose up to ½ per line
    assert tiered_amount(Tiers("volume", tiers.tiers), quantity) <= g.amount + len(g.lines)


@settings(max_examples=300, deadline=None)
@given(schedules(order="rising"), quantities)
def test_graduated_never_costs_more_than_volume_with_rising_rates(tiers, quantity):
    assume(_cover(tiers, quantity))
    (graduated, volume), _g, _v = _both(tiers, quantity)
    assert graduated <= volume


@settings(max_examples=200, deadline=None)
@given(schedules(), quantities)
def test_one_rate_everywhere_makes_the_modes_equal_before_rounding(tiers, quantity):
    assume(_cover(tiers, quantity))
    flat = Tiers(tiers.type, tuple(Tier(t.bound, tiers.tiers[0].unit_amount) for t in tiers.tiers))
    (graduated, volume), _g, _v = _both(flat, quantity)
    assert graduated == volume


@settings(max_examples=100, deadline=None)
@given(schedules())
def test_schedules_round_trip_through_json(tiers):
    assert Tiers.from_dict(json.loads(json.dumps(tiers.to_dict()))) == tiers
