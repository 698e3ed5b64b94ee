"""Ledger and payouts models; import them here so Django finds them."""

from payouts.models.ledger import LedgerAccount, LedgerEntry, LedgerTransaction  # noqa: F401
from payouts.models.payouts import Payout, PayoutAccount, PayoutStatus  # noqa: F401
