"""The ledger's posting rules as pure functions: which lines each money event writes, from plain numbers.

No ORM here (so ``make mutate`` can mutate these rules against fast tests, and hypothesis can check them
by the thousand): ``payouts/postings.py`` reads what a rule needs from the ledger (a balance, what a
payment still has pending), calls the rule, and posts its lines with ``ledger_post``. docs/ledger.md
explains who bears which fee; every rule's lines sum to zero per currency (tests/payouts/test_rules.py).

Signs: a line's amount is positive for a debit and negative for a credit. The merchant's accounts are
credit-normal (what the platform owes it), except debt, which is what the merchant owes the platform.
"""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal

from polar.money import round_minor_units

# Account kinds (the values of ``LedgerAccount.Kind``; a test keeps the two in step).
MERCHANT_PENDING = "merchant_pending"
MERCHANT_AVAILABLE = "merchant_available"
MERCHANT_RESERVE = "merchant_reserve"
MERCHANT_DEBT = "merchant_debt"
PROCESSOR_CLEARING = "processor_clearing"
PROCESSOR_FEES = "processor_fees"


@dataclasses.dataclass(frozen=True)
class Line:
    account_key: str
    amount: int
    currency: str


@dataclasses.dataclass(frozen=True)
class Posting:
    """One transaction to post (the arguments of ``ledger_post``)."""

    idempotency_key: str
    kind: str
    lines: list[Line]
    organization_id: uuid.UUID | None = None
    source_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    description: str = ""


# --- account keys ---------------------------------------------------------------------------------


def merchant_account_key(organization_id, kind: str) -> str:
    return f"merchant:{organization_id}:{kind.removeprefix('merchant_')}"


def platform_fees_key() -> str:
    return "platform:fees"


def processor_account_key(processor: str, kind: str) -> str:
    return f"processor:{processor}:{kind.removeprefix('processor_')}"


def payouts_in_transit_key(organization_id) -> str:
    return f"payouts:{organization_id}:in_transit"


# --- fees -----------------------------------------------------------------------------------------


def platform_fee(gross: int, *, bps: int, fixed: int) -> int:
    """The platform's fee on a payment of ``gross``: ``bps`` basis points (rounded by the house rule)
    plus ``fixed``, never more than the payment itself."""
    return min(gross, round_minor_units(Decimal(gross) * bps / Decimal(10_000)) + fixed)


def refund_fee_returned(*, fee: int, gross: int, refunded_before: int, amount: int) -> int:
    """The share of a payment's platform ``fee`` that a refund of ``amount`` gives back, when
    ``refunded_before`` was already refunded. Computed cumulatively (the fee share of everything refunded
    so far, less the share of what was refunded before), so however a payment is refunded in parts, a
    full refund has returned exactly ``fee``."""
    return round_minor_units(Decimal(fee) * (refunded_before + amount) / gross) - round_minor_units(
        Decimal(fee) * refunded_before / gross
    )


# --- the lines of each event ------------------------------------------------------------------------


def payment_lines(*, organization_id, processor: str, gross: int, fee: int, processor_fee: int, currency: str) -> list[Line]:
    """A succeeded payment: the processor holds ``gross``; the merchant is owed ``gross - fee`` (pending,
    inside the holding period); the platform earns ``fee``; the processor keeps its fee, borne by the
    platform."""
    clearing = processor_account_key(processor, PROCESSOR_CLEARING)
    return [
        Line(clearing, gross, currency),
        Line(merchant_account_key(organization_id, MERCHANT_PENDING), -(gross - fee), currency),
        Line(platform_fees_key(), -fee, currency),
        Line(processor_account_key(processor, PROCESSOR_FEES), processor_fee, currency),
        Line(clearing, -processor_fee, currency),
    ]


def funds_lines(*, organization_id, amount: int, available: int, debt: int, currency: str) -> list[Line]:
    """Credit (``amount`` > 0) or debit (``amount`` < 0) the merchant's free funds, given its current
    ``available`` balance and ``debt`` (both as amounts owed, never below zero in a clean ledger). A
    credit repays debt first and the rest goes to available; a debit takes available as far as it goes
    and the rest becomes debt, so available never goes below zero."""
    available_key = merchant_account_key(organization_id, MERCHANT_AVAILABLE)
    debt_key = merchant_account_key(organization_id, MERCHANT_DEBT)
    available, debt = max(available, 0), max(debt, 0)  # a ledger that is not clean never deepens the hole
    if amount >= 0:
        repay = min(amount, debt)
        return [Line(debt_key, -repay, currency), Line(available_key, -(amount - repay), currency)]
    take = min(-amount, available)
    return [Line(available_key, take, currency), Line(debt_key, -amount - take, currency)]


def pending_share(*, amount: int, pending: int, released: bool) -> int:
    """How much of a debit of ``amount`` on one payment (refund, dispute) comes from that payment's own
    ``pending`` funds: all of it while they last and the payment is not released, none once released."""
    return 0 if released else max(0, min(amount, pending))


def release_lines(*, organization_id, amount: int, currency: str, available: int, debt: int) -> list[Line]:
    """A payment's pending funds (``amount`` of them are left) move to the merchant's free funds."""
    return [
        Line(merchant_account_key(organization_id, MERCHANT_PENDING), amount, currency),
        *funds_lines(organization_id=organization_id, amount=amount, available=available, debt=debt, currency=currency),
    ]


def payment_debit_lines(
    *, organization_id, amount: int, currency: str, pending: int, released: bool, available: int, debt: int
) -> list[Line]:
    """Take ``amount`` from the merchant for an event of one payment: from the payment's pending funds
    first (``pending_share``), the rest from its free funds (``funds_lines``)."""
    from_pending = pending_share(amount=amount, pending=pending, released=released)
    lines = [Line(merchant_account_key(organization_id, MERCHANT_PENDING), from_pending, currency)]
    if amount - from_pending:
        lines += funds_lines(
            organization_id=organization_id,
            amount=-(amount - from_pending),
            available=available,
            debt=debt,
            currency=currency,
        )
    return lines


def refund_lines(
    *,
    organization_id,
    processor: str,
    amount: int,
    fee_returned: int,
    currency: str,
    pending: int,
    released: bool,
    available: int,
    debt: int,
) -> list[Line]:
    """A refund of ``amount``: the customer's money leaves processor clearing; the merchant gives back
    ``amount`` less the platform fee returned with it; the processor keeps its fee."""
    return [
        *payment_debit_lines(
            organization_id=organization_id,
            amount=amount - fee_returned,
            currency=currency,
            pending=pending,
            released=released,
            available=available,
            debt=debt,
        ),
        Line(platform_fees_key(), fee_returned, currency),
        Line(processor_account_key(processor, PROCESSOR_CLEARING), -amount, currency),
    ]


def dispute_opened_lines(
    *,
    organization_id,
    processor: str,
    amount: int,
    fee: int,
    currency: str,
    pending: int,
    released: bool,
    available: int,
    debt: int,
) -> list[Line]:
    """A dispute of ``amount`` opens: the merchant's funds move ``amount`` to its reserve and pay the
    dispute ``fee``, which the processor takes from clearing."""
    return [
        *payment_debit_lines(
            organization_id=organization_id,
            amount=amount + fee,
            currency=currency,
            pending=pending,
            released=released,
            available=available,
            debt=debt,
        ),
        Line(merchant_account_key(organization_id, MERCHANT_RESERVE), -amount, currency),
        Line(processor_account_key(processor, PROCESSOR_CLEARING), -fee, currency),
    ]


def dispute_closed_lines(
    *, organization_id, processor: str, amount: int, currency: str, won: bool, available: int, debt: int
) -> list[Line]:
    """A dispute closes: the reserve goes back to the merchant when won (repaying its debt first), to the
    customer (out of clearing) when lost. The dispute fee is not returned either way."""
    if won:
        target = funds_lines(organization_id=organization_id, amount=amount, available=available, debt=debt, currency=currency)
    else:
        target = [Line(processor_account_key(processor, PROCESSOR_CLEARING), -amount, currency)]
    return [Line(merchant_account_key(organization_id, MERCHANT_RESERVE), amount, currency), *target]


def payout_requested_lines(*, organization_id, amount: int, currency: str) -> list[Line]:
    """A payout requested: the merchant's available funds move to payouts in transit (still owed to it)."""
    return [
        Line(merchant_account_key(organization_id, MERCHANT_AVAILABLE), amount, currency),
        Line(payouts_in_transit_key(organization_id), -amount, currency),
    ]


def payout_settled_lines(
    *, organization_id, processor: str, amount: int, currency: str, paid: bool, available: int, debt: int
) -> list[Line]:
    """A payout's outcome: paid, the money leaves processor clearing for the merchant's bank; failed, it
    comes back to the merchant's free funds (repaying any debt first)."""
    if paid:
        target = [Line(processor_account_key(processor, PROCESSOR_CLEARING), -amount, currency)]
    else:
        target = funds_lines(organization_id=organization_id, amount=amount, available=available, debt=debt, currency=currency)
    return [Line(payouts_in_transit_key(organization_id), amount, currency), *target]
