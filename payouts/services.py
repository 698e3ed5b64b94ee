"""Payouts: a merchant's available balance paid out to its verified bank account (docs/ledger.md, Payouts).

Every status change posts once to the ledger, in the transaction that records it:
``payout:<id>:requested`` (available → payouts in transit), then ``payout:<id>:paid`` (out of processor
clearing) or ``payout:<id>:failed`` (back to the merchant's funds, repaying any debt first).

Statuses: ``pending`` (requested, posted) → ``in_transit`` (sent to the payout processor) → ``succeeded``
or ``failed``. ``payouts_process`` (the ``payouts`` step of ``run_billing`` and the beat task) sends
pending payouts and settles those due; ``payouts_weekly`` makes the automatic weekly payouts.

Locks, always in this order: the payout account row, then the merchant's funds (``merchant_funds_lock``,
the available account row). Two payout requests of one organization therefore run one after the other,
and the second sees the balance the first left (``InsufficientBalance``).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction

from payouts.models import Payout, PayoutAccount, PayoutStatus
from payouts.postings import (
    merchant_available,
    merchant_funds_lock,
    payout_requested_post,
    payout_settled_post,
)
from payouts.processor import get_payout_processor
from polar import clock
from polar.celery import app as celery_app
from polar.errors import PolarError, ResourceNotFound

# Polar's minimum payout: 10.00 in the payout's currency (``settings.PAYOUT_MINIMUM_AMOUNT`` overrides it).
MINIMUM_AMOUNT = 1000
PAYOUT_SEND_TASK = "payouts.tasks.payout_send"


class InsufficientBalance(PolarError):
    status_code = 400
    error = "InsufficientBalance"


class PayoutsFrozen(PolarError):
    status_code = 403
    error = "PayoutsFrozen"

    def default_detail(self):
        return "Payouts are on hold for this organization while our team reviews it."


class PayoutNotPending(PolarError):
    status_code = 409
    error = "PayoutNotPending"


class PayoutAccountNotReady(PolarError):
    status_code = 403
    error = "PayoutAccountNotReady"


def minimum_amount(currency: str) -> int:
    return getattr(settings, "PAYOUT_MINIMUM_AMOUNT", MINIMUM_AMOUNT)


# --- the payout account ---------------------------------------------------------------------------


def payout_account_upsert(
    *,
    organization,
    account_holder_name: str,
    account_number: str,
    routing_number: str = "",
    bank_name: str = "",
    country: str = "US",
    currency: str = "usd",
    verified: bool = False,
) -> PayoutAccount:
    """Create or replace the organization's bank details (locks its payout account row). New bank details
    are unverified until ``verified`` says otherwise (the sandbox has no verification flow: the back
    office or the demo says so); the freeze and the auto-payout setting are kept. Audited (auditlog)."""
    with transaction.atomic():
        account = PayoutAccount.objects.select_for_update().filter(organization=organization).first()
        account = account or PayoutAccount(organization=organization)
        changed = (account.account_number, account.routing_number) != (account_number, routing_number)
        account.account_holder_name = account_holder_name
        account.account_number = account_number
        account.routing_number = routing_number
        account.bank_name = bank_name
        account.country = country
        account.currency = currency.lower()
        if verified:
            account.verified_at = account.verified_at if not changed and account.verified_at else clock.now()
        elif changed:
            account.verified_at = None
        if not account._state.adding:
            account.modified_at = clock.now()
        account.save()
    return account


def payout_account_settings_update(*, organization, auto_payouts: bool) -> PayoutAccount:
    """Turn the automatic weekly payouts on or off (locks the payout account row; audited)."""
    with transaction.atomic():
        account = PayoutAccount.objects.select_for_update().filter(organization=organization).first()
        if account is None:
            raise PayoutAccountNotReady("This organization has no payout account.")
        account.auto_payouts = auto_payouts
        account.modified_at = clock.now()
        account.save(update_fields=["auto_payouts", "modified_at"])
    return account


def payout_freeze(*, organization, reason: str) -> PayoutAccount:
    """Stop every payout of the organization (the risk team, from the back office): new requests are
    refused (``PayoutsFrozen``) and pending ones are not sent; payouts already in transit finish.
    Creates the payout account row if there is none (without bank details). Locks it; audited with the
    caller's actor (auditlog), the reason is kept on the row."""
    if not reason or not reason.strip():
        raise ValueError("a payout freeze needs a reason")
    with transaction.atomic():
        account = PayoutAccount.objects.select_for_update().filter(organization=organization).first()
        account = account or PayoutAccount(organization=organization)
        account.payouts_frozen = True
        account.frozen_reason = reason.strip()[:255]
        account.frozen_at = clock.now()
        account.modified_at = clock.now()
        account.save()
    return account


def payout_unfreeze(*, organization, reason: str) -> PayoutAccount:
    """Lift a freeze (locks the payout account row; audited; the reason replaces the freeze's)."""
    if not reason or not reason.strip():
        raise ValueError("lifting a payout freeze needs a reason")
    with transaction.atomic():
        account = PayoutAccount.objects.select_for_update().filter(organization=organization).first()
        if account is None:
            raise ResourceNotFound()
        account.payouts_frozen = False
        account.frozen_reason = reason.strip()[:255]
        account.frozen_at = None
        account.modified_at = clock.now()
        account.save(update_fields=["payouts_frozen", "frozen_reason", "frozen_at", "modified_at"])
    return account


def payout_hold(*, organization, payout_id, held: bool, reason: str) -> Payout:
    """Hold (or release) one pending payout (the risk team): a held payout stays ``pending`` and is not sent
    until released; the others of the organization go on. Locks the payout; refuses one already sent
    (``PayoutNotPending``, 409). The reason is kept on the row; audited with the caller's actor. Idempotent."""
    if not reason or not reason.strip():
        raise ValueError("holding or releasing a payout needs a reason")
    with transaction.atomic():
        payout = Payout.objects.select_for_update().filter(organization=organization, pk=payout_id).first()
        if payout is None:
            raise ResourceNotFound()
        if payout.status != PayoutStatus.PENDING:
            raise PayoutNotPending(f"This payout is {payout.status}: only a pending payout can be held or released.")
        payout.held = held
        payout.held_reason = reason.strip()[:255]
        payout.modified_at = clock.now()
        payout.save(update_fields=["held", "held_reason", "modified_at"])
    if not held:
        transaction.on_commit(lambda: celery_app.signature(PAYOUT_SEND_TASK, args=(str(payout.id),)).delay(), robust=True)
    return payout


# --- payouts --------------------------------------------------------------------------------------


def _ready_account(organization, *, lock: bool) -> PayoutAccount:
    queryset = PayoutAccount.objects.filter(organization=organization)
    account = (queryset.select_for_update() if lock else queryset).first()
    if account is not None and account.payouts_frozen:
        raise PayoutsFrozen()
    if account is None or not account.account_number:
        raise PayoutAccountNotReady("Set up a payout account before requesting a payout.")
    if not account.is_verified:
        raise PayoutAccountNotReady("The payout account is not verified yet.")
    return account


def payout_estimate(*, organization, currency: str | None = None) -> dict:
    """What a payout now would pay (reads only). Raises what ``payout_create`` would."""
    account = _ready_account(organization, lock=False)
    currency = (currency or account.currency).lower()
    amount = merchant_available(organization_id=organization.pk, currency=currency)
    minimum = minimum_amount(currency)
    if amount < minimum:
        raise InsufficientBalance(_insufficient(minimum, currency))
    return {"account": account, "amount": amount, "currency": currency}


def _insufficient(minimum: int, currency: str) -> str:
    return (
        "You have an insufficient balance to make a payout. "
        f"The minimum withdrawal amount is {minimum / 100:.2f} {currency.upper()}."
    )


def payout_create(*, organization, currency: str | None = None, trigger_key: str | None = None) -> Payout:
    """Pay out the organization's whole available balance in ``currency`` (default: its payout account's).

    Locks the payout account, then the merchant's funds; refuses a frozen organization (``PayoutsFrozen``),
    a missing or unverified account (``PayoutAccountNotReady``) and a balance under the minimum
    (``InsufficientBalance``). Writes the payout (``pending``) and posts ``payout:<id>:requested`` in one
    transaction, then sends it after commit (task ``payouts.tasks.payout_send``). Idempotent: through the
    API by the Idempotency-Key; an automatic payout by its unique ``trigger_key`` (a replay returns the
    first payout)."""
    with transaction.atomic():
        account = _ready_account(organization, lock=True)
        if trigger_key:
            existing = Payout.objects.filter(trigger_key=trigger_key).first()
            if existing is not None:
                return existing
        currency = (currency or account.currency).lower()
        merchant_funds_lock(organization.pk)
        amount = merchant_available(organization_id=organization.pk, currency=currency)
        minimum = minimum_amount(currency)
        if amount < minimum:
            raise InsufficientBalance(_insufficient(minimum, currency))
        payout = Payout.objects.create(
            organization=organization,
            payout_account=account,
            amount=amount,
            currency=currency,
            processor=get_payout_processor().name,
            trigger_key=trigger_key,
        )
        payout_requested_post(payout_id=payout.id, organization_id=organization.pk, amount=amount, currency=currency)
        payout_id = str(payout.id)
        transaction.on_commit(lambda: celery_app.signature(PAYOUT_SEND_TASK, args=(payout_id,)).delay(), robust=True)
    return payout


def payout_send(*, payout_id, now: dt.datetime | None = None) -> Payout:
    """Send a pending payout to the payout processor (``in_transit``). Locks the payout; a payout already
    sent is left as it is; a frozen organization's pending payout, or a held one, waits for the freeze or
    the hold to lift. The
    processor call is idempotent by payout id, so a crash between it and the commit is repaired by
    sending again."""
    now = now or clock.now()
    with transaction.atomic():
        payout = Payout.objects.select_for_update().select_related("payout_account").get(pk=payout_id)
        if payout.status != PayoutStatus.PENDING or payout.payout_account.payouts_frozen or payout.held:
            return payout
        ref, arrival = get_payout_processor(payout.processor).send(
            payout_id=payout.id,
            amount=payout.amount,
            currency=payout.currency,
            account_number=payout.payout_account.account_number,
            now=now,
        )
        payout.status, payout.processor_ref, payout.arrival_date, payout.modified_at = PayoutStatus.IN_TRANSIT, ref, arrival, now
        payout.save(update_fields=["status", "processor_ref", "arrival_date", "modified_at"])
    return payout


def payout_settle(*, payout_id, now: dt.datetime | None = None) -> Payout:
    """Ask the processor how an in-transit payout ended and record it: ``succeeded`` (posts
    ``payout:<id>:paid``) or ``failed`` (posts ``payout:<id>:failed``: the money is back in available).
    Locks the payout (then the funds, for a failure); anything but in-transit is left as it is."""
    now = now or clock.now()
    with transaction.atomic():
        payout = Payout.objects.select_for_update().select_related("payout_account").get(pk=payout_id)
        if payout.status != PayoutStatus.IN_TRANSIT:
            return payout
        outcome = get_payout_processor(payout.processor).status(
            account_number=payout.payout_account.account_number, arrival_date=payout.arrival_date, now=now
        )
        if outcome.status == PayoutStatus.IN_TRANSIT:
            return payout
        paid = outcome.status == PayoutStatus.SUCCEEDED
        payout_settled_post(
            payout_id=payout.id,
            organization_id=payout.organization_id,
            amount=payout.amount,
            currency=payout.currency,
            paid=paid,
            processor=payout.processor,
        )
        payout.status = outcome.status
        payout.paid_at = now if paid else None
        payout.failure_code, payout.failure_message = outcome.failure_code, outcome.failure_message
        payout.modified_at = now
        payout.save(update_fields=["status", "paid_at", "failure_code", "failure_message", "modified_at"])
    return payout


def payouts_process(*, now: dt.datetime, limit: int = 500) -> dict:
    """Send the pending payouts and settle the in-transit ones whose arrival date has passed (the
    ``payouts`` step and the beat task). Each payout in its own transaction; safe to run twice."""
    pending = list(Payout.objects.filter(status=PayoutStatus.PENDING).order_by("created_at").values_list("id", flat=True)[:limit])
    sent = sum(payout_send(payout_id=pk, now=now).status != PayoutStatus.PENDING for pk in pending)
    due = list(
        Payout.objects.filter(status=PayoutStatus.IN_TRANSIT, arrival_date__lte=now)
        .order_by("arrival_date")
        .values_list("id", flat=True)[:limit]
    )
    settled = [payout_settle(payout_id=pk, now=now).status for pk in due]
    return {
        "sent": sent,
        "succeeded": settled.count(PayoutStatus.SUCCEEDED),
        "failed": settled.count(PayoutStatus.FAILED),
    }


def weekly_trigger_key(organization_id, now: dt.datetime) -> str:
    year, week, _ = now.isocalendar()
    return f"weekly:{organization_id}:{year}-W{week:02d}"


def payouts_weekly(*, now: dt.datetime) -> int:
    """The automatic weekly payouts: for every organization that turned them on (verified, not frozen),
    pay out its available balance once per ISO week (the unique ``weekly:<org>:<week>`` trigger key makes
    a second run of the same week a no-op). A balance under the minimum waits for next week. Returns
    how many payouts were made."""
    made = 0
    accounts = PayoutAccount.objects.filter(auto_payouts=True, payouts_frozen=False, verified_at__isnull=False)
    for account in accounts.select_related("organization").order_by("created_at"):
        key = weekly_trigger_key(account.organization_id, now)
        if Payout.objects.filter(trigger_key=key).exists():
            continue
        try:
            payout_create(organization=account.organization, trigger_key=key)
        except (InsufficientBalance, PayoutsFrozen, PayoutAccountNotReady):
            continue
        made += 1
    return made
