"""The sandbox payout processor: a bank transfer that is accepted at once (``in_transit``) and arrives after
``TRANSIT_TIME``, or fails then, decided by the account number alone (deterministic, no network, no table).

Failing account numbers (Stripe's test numbers): ``000111111116`` (``no_account``), ``000111111113``
(``account_closed``), ``000222222227`` (``insufficient_funds``). Every other number succeeds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

TRANSIT_TIME = dt.timedelta(days=2)

FAILING_ACCOUNTS = {
    "000111111116": ("no_account", "The bank account does not exist."),
    "000111111113": ("account_closed", "The bank account is closed."),
    "000222222227": ("insufficient_funds", "The transfer was returned by the bank."),
}


@dataclasses.dataclass(frozen=True)
class PayoutOutcome:
    status: str  # "in_transit", "succeeded" or "failed"
    failure_code: str = ""
    failure_message: str = ""


class SandboxPayoutProcessor:
    name = "sandbox"

    def send(self, *, payout_id, amount: int, currency: str, account_number: str, now: dt.datetime) -> tuple[str, dt.datetime]:
        """Start a transfer; returns the processor's reference (the same for the same payout: the call is
        idempotent by payout id) and the expected arrival."""
        return f"po_sandbox_{payout_id.hex}", now + TRANSIT_TIME

    def status(self, *, account_number: str, arrival_date: dt.datetime, now: dt.datetime) -> PayoutOutcome:
        """The transfer's state at ``now``: in transit until the arrival date, then failed (a failing
        account number) or succeeded."""
        if now < arrival_date:
            return PayoutOutcome("in_transit")
        if account_number in FAILING_ACCOUNTS:
            code, message = FAILING_ACCOUNTS[account_number]
            return PayoutOutcome("failed", code, message)
        return PayoutOutcome("succeeded")


def get_payout_processor(name: str = "sandbox") -> SandboxPayoutProcessor:
    if name != "sandbox":
        raise ValueError(f"unknown payout processor {name!r}")
    return SandboxPayoutProcessor()
