"""The postings of each money event (see docs/ledger.md for who bears which fee).

These functions take plain values (ids, amounts, the processor's name), never billing rows: the ledger
sits below billing, which calls it in the transaction that records the event. Each is idempotent by
its key (``payment:<payment id>``, ``release:<payment transaction id>``, ``refund:<refund id>``).

A payment of ``gross`` with processor fee ``P`` and platform fee ``F``:

====================================  ==========  ======================================
account                               amount      why
====================================  ==========  ======================================
processor clearing                    +gross      the processor holds the customer's money
merchant pending                      −(gross−F)  owed to the merchant, inside the holding period
platform fees                         −F          the platform's revenue
processor fees                        +P          the processor's fee, borne by the platform
processor clearing                    −P          ... and kept by the processor
====================================  ==========  ======================================
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Sum

from payouts import rules
from payouts.ledger import Posting, accounts_for, ledger_post, ledger_post_many, merchant_account_key
from payouts.models import LedgerAccount, LedgerEntry, LedgerTransaction

# Polar's platform fee: 4 % + 40 minor units of each payment (capped at the payment). It covers the
# processor's fee, which the platform bears.
PLATFORM_FEE_BPS = 400
PLATFORM_FEE_FIXED = 40
# How long a payment's funds stay pending before they can be paid out (refund and dispute window).
HOLDING_PERIOD = dt.timedelta(days=7)

PENDING = LedgerAccount.Kind.MERCHANT_PENDING
AVAILABLE = LedgerAccount.Kind.MERCHANT_AVAILABLE
DEBT = LedgerAccount.Kind.MERCHANT_DEBT


def platform_fee(gross: int) -> int:
    bps = getattr(settings, "PLATFORM_FEE_BPS", PLATFORM_FEE_BPS)
    fixed = getattr(settings, "PLATFORM_FEE_FIXED", PLATFORM_FEE_FIXED)
    return rules.platform_fee(gross, bps=bps, fixed=fixed)


def holding_period() -> dt.timedelta:
    return getattr(settings, "LEDGER_HOLDING_PERIOD", HOLDING_PERIOD)


def payment_key(payment_id) -> str:
    return f"payment:{payment_id}"


def payment_posting(
    *, payment_id: uuid.UUID, organization_id: uuid.UUID, gross: int, processor_fee: int, currency: str, processor: str
) -> Posting:
    return Posting(
        idempotency_key=payment_key(payment_id),
        kind=LedgerTransaction.Kind.PAYMENT,
        organization_id=organization_id,
        source_id=payment_id,
        lines=rules.payment_lines(
            organization_id=organization_id,
            processor=processor,
            gross=gross,
            fee=platform_fee(gross),
            processor_fee=processor_fee,
            currency=currency,
        ),
    )


def payment_fields(payment) -> dict:
    """``payment_posting``'s arguments read off a succeeded payment row (any object with its fields)."""
    return {
        "payment_id": payment.id,
        "organization_id": payment.organization_id,
        "gross": payment.amount,
        "processor_fee": payment.fee or 0,
        "currency": payment.currency,
        "processor": payment.processor,
    }


def payment_post(**kwargs) -> LedgerTransaction:
    """Post a succeeded payment (``payment_posting``'s arguments). Idempotent by ``payment:<id>``."""
    posting = payment_posting(**kwargs)
    row, _ = ledger_post(**vars(posting))
    return row


def payments_post_many(payments: list[dict]) -> list[LedgerTransaction]:
    """``payment_post`` for a batch (renewals): three INSERTs whatever the size of the batch."""
    return ledger_post_many([payment_posting(**payment) for payment in payments])


# --- the merchant's funds -------------------------------------------------------------------------
# Available never goes below zero (a ``ledger_check`` invariant). What a refund or a dispute takes beyond
# the merchant's funds becomes debt (``merchant:<org>:debt``, what the merchant owes the platform), and the
# next money credited to the merchant (a release, a dispute won, a failed payout) repays the debt first.


def _sum(key: str, currency: str) -> int:
    """The raw (debit-positive) sum of an account's entries in one currency."""
    return LedgerEntry.objects.filter(account__key=key, currency=currency).aggregate(total=Sum("amount"))["total"] or 0


def merchant_funds_lock(organization_id) -> None:
    """Lock the organization's available account row (created if missing). Every posting that reads the
    available balance or the debt to choose its lines holds this lock until its transaction ends, so two
    of them never spend the same funds. Taken after any payment transaction lock (never before one)."""
    key = merchant_account_key(organization_id, AVAILABLE)
    accounts_for([key, merchant_account_key(organization_id, DEBT)])
    LedgerAccount.objects.select_for_update().get(key=key)


def merchant_available(*, organization_id, currency: str) -> int:
    """The organization's available balance in ``currency`` (merchant's side)."""
    return -_sum(merchant_account_key(organization_id, AVAILABLE), currency)


def merchant_funds(organization_id, currency: str) -> dict:
    """``{"available": …, "debt": …}``: what the merchant's free funds hold in ``currency`` (the arguments
    ``rules.funds_lines`` chooses its lines by). Locks the funds (``merchant_funds_lock``) first, so call
    it inside the posting's transaction: the lines are chosen on balances nobody else can change."""
    merchant_funds_lock(organization_id)
    return {
        "available": -_sum(merchant_account_key(organization_id, AVAILABLE), currency),
        "debt": _sum(merchant_account_key(organization_id, DEBT), currency),
    }


def payment_funds(payment_transaction: LedgerTransaction, amount: int, currency: str) -> dict:
    """What an event taking ``amount`` from one payment (refund, dispute) may take from: the payment's own
    pending funds and whether they were released, and, only when those do not cover ``amount``, the
    merchant's free funds (then locked; otherwise the rule does not read them). The caller holds the
    payment transaction locked."""
    released = payment_transaction.children.filter(kind=LedgerTransaction.Kind.RELEASE).exists()
    pending = 0 if released else _merchant_net(payment_transaction, PENDING)
    if rules.pending_share(amount=amount, pending=pending, released=released) == amount:
        return {"pending": pending, "released": released, "available": 0, "debt": 0}
    return {"pending": pending, "released": released, **merchant_funds(payment_transaction.organization_id, currency)}


# --- release of pending funds ----------------------------------------------------------------------


def _merchant_net(payment_transaction: LedgerTransaction, kind: str) -> int:
    """The merchant's credit (positive = owed to it) on ``kind`` from a payment and its children."""
    key = merchant_account_key(payment_transaction.organization_id, kind)
    total = (
        LedgerEntry.objects.filter(account__key=key)
        .filter(transaction_id__in=[payment_transaction.id, *payment_transaction.children.values_list("id", flat=True)])
        .aggregate(total=Sum("amount"))["total"]
        or 0
    )
    return -total


def release_key(payment_transaction_id) -> str:
    return f"release:{payment_transaction_id}"


def payments_release_due(*, now: dt.datetime, limit: int = 1000) -> int:
    """Move the pending funds of payments posted more than the holding period before ``now`` to the
    merchant's available balance (what is left of them after refunds). One ``release`` transaction per
    payment, idempotent by ``release:<payment transaction id>``; the payment's transaction is locked
    so a refund of the same payment waits and then takes from available. Returns how many released."""
    released = Exists(LedgerTransaction.objects.filter(parent=OuterRef("pk"), kind=LedgerTransaction.Kind.RELEASE))
    due = list(
        LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PAYMENT, created_at__lte=now - holding_period())
        .exclude(released)
        .order_by("created_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    count = 0
    for transaction_id in due:
        with transaction.atomic():
            payment_transaction = LedgerTransaction.objects.select_for_update().get(pk=transaction_id)
            if payment_transaction.children.filter(kind=LedgerTransaction.Kind.RELEASE).exists():
                continue
            currency = payment_transaction.entries.values_list("currency", flat=True).first()
            # Never negative: events on a payment take its pending funds only as far as they go.
            amount = _merchant_net(payment_transaction, PENDING)
            organization_id = payment_transaction.organization_id
            ledger_post(
                idempotency_key=release_key(payment_transaction.id),
                kind=LedgerTransaction.Kind.RELEASE,
                organization_id=organization_id,
                source_id=payment_transaction.source_id,
                parent_id=payment_transaction.id,
                lines=rules.release_lines(
                    organization_id=organization_id,
                    amount=amount,
                    currency=currency,
                    **merchant_funds(organization_id, currency),
                ),
            )
            count += 1
    return count


# --- refunds --------------------------------------------------------------------------------------


def refund_key(refund_id) -> str:
    return f"refund:{refund_id}"


def refund_post(
    *,
    refund_id: uuid.UUID,
    payment_id: uuid.UUID,
    amount: int,
    refunded_before: int,
    processor: str,
) -> LedgerTransaction:
    """Post a refund of ``amount`` of a payment of which ``refunded_before`` was already refunded.

    The customer's money leaves processor clearing; the merchant gives back ``amount`` less the share
    of the platform fee returned with it (the platform fee is returned in proportion to the refunded
    share of the payment, computed cumulatively so a full refund returns it exactly); the processor
    keeps its fee (the platform bears it). Taken from the merchant's pending funds while the payment
    is in its holding period, from its available balance after. Locks the payment's transaction (so a
    release of the same payment cannot interleave). Idempotent by ``refund:<refund id>``.
    """
    payment_transaction = LedgerTransaction.objects.select_for_update().get(idempotency_key=payment_key(payment_id))
    organization_id = payment_transaction.organization_id
    entries = list(payment_transaction.entries.select_related("account"))
    currency = entries[0].currency
    gross = sum(e.amount for e in entries if e.account.kind == LedgerAccount.Kind.PROCESSOR_CLEARING and e.amount > 0)
    fee = -sum(e.amount for e in entries if e.account.kind == LedgerAccount.Kind.PLATFORM_FEES)
    fee_returned = rules.refund_fee_returned(fee=fee, gross=gross, refunded_before=refunded_before, amount=amount)
    if LedgerTransaction.objects.filter(idempotency_key=refund_key(refund_id)).exists():
        return LedgerTransaction.objects.get(idempotency_key=refund_key(refund_id))
    row, _ = ledger_post(
        idempotency_key=refund_key(refund_id),
        kind=LedgerTransaction.Kind.REFUND,
        organization_id=organization_id,
        source_id=refund_id,
        parent_id=payment_transaction.id,
        lines=rules.refund_lines(
            organization_id=organization_id,
            processor=processor,
            amount=amount,
            fee_returned=fee_returned,
            currency=currency,
            **payment_funds(payment_transaction, amount - fee_returned, currency),
        ),
    )
    return row


# --- disputes -------------------------------------------------------------------------------------
# A dispute of ``D`` with a dispute fee ``X``: when it opens the merchant's funds (pending inside the
# holding period, available after) move ``D`` to its reserve and pay ``X``, which the processor takes
# from clearing. Won: the reserve goes back to available (the fee is not returned). Lost or accepted:
# the reserve goes back to the customer (out of clearing).

DISPUTE_FEE = 1500


def dispute_key(dispute_id, event: str) -> str:
    return f"dispute:{dispute_id}:{event}"


def dispute_opened_post(
    *, dispute_id: uuid.UUID, payment_id: uuid.UUID, amount: int, fee: int, processor: str
) -> LedgerTransaction:
    payment_transaction = LedgerTransaction.objects.select_for_update().get(idempotency_key=payment_key(payment_id))
    organization_id = payment_transaction.organization_id
    currency = payment_transaction.entries.values_list("currency", flat=True).first()
    if LedgerTransaction.objects.filter(idempotency_key=dispute_key(dispute_id, "opened")).exists():
        return LedgerTransaction.objects.get(idempotency_key=dispute_key(dispute_id, "opened"))
    row, _ = ledger_post(
        idempotency_key=dispute_key(dispute_id, "opened"),
        kind=LedgerTransaction.Kind.DISPUTE_OPENED,
        organization_id=organization_id,
        source_id=dispute_id,
        parent_id=payment_transaction.id,
        lines=rules.dispute_opened_lines(
            organization_id=organization_id,
            processor=processor,
            amount=amount,
            fee=fee,
            currency=currency,
            **payment_funds(payment_transaction, amount + fee, currency),
        ),
    )
    return row


def dispute_closed_post(*, dispute_id: uuid.UUID, won: bool, processor: str) -> LedgerTransaction:
    opened = LedgerTransaction.objects.get(idempotency_key=dispute_key(dispute_id, "opened"))
    organization_id = opened.organization_id
    reserve = merchant_account_key(organization_id, LedgerAccount.Kind.MERCHANT_RESERVE)
    entry = opened.entries.get(account__key=reserve)
    amount, currency = -entry.amount, entry.currency
    if LedgerTransaction.objects.filter(idempotency_key=dispute_key(dispute_id, "closed")).exists():
        return LedgerTransaction.objects.get(idempotency_key=dispute_key(dispute_id, "closed"))
    funds = merchant_funds(organization_id, currency) if won else {"available": 0, "debt": 0}
    row, _ = ledger_post(
        idempotency_key=dispute_key(dispute_id, "closed"),
        kind=LedgerTransaction.Kind.DISPUTE_WON if won else LedgerTransaction.Kind.DISPUTE_LOST,
        organization_id=organization_id,
        source_id=dispute_id,
        parent_id=opened.parent_id,
        lines=rules.dispute_closed_lines(
            organization_id=organization_id, processor=processor, amount=amount, currency=currency, won=won, **funds
        ),
    )
    return row


# --- payouts --------------------------------------------------------------------------------------
# A payout of ``A``: requested, the merchant's available funds move to payouts in transit (still owed to
# it, on their way); paid, they leave processor clearing (the platform's money at the processor) for
# the merchant's bank; failed, they come back to the merchant (repaying any debt first). No payout fee.


def payout_key(payout_id, event: str) -> str:
    return f"payout:{payout_id}:{event}"


def payout_requested_post(*, payout_id, organization_id, amount: int, currency: str) -> LedgerTransaction:
    """Post a payout request. The caller holds the funds lock (``merchant_funds_lock``) and checked the
    available balance covers ``amount``. Idempotent by ``payout:<id>:requested``."""
    row, _ = ledger_post(
        idempotency_key=payout_key(payout_id, "requested"),
        kind=LedgerTransaction.Kind.PAYOUT_REQUESTED,
        organization_id=organization_id,
        source_id=payout_id,
        lines=rules.payout_requested_lines(organization_id=organization_id, amount=amount, currency=currency),
    )
    return row


def payout_settled_post(
    *, payout_id, organization_id, amount: int, currency: str, paid: bool, processor: str
) -> LedgerTransaction:
    """Post a payout's outcome: ``payout:<id>:paid`` (out of clearing) or ``payout:<id>:failed`` (back to
    the merchant's funds, locked). A payout has one or the other, never both (the caller holds the payout
    row locked and moves it to a final status in the same transaction)."""
    key = payout_key(payout_id, "paid" if paid else "failed")
    if LedgerTransaction.objects.filter(idempotency_key=key).exists():
        return LedgerTransaction.objects.get(idempotency_key=key)
    funds = {"available": 0, "debt": 0} if paid else merchant_funds(organization_id, currency)
    row, _ = ledger_post(
        idempotency_key=key,
        kind=LedgerTransaction.Kind.PAYOUT_PAID if paid else LedgerTransaction.Kind.PAYOUT_FAILED,
        organization_id=organization_id,
        source_id=payout_id,
        lines=rules.payout_settled_lines(
            organization_id=organization_id, processor=processor, amount=amount, currency=currency, paid=paid, **funds
        ),
    )
    return row
