"""The tier engine's rules pinned exactly (issue 23): every refusal with its message and the ``loc`` the API
reports in its 422, the edges of a bound and of a cap, and how labels write quantities and rates."""

import re
from decimal import Decimal

import pytest

from billing.pricing.tiers import Tier, TierError, Tiers, tier_breakdown, tier_line_label, tiered_amount

D = Decimal


def schedule(type_, *rows):
    return Tiers(type_, tuple(Tier(bound, rate) for bound, rate in rows))


def refused(message, loc):
    class Check:
        def __enter__(self):
            self.raises = pytest.raises(TierError, match="^" + re.escape(message) + "$")
            self.info = self.raises.__enter__()
            return self

        def __exit__(self, *exc):
            handled = self.raises.__exit__(*exc)
            assert self.info.value.loc == loc
            return handled

    return Check()


@pytest.mark.parametrize(
    ("type_", "rows", "message", "loc"),
    [
        ("stairs", ((None, D(1)),), "type must be one of ('graduated', 'volume')", ("type",)),
        ("graduated", (), "At least one tier is required.", ("tiers",)),
        ("volume", ((10, D(1)), (None, D(-1))), "Input should be greater than or equal to 0", ("tiers", 1, "unit_amount")),
        ("volume", ((None, D(1)), (10, D(1))), "Only the last tier can be unbounded.", ("tiers", 0, "bound")),
        ("graduated", ((0, D(1)), (None, D(1))), "A tier's bound must be a positive integer.", ("tiers", 0, "bound")),
        ("graduated", ((-5, D(1)), (None, D(1))), "A tier's bound must be a positive integer.", ("tiers", 0, "bound")),
        ("graduated", ((True, D(1)), (None, D(1))), "A tier's bound must be a positive integer.", ("tiers", 0, "bound")),
        ("graduated", ((2.5, D(1)), (None, D(1))), "A tier's bound must be a positive integer.", ("tiers", 0, "bound")),
        ("graduated", (("5", D(1)), (None, D(1))), "A tier's bound must be a positive integer.", ("tiers", 0, "bound")),
        ("graduated", ((10, D(1)), (10, D(1))), "Tier bounds must be strictly increasing (sorted, no repeats).", ("tiers", 1, "bound")),
        ("graduated", ((10, D(1)), (5, D(1))), "Tier bounds must be strictly increasing (sorted, no repeats).", ("tiers", 1, "bound")),
        ("graduated", ((10, D("NaN")),), "Input should be a finite number", ("tiers", 0, "unit_amount")),
        ("graduated", ((10, D(1)), (None, "Infinity")), "Input should be a finite number", ("tiers", 1, "unit_amount")),
    ],
)  # fmt: skip
def test_a_schedule_that_breaks_a_rule(type_, rows, message, loc):
    with refused(message, loc):
        schedule(type_, *rows)


def test_rates_become_decimals_and_the_first_bound_may_be_one():
    tiers = schedule("graduated", (1, 3), (2, "0.5"), (None, 0.25))
    assert [tier.unit_amount for tier in tiers.tiers] == [D(3), D("0.5"), D("0.25")]
    assert all(isinstance(tier.unit_amount, Decimal) for tier in tiers.tiers)
    assert tiers.last_bound is None
    assert schedule("volume", (7, 1)).last_bound == 7


def test_quantities_that_no_tier_covers():
    bounded = schedule("graduated", (10, D(1)))
    with refused("Negative quantity: -1", ("quantity",)):
        tier_breakdown(bounded, D(-1))
    with refused("No tier covers quantity 11 (the last tier ends at 10)", ("quantity",)):
        tier_breakdown(bounded, D(11))
    with refused("Input should be a finite number", ("quantity",)):
        tier_breakdown(bounded, D("Infinity"))
    assert tier_breakdown(bounded, D(10)).amount == 10


def test_a_graduated_quantity_exactly_on_a_bound_stays_in_that_tier():
    breakdown = tier_breakdown(schedule("graduated", (10, D(1)), (None, D(2))), D(10))
    assert [(line.index, line.units, line.amount) for line in breakdown.lines] == [(0, D(10), 10)]
    assert (breakdown.quantity, breakdown.cap_amount, breakdown.amount, breakdown.uncapped_amount) == (D(10), None, 10, 10)


def test_a_cap_equal_to_the_amount_does_not_bite():
    tiers = schedule("graduated", (10, D(1)), (None, D(2)))
    exact = tier_breakdown(tiers, D(12), cap_amount=14)
    assert [(line.amount, line.capped) for line in exact.lines] == [(10, False), (4, False)]
    assert (exact.amount, exact.cap_amount, exact.uncapped_amount) == (14, 14, 14)
    bitten = tier_breakdown(tiers, D(12), cap_amount=12)
    assert [(line.amount, line.capped) for line in bitten.lines] == [(10, False), (2, True)]
    assert tiered_amount(tiers, D(12), 12) == 12
    assert tiered_amount(tiers, D(12)) == 14


def test_labels_write_quantities_rates_and_the_cap():
    tiers = schedule("graduated", (1000, D(0)), (None, D("0.50")))
    breakdown = tier_breakdown(tiers, D("1500.5"), cap_amount=100)
    labels = [tier_line_label(line, type="graduated") for line in breakdown.lines]
    assert labels == ["units 1–1,000: 1,000 × 0¢", "units 1,001+: 500.5 × 0.5¢ (capped)"]
    hundred = tier_breakdown(schedule("volume", (None, D("100.00"))), D(3))
    assert tier_line_label(hundred.lines[0], type="volume", unit="seats") == "3 seats at the 1+ rate: 3 × 100¢"
    assert Tier(None, D("100.00")).to_dict() == {"bound": None, "unit_amount": "100"}
    assert Tier(5, D("0.000")).to_dict() == {"bound": 5, "unit_amount": "0"}
