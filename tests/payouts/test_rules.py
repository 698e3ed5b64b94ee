"""The ledger's posting rules (payouts/rules.py), without a database: exact lines for each money event,
and hypothesis properties that hold for any amounts (every posting balances, available never goes below
zero, a payment refunded in any number of parts returns exactly its platform fee). ``make mutate``
mutates the rules against these tests."""

import collections
import uuid

from hypothesis import given
from hypothesis import strategies as st

from payouts import rules
from payouts.models import LedgerAccount

ORG = uuid.UUID("00000000-0000-0000-0000-0000000000aa")
PENDING = f"merchant:{ORG}:pending"
AVAILABLE = f"merchant:{ORG}:available"
RESERVE = f"merchant:{ORG}:reserve"
DEBT = f"merchant:{ORG}:debt"
IN_TRANSIT = f"payouts:{ORG}:in_transit"
CLEARING = "processor:sandbox:clearing"
FEES = "processor:sandbox:fees"

amounts = st.integers(min_value=0, max_value=10**12)
positive = st.integers(min_value=1, max_value=10**12)


def _lines(lines):
    return [(line.account_key, line.amount, line.currency) for line in lines]


def _balance(lines) -> dict:
    totals = collections.Counter()
    for line in lines:
        totals[line.currency] += line.amount
    return {currency: total for currency, total in totals.items() if total}


def _net(lines, key) -> int:
    return sum(line.amount for line in lines if line.account_key == key)


# --- keys and kinds -------------------------------------------------------------------------------


def test_account_keys():
    assert rules.merchant_account_key(ORG, "merchant_pending") == PENDING
    assert rules.merchant_account_key(ORG, "debt") == DEBT
    assert rules.processor_account_key("sandbox", "processor_clearing") == CLEARING
    assert rules.processor_account_key("sandbox", "fees") == FEES
    assert rules.platform_fees_key() == "platform:fees"
    assert rules.payouts_in_transit_key(ORG) == IN_TRANSIT


def test_the_rules_kinds_are_the_ledger_accounts_kinds():
    kinds = [rules.MERCHANT_PENDING, rules.MERCHANT_AVAILABLE, rules.MERCHANT_RESERVE, rules.MERCHANT_DEBT]
    kinds += [rules.PROCESSOR_CLEARING, rules.PROCESSOR_FEES]
    assert set(kinds) <= set(LedgerAccount.Kind.values)
    assert rules.MERCHANT_PENDING == LedgerAccount.Kind.MERCHANT_PENDING
    assert rules.MERCHANT_AVAILABLE == LedgerAccount.Kind.MERCHANT_AVAILABLE
    assert rules.MERCHANT_RESERVE == LedgerAccount.Kind.MERCHANT_RESERVE
    assert rules.MERCHANT_DEBT == LedgerAccount.Kind.MERCHANT_DEBT
    assert rules.PROCESSOR_CLEARING == LedgerAccount.Kind.PROCESSOR_CLEARING
    assert rules.PROCESSOR_FEES == LedgerAccount.Kind.PROCESSOR_FEES


# --- fees -----------------------------------------------------------------------------------------


def test_platform_fee_is_basis_points_plus_fixed_capped_at_the_payment():
    assert rules.platform_fee(2000, bps=400, fixed=40) == 120
    assert rules.platform_fee(1000, bps=400, fixed=40) == 80
    assert rules.platform_fee(30, bps=400, fixed=40) == 30  # capped at the payment
    assert rules.platform_fee(0, bps=400, fixed=40) == 0
    assert rules.platform_fee(41, bps=400, fixed=40) == 41  # 1.64 + 40 -> 42, capped at 41
    assert rules.platform_fee(5000, bps=0, fixed=0) == 0


def test_platform_fee_rounds_halves_away_from_zero():
    assert rules.platform_fee(100, bps=50, fixed=0) == 1  # 0.5
    assert rules.platform_fee(300, bps=50, fixed=0) == 2  # 1.5
    assert rules.platform_fee(299, bps=50, fixed=0) == 1  # 1.495
    assert rules.platform_fee(1263, bps=400, fixed=0) == 51  # 50.52
    assert rules.platform_fee(1262, bps=400, fixed=0) == 50  # 50.48


@given(gross=amounts, bps=st.integers(0, 10_000), fixed=st.integers(0, 10_000))
def test_platform_fee_never_exceeds_the_payment_nor_goes_below_zero(gross, bps, fixed):
    fee = rules.platform_fee(gross, bps=bps, fixed=fixed)
    assert 0 <= fee <= gross
    assert fee == min(gross, (gross * bps * 2 + 10_000) // 20_000 + fixed)  # the same rounding, in integers


def test_refund_fee_returned_is_the_cumulative_share():
    # A 2000 payment with a 120 fee: refunds of 1000 then 1000 give back 60 and 60; 333, 333, 1334 give 20, 20, 80.
    assert rules.refund_fee_returned(fee=120, gross=2000, refunded_before=0, amount=1000) == 60
    assert rules.refund_fee_returned(fee=120, gross=2000, refunded_before=1000, amount=1000) == 60
    assert rules.refund_fee_returned(fee=120, gross=2000, refunded_before=0, amount=333) == 20  # 19.98
    assert rules.refund_fee_returned(fee=120, gross=2000, refunded_before=333, amount=333) == 20  # 39.96 - 20
    assert rules.refund_fee_returned(fee=120, gross=2000, refunded_before=666, amount=1334) == 80  # 120 - 40
    assert rules.refund_fee_returned(fee=1, gross=2, refunded_before=0, amount=1) == 1  # 0.5 rounds up
    assert rules.refund_fee_returned(fee=1, gross=2, refunded_before=1, amount=1) == 0
    assert rules.refund_fee_returned(fee=120, gross=2000, refunded_before=0, amount=2000) == 120


@given(
    gross=st.integers(1, 10**9),
    fee_share=st.floats(0, 1, allow_nan=False),
    cuts=st.lists(st.floats(0, 1, allow_nan=False), max_size=8),
)
def test_a_payment_refunded_in_any_parts_returns_exactly_its_fee(gross, fee_share, cuts):
    fee = int(gross * fee_share)
    points = sorted({0, gross, *(int(gross * cut) for cut in cuts)})
    returned = [
        rules.refund_fee_returned(fee=fee, gross=gross, refunded_before=before, amount=after - before)
        for before, after in zip(points, points[1:])
    ]
    assert sum(returned) == fee
    assert all(part >= 0 for part in returned)


# --- payments and releases ------------------------------------------------------------------------


def test_payment_lines():
    lines = rules.payment_lines(organization_id=ORG, processor="sandbox", gross=2000, fee=120, processor_fee=88, currency="usd")
    assert _lines(lines) == [
        (CLEARING, 2000, "usd"),
        (PENDING, -1880, "usd"),
        ("platform:fees", -120, "usd"),
        (FEES, 88, "usd"),
        (CLEARING, -88, "usd"),
    ]


@given(gross=amounts, fee=amounts, processor_fee=amounts)
def test_a_payment_balances(gross, fee, processor_fee):
    lines = rules.payment_lines(
        organization_id=ORG, processor="sandbox", gross=gross, fee=fee, processor_fee=processor_fee, currency="eur"
    )
    assert _balance(lines) == {}
    assert _net(lines, PENDING) == -(gross - fee)


def test_release_lines_repay_debt_first():
    lines = rules.release_lines(organization_id=ORG, amount=1880, currency="usd", available=0, debt=500)
    assert _lines(lines) == [(PENDING, 1880, "usd"), (DEBT, -500, "usd"), (AVAILABLE, -1380, "usd")]
    lines = rules.release_lines(organization_id=ORG, amount=300, currency="usd", available=10, debt=500)
    assert _lines(lines) == [(PENDING, 300, "usd"), (DEBT, -300, "usd"), (AVAILABLE, 0, "usd")]


# --- the merchant's free funds --------------------------------------------------------------------


def test_funds_lines_examples():
    credit = rules.funds_lines(organization_id=ORG, amount=1000, available=50, debt=0, currency="usd")
    assert _lines(credit) == [(DEBT, 0, "usd"), (AVAILABLE, -1000, "usd")]
    debit = rules.funds_lines(organization_id=ORG, amount=-1000, available=400, debt=0, currency="usd")
    assert _lines(debit) == [(AVAILABLE, 400, "usd"), (DEBT, 600, "usd")]
    debit = rules.funds_lines(organization_id=ORG, amount=-300, available=400, debt=0, currency="usd")
    assert _lines(debit) == [(AVAILABLE, 300, "usd"), (DEBT, 0, "usd")]
    # A ledger that is not clean (negative available or debt) is treated as zero, never grows the hole.
    assert _lines(rules.funds_lines(organization_id=ORG, amount=-5, available=-20, debt=0, currency="usd")) == [
        (AVAILABLE, 0, "usd"),
        (DEBT, 5, "usd"),
    ]
    assert _lines(rules.funds_lines(organization_id=ORG, amount=5, available=0, debt=-20, currency="usd")) == [
        (DEBT, 0, "usd"),
        (AVAILABLE, -5, "usd"),
    ]
    assert _lines(rules.funds_lines(organization_id=ORG, amount=0, available=7, debt=3, currency="usd")) == [
        (DEBT, 0, "usd"),
        (AVAILABLE, 0, "usd"),
    ]


@given(amount=st.integers(-(10**12), 10**12), available=amounts, debt=amounts)
def test_funds_never_drive_available_below_zero_nor_leave_debt_unpaid_beside_available(amount, available, debt):
    lines = rules.funds_lines(organization_id=ORG, amount=amount, available=available, debt=debt, currency="usd")
    new_available = available - _net(lines, AVAILABLE)  # credit-normal: a credit (negative) adds to it
    new_debt = debt + _net(lines, DEBT)  # debit-normal
    assert new_available - new_debt == available - debt + amount  # the merchant's net worth moves by amount
    assert new_available >= 0 and new_debt >= 0
    if amount >= 0:  # a credit repays the debt first
        assert new_debt == max(debt - amount, 0)
        assert new_available == available + max(amount - debt, 0)
    else:
        assert new_available == max(available + amount, 0)


def test_pending_share():
    assert rules.pending_share(amount=500, pending=1880, released=False) == 500
    assert rules.pending_share(amount=2500, pending=1880, released=False) == 1880
    assert rules.pending_share(amount=2500, pending=1880, released=True) == 0
    assert rules.pending_share(amount=500, pending=-10, released=False) == 0
    assert rules.pending_share(amount=0, pending=1880, released=False) == 0


# --- refunds and disputes -------------------------------------------------------------------------


def test_refund_inside_the_holding_period_takes_from_pending():
    lines = rules.refund_lines(
        organization_id=ORG,
        processor="sandbox",
        amount=1000,
        fee_returned=60,
        currency="usd",
        pending=1880,
        released=False,
        available=0,
        debt=0,
    )
    assert _lines(lines) == [(PENDING, 940, "usd"), ("platform:fees", 60, "usd"), (CLEARING, -1000, "usd")]


def test_refund_beyond_pending_takes_available_then_makes_debt():
    lines = rules.refund_lines(
        organization_id=ORG,
        processor="sandbox",
        amount=2000,
        fee_returned=120,
        currency="usd",
        pending=1000,
        released=False,
        available=500,
        debt=0,
    )
    assert _lines(lines) == [
        (PENDING, 1000, "usd"),
        (AVAILABLE, 500, "usd"),
        (DEBT, 380, "usd"),
        ("platform:fees", 120, "usd"),
        (CLEARING, -2000, "usd"),
    ]


def test_refund_after_release_takes_nothing_from_pending():
    lines = rules.refund_lines(
        organization_id=ORG,
        processor="sandbox",
        amount=1000,
        fee_returned=60,
        currency="usd",
        pending=1880,
        released=True,
        available=5000,
        debt=0,
    )
    assert _lines(lines) == [
        (PENDING, 0, "usd"),
        (AVAILABLE, 940, "usd"),
        (DEBT, 0, "usd"),
        ("platform:fees", 60, "usd"),
        (CLEARING, -1000, "usd"),
    ]


def test_dispute_opened_and_closed():
    opened = rules.dispute_opened_lines(
        organization_id=ORG,
        processor="sandbox",
        amount=2000,
        fee=1500,
        currency="usd",
        pending=1880,
        released=False,
        available=1000,
        debt=0,
    )
    assert _lines(opened) == [
        (PENDING, 1880, "usd"),
        (AVAILABLE, 1000, "usd"),
        (DEBT, 620, "usd"),
        (RESERVE, -2000, "usd"),
        (CLEARING, -1500, "usd"),
    ]
    won = rules.dispute_closed_lines(
        organization_id=ORG, processor="sandbox", amount=2000, currency="usd", won=True, available=0, debt=620
    )
    assert _lines(won) == [(RESERVE, 2000, "usd"), (DEBT, -620, "usd"), (AVAILABLE, -1380, "usd")]
    lost = rules.dispute_closed_lines(
        organization_id=ORG, processor="sandbox", amount=2000, currency="usd", won=False, available=0, debt=620
    )
    assert _lines(lost) == [(RESERVE, 2000, "usd"), (CLEARING, -2000, "usd")]


def test_a_dispute_opened_after_the_release_takes_nothing_from_pending():
    opened = rules.dispute_opened_lines(
        organization_id=ORG,
        processor="sandbox",
        amount=2000,
        fee=1500,
        currency="usd",
        pending=1880,
        released=True,
        available=5000,
        debt=0,
    )
    assert _lines(opened) == [
        (PENDING, 0, "usd"),
        (AVAILABLE, 3500, "usd"),
        (DEBT, 0, "usd"),
        (RESERVE, -2000, "usd"),
        (CLEARING, -1500, "usd"),
    ]


@given(
    amount=amounts,
    share=amounts,
    pending=st.integers(-100, 10**12),
    released=st.booleans(),
    available=amounts,
    debt=amounts,
    won=st.booleans(),
)
def test_refunds_and_disputes_balance(amount, share, pending, released, available, debt, won):
    funds = {"pending": pending, "released": released, "available": available, "debt": debt}
    refund = rules.refund_lines(
        organization_id=ORG, processor="sandbox", amount=amount, fee_returned=min(share, amount), currency="usd", **funds
    )
    assert _balance(refund) == {}
    assert _net(refund, CLEARING) == -amount
    opened = rules.dispute_opened_lines(
        organization_id=ORG, processor="sandbox", amount=amount, fee=share, currency="usd", **funds
    )
    assert _balance(opened) == {}
    assert _net(opened, RESERVE) == -amount
    assert 0 <= _net(opened, PENDING) <= max(pending, 0)
    assert 0 <= _net(opened, AVAILABLE) <= available
    closed = rules.dispute_closed_lines(
        organization_id=ORG, processor="sandbox", amount=amount, currency="usd", won=won, available=available, debt=debt
    )
    assert _balance(closed) == {}
    assert _net(closed, RESERVE) == amount
    assert _net(closed, CLEARING) == (0 if won else -amount)


# --- payouts --------------------------------------------------------------------------------------


def test_payout_lines():
    assert _lines(rules.payout_requested_lines(organization_id=ORG, amount=5000, currency="usd")) == [
        (AVAILABLE, 5000, "usd"),
        (IN_TRANSIT, -5000, "usd"),
    ]
    paid = rules.payout_settled_lines(
        organization_id=ORG, processor="sandbox", amount=5000, currency="usd", paid=True, available=0, debt=0
    )
    assert _lines(paid) == [(IN_TRANSIT, 5000, "usd"), (CLEARING, -5000, "usd")]
    failed = rules.payout_settled_lines(
        organization_id=ORG, processor="sandbox", amount=5000, currency="usd", paid=False, available=0, debt=700
    )
    assert _lines(failed) == [(IN_TRANSIT, 5000, "usd"), (DEBT, -700, "usd"), (AVAILABLE, -4300, "usd")]


@given(amount=amounts, paid=st.booleans(), available=amounts, debt=amounts)
def test_payouts_balance(amount, paid, available, debt):
    requested = rules.payout_requested_lines(organization_id=ORG, amount=amount, currency="jpy")
    settled = rules.payout_settled_lines(
        organization_id=ORG, processor="sandbox", amount=amount, currency="jpy", paid=paid, available=available, debt=debt
    )
    assert _balance(requested) == _balance(settled) == {}
    assert _net(requested, IN_TRANSIT) + _net(settled, IN_TRANSIT) == 0
