"""Dunning: recover a renewal whose charge failed, on the organization's schedule (docs/billing.md, "Dunning").

Entry points:

- ``dunning_on_renewal_failed`` (installed in ``billing.renewals.cycle.RENEWAL_PAYMENT_FAILED_HOOKS`` by
  ``billing.apps``): a cycle order's charge was declined → open its ``DunningCase`` (once per order).
- ``dunning_run_due(now=)``: the hourly step (beat and ``run_billing --now``): settle attempts left
  pending, make the scheduled attempts that are due, suspend benefits after the grace period.
- ``dunning_retry_for_customer(customer=)``: the customer added a card (the portal) → retry every
  past-due order of that customer now (an extra attempt).
- ``dunning_retry_order(order=, kind=)``: one extra attempt of one order (the merchant's
  ``POST /v1/orders/{id}/retry-payment``, the portal's retry).

Exactly once: an attempt is *claimed* first — in one transaction that locks the case and the order, an
attempt row is inserted with the next payment attempt number (and, for a scheduled retry, its slot),
and the schedule is advanced — and only then is the processor called, with no lock held, with the key
``order:<id>:attempt:<n>``. The unique constraints (order, attempt_number) and (order, slot) make a
second claim of the same charge or slot impossible whatever the queue repeats (``IntegrityError`` =
already done). A claimed attempt whose answer was lost is settled by the next run with the same key.
The outcome (``_attempt_settle``) is applied once under the attempt's row lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import structlog
from django.db import IntegrityError, transaction
from django.db.models import Max, Q

from billing.dunning import emails
from billing.dunning.selectors import HARD_DECLINE_CODES, order_is_usage_only
from billing.models import (
    DunningAttempt,
    DunningAttemptKind,
    DunningAttemptStatus,
    DunningCase,
    DunningCaseStatus,
    DunningEndAction,
    DunningSettings,
    Order,
    OrderStatus,
    Payment,
    Subscription,
    SubscriptionStatus,
)
from billing.orders import services as order_services
from billing.payments.selectors import payment_method_default
from billing.payments.services import PaymentError, payment_charge
from billing.subscriptions.services import (
    subscription_benefits_grant,
    subscription_benefits_revoke,
    subscription_emit,
    subscription_recover_if_settled,
)
from polar import clock
from polar.errors import PolarError
from polar.webhooks.events import WebhookEventType

logger = structlog.get_logger(__name__)

_TRIGGERS = {
    DunningAttemptKind.SCHEDULED: Payment.Trigger.RETRY_DUNNING,
    DunningAttemptKind.CUSTOMER: Payment.Trigger.RETRY_PAYMENT_METHOD_UPDATE,
    DunningAttemptKind.MERCHANT: Payment.Trigger.RETRY_ADMIN,
}


class OrderNotEligibleForRetry(PolarError):
    """Polar's error for an order that cannot be retried (paid, void, not in dunning)."""

    status_code = 422
    error = "OrderNotEligibleForRetry"


# --- opening a case ---------------------------------------------------------------------------------


def _slot_time(case: DunningCase, slot: int) -> dt.datetime:
    """When scheduled retry ``slot`` (1-based) is due: each interval counts from the previous slot, so
    an hourly step that runs a little late does not push the rest of the schedule."""
    return case.started_at + dt.timedelta(days=sum(case.intervals_days[:slot]))


def dunning_on_renewal_failed(*, subscription: Subscription, order: Order, payment: Payment | None) -> DunningCase | None:
    """Hook: a cycle order's charge failed (or there was no card). Opens the order's case.

    Locks the order. Idempotent: the case is unique per order (a second call returns it), the initial
    attempt is unique per (order, attempt number). Writes ``next_payment_attempt_at`` on the order.
    Sends the failure e-mail after the commit (at most once per attempt)."""
    now = clock.now()
    settings = DunningSettings.for_organization(order.organization)
    intervals = [int(days) for days in settings.retry_intervals_days] or [0]
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status != OrderStatus.PENDING:
            return None
        case = DunningCase.objects.filter(order=locked).first()
        created = case is None
        if created:
            usage_only = order_is_usage_only(locked)
            case = DunningCase(
                organization_id=locked.organization_id,
                order=locked,
                subscription_id=locked.subscription_id,
                customer_id=locked.customer_id,
                usage_only=usage_only,
                started_at=now,
                intervals_days=intervals,
                deadline_at=now + dt.timedelta(days=sum(intervals)),
                grace_ends_at=now + dt.timedelta(days=settings.grace_period_days),
                end_action=settings.end_action,
            )
            case.next_attempt_at = _slot_time(case, 1)
            case.save()
        attempt = None
        # Recorded once: a payment is unique on its attempt; "no card" only when the case opens (renewals
        # call the hook again for this order at later cycles while it has no failed payment).
        if (payment is None and created) or (payment is not None and not DunningAttempt.objects.filter(payment=payment).exists()):
            number = int(payment.idempotency_key.rsplit(":", 1)[1]) if payment is not None else None
            attempt = DunningAttempt(
                case=case,
                order=locked,
                kind=DunningAttemptKind.INITIAL,
                attempt_number=number,
                payment=payment,
                payment_method_id=payment.payment_method_id if payment is not None else None,
                status=DunningAttemptStatus.FAILED,
                claimed_at=now,
                decline_code=payment.decline_reason if payment is not None else "no_payment_method",
                decline_message=payment.decline_message if payment is not None else "No card on file.",
            )
            try:
                with transaction.atomic():
                    attempt.save()
            except IntegrityError:
                attempt = None  # recorded by an earlier call
        if attempt is not None and attempt.decline_code in HARD_DECLINE_CODES:
            _skip_to_final(case)
        _sync_order_schedule(locked, case)
    if attempt is not None:
        emails.dunning_notify(emails.FAILED, attempt.id)
    return case


def _sync_order_schedule(order: Order, case: DunningCase) -> None:
    """``Order.next_payment_attempt_at`` shows the case's next attempt (null once it is over)."""
    wanted = case.next_attempt_at if case.is_open else None
    if order.next_payment_attempt_at != wanted:
        order.next_payment_attempt_at = wanted
        order.modified_at = clock.now()
        order.save(update_fields=["next_payment_attempt_at", "modified_at"])


def _skip_to_final(case: DunningCase) -> None:
    """A hard decline (lost, stolen card…): no point retrying the schedule; one final attempt at the deadline."""
    case.hard_declined = True
    case.next_slot = max(case.next_slot, case.final_slot)
    case.next_attempt_at = case.deadline_at
    case.save(update_fields=["hard_declined", "next_slot", "next_attempt_at"])


# --- claiming and making an attempt ------------------------------------------------------------------------------


def _payment_method_for(order: Order, *, kind: str):
    """The subscription's card, else the customer's default; the customer's new default first when the
    customer asked (they have just replaced their card)."""
    if kind == DunningAttemptKind.CUSTOMER:
        method = payment_method_default(customer=order.customer)
        if method is not None:
            return method
    subscription = order.subscription
    if subscription is not None and subscription.payment_method_id is not None:
        method = subscription.payment_method
        if method.deleted_at is None:
            return method
    return payment_method_default(customer=order.customer)


def _unpaid(case: DunningCase) -> bool:
    """Retries ended and the subscription was kept ``unpaid``: the customer or merchant may still pay it."""
    return case.status == DunningCaseStatus.EXHAUSTED and case.end_action == DunningEndAction.UNPAID


def _claim(case_id, *, kind: str, now: dt.datetime, slot: int | None) -> DunningAttempt | None:
    """Insert the attempt row and advance the schedule, in one transaction (locks case, then order).
    Returns None when there is nothing to claim (already claimed, case over, order not pending)."""
    with transaction.atomic():
        case = DunningCase.objects.select_for_update().filter(pk=case_id).first()
        if case is None or not (case.is_open or (slot is None and _unpaid(case))):
            return None
        if slot is not None and (case.next_slot != slot or case.next_attempt_at is None or case.next_attempt_at > now):
            return None
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("customer", "subscription__payment_method", "organization")
            .get(pk=case.order_id)
        )
        if order.status != OrderStatus.PENDING:
            return None
        # One charge of an order in flight at a time (a scheduled slot and the customer's new card at the
        # same moment could otherwise both succeed): the case lock serialises this check.
        if DunningAttempt.objects.filter(order=order, status=DunningAttemptStatus.PENDING).exists():
            return None
        method = _payment_method_for(order, kind=kind)
        number = None
        if method is not None:
            used = Payment.objects.filter(order=order).count()
            claimed = DunningAttempt.objects.filter(order=order).aggregate(m=Max("attempt_number"))["m"] or 0
            number = max(order.payment_attempts, used, claimed) + 1
        attempt = DunningAttempt(
            case=case,
            order=order,
            kind=kind,
            attempt_number=number,
            slot=slot,
            scheduled_for=case.next_attempt_at if slot is not None else None,
            payment_method=method,
            claimed_at=now,
        )
        if method is None:
            attempt.status = DunningAttemptStatus.FAILED
            attempt.decline_code = "no_payment_method"
            attempt.decline_message = "No card on file."
        try:
            with transaction.atomic():
                attempt.save()
        except IntegrityError:
            return None  # this charge or slot was claimed already
        if number is not None and order.payment_attempts < number:
            order.payment_attempts = number
            order.save(update_fields=["payment_attempts"])
        if slot is not None:
            case.next_slot = slot + 1
            case.next_attempt_at = _slot_time(case, slot + 1) if slot < case.final_slot else None
            case.save(update_fields=["next_slot", "next_attempt_at"])
            _sync_order_schedule(order, case)
    return attempt


def _charge(attempt: DunningAttempt) -> DunningAttempt:
    """Make (or find again, same key) the claimed attempt's charge, then settle it. No lock is held."""
    if attempt.attempt_number is None:  # no usable card: failed at the claim, nothing reached the processor
        _after_failure(attempt)
        return attempt
    if attempt.status == DunningAttemptStatus.PENDING:
        order = Order.objects.select_related("customer").get(pk=attempt.order_id)
        try:
            payment = payment_charge(
                customer=order.customer,
                payment_method=attempt.payment_method,
                amount=order.due_amount,
                currency=order.currency,
                idempotency_key=order.payment_idempotency_key(attempt.attempt_number),
                order_id=order.id,
                trigger=_TRIGGERS.get(attempt.kind, Payment.Trigger.RETRY_DUNNING),
                description=order.description or order.invoice_number,
            )
        except PaymentError as exc:  # timeout: the payment stays pending and is reconciled, then settled here
            logger.warning("dunning.charge_unsettled", attempt_id=str(attempt.id), error=str(exc))
            payment = exc.payment
        except PolarError as exc:  # refused before any charge (card removed since, key taken by another path)
            logger.warning("dunning.charge_refused", attempt_id=str(attempt.id), error=exc.error)
            return _attempt_refused(attempt_id=attempt.id, error=exc)
        if payment is not None and attempt.payment_id is None:
            with transaction.atomic():
                row = DunningAttempt.objects.select_for_update().get(pk=attempt.pk)
                if row.payment_id is None:
                    row.payment = payment
                    row.save(update_fields=["payment"])
    return _attempt_settle(attempt_id=attempt.id)


def _attempt_refused(*, attempt_id, error: PolarError) -> DunningAttempt:
    """The charge was refused before reaching the processor: the attempt failed (its slot is used)."""
    with transaction.atomic():
        attempt = DunningAttempt.objects.select_for_update().get(pk=attempt_id)
        if attempt.status != DunningAttemptStatus.PENDING or attempt.payment_id is not None:
            return attempt
        attempt.status = DunningAttemptStatus.FAILED
        attempt.decline_code = error.error[:64]
        attempt.decline_message = str(error.detail)[:512]
        attempt.modified_at = clock.now()
        attempt.save(update_fields=["status", "decline_code", "decline_message", "modified_at"])
    _after_failure(attempt)
    return attempt


def _attempt_settle(*, attempt_id) -> DunningAttempt:
    """Apply an attempt's outcome once (locks the attempt): success pays the order and recovers the
    subscription; a failure schedules what is next (or ends the case after the final attempt)."""
    with transaction.atomic():
        attempt = DunningAttempt.objects.select_for_update(of=("self",)).select_related("payment").get(pk=attempt_id)
        if attempt.status == DunningAttemptStatus.PENDING:
            payment = attempt.payment
            if payment is None or payment.status == Payment.Status.PENDING:
                return attempt  # no answer yet: the next run settles it
            attempt.status = (
                DunningAttemptStatus.SUCCEEDED if payment.status == Payment.Status.SUCCEEDED else DunningAttemptStatus.FAILED
            )
            attempt.decline_code = payment.decline_reason
            attempt.decline_message = payment.decline_message
            attempt.modified_at = clock.now()
            attempt.save(update_fields=["status", "decline_code", "decline_message", "modified_at"])
            settled_now = True
        else:
            settled_now = False
    if attempt.status == DunningAttemptStatus.SUCCEEDED:
        _recover(attempt)  # idempotent: a second settle finds the order paid and the case recovered
    elif attempt.status == DunningAttemptStatus.FAILED and settled_now:
        _after_failure(attempt)
    return attempt


def _recover(attempt: DunningAttempt) -> None:
    """The order is paid: close the case, bring the subscription back (benefits re-granted), e-mail."""
    order = order_services.order_mark_paid(order=attempt.order, payment=attempt.payment)
    now = clock.now()
    with transaction.atomic():
        case = DunningCase.objects.select_for_update().get(pk=attempt.case_id)
        if case.status not in (DunningCaseStatus.OPEN, DunningCaseStatus.EXHAUSTED):
            return
        case.status = DunningCaseStatus.RECOVERED
        case.next_attempt_at = None
        case.ended_at = now
        case.save(update_fields=["status", "next_attempt_at", "ended_at"])
        _sync_order_schedule(Order.objects.select_for_update().get(pk=order.pk), case)
        if case.subscription_id is not None and not case.usage_only:
            _subscription_recover(
                case.subscription_id, card=attempt.payment_method if attempt.kind == DunningAttemptKind.CUSTOMER else None
            )
    emails.dunning_notify(emails.RECOVERED, case.id)


def _subscription_recover(subscription_id, *, card) -> None:
    """Locks the subscription: ``unpaid``/``past_due`` → ``active`` once nothing is unpaid; benefits back.
    ``card``: the customer's new card that paid, which renewals charge from now on."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
    if card is not None and subscription.payment_method_id not in (None, card.id):
        subscription.payment_method = card
        subscription.save(update_fields=["payment_method"])
    if subscription.status == SubscriptionStatus.UNPAID:
        # Recoverable by paying: back to past_due, then active below once nothing else is unpaid.
        subscription.status = SubscriptionStatus.PAST_DUE
        subscription.modified_at = clock.now()
        subscription.save(update_fields=["status", "modified_at"])
    if subscription.status == SubscriptionStatus.PAST_DUE:
        subscription_recover_if_settled(subscription=subscription)
        subscription.refresh_from_db()
    # Also when another path recovered it first (a late answer settled by ``renewal_orders_settle``).
    if subscription.status == SubscriptionStatus.ACTIVE:
        subscription_benefits_grant(subscription)  # only the grants missing: the suspended ones
        for case in DunningCase.objects.select_for_update().filter(
            subscription_id=subscription_id, benefits_suspended_at__isnull=False
        ):
            case.benefits_suspended_at = None
            case.save(update_fields=["benefits_suspended_at"])


def _after_failure(attempt: DunningAttempt) -> None:
    """A failed attempt: a hard decline skips to the final slot; a failed final attempt ends the case."""
    end = False
    with transaction.atomic():
        case = DunningCase.objects.select_for_update().get(pk=attempt.case_id)
        if case.is_open:
            if (
                attempt.decline_code in HARD_DECLINE_CODES
                and case.next_slot <= case.final_slot
                and attempt.slot != case.final_slot
            ):
                _skip_to_final(case)
            end = attempt.slot is not None and attempt.slot >= case.final_slot
            order = Order.objects.select_for_update().get(pk=case.order_id)
            _sync_order_schedule(order, case)
    if end:
        _exhaust(case_id=case.id)
    emails.dunning_notify(emails.FAILED, attempt.id)


def _exhaust(*, case_id) -> None:
    """The final attempt failed. The subscription ends as the organization chose (revoked: canceled with
    benefits revoked; unpaid: kept, benefits off, recoverable by paying); a usage-only order is voided."""
    from billing.subscriptions.lifecycle import subscription_revoke

    now = clock.now()
    with transaction.atomic():
        case = DunningCase.objects.select_for_update().get(pk=case_id)
        if not case.is_open:
            return
        case.status = DunningCaseStatus.EXHAUSTED
        case.next_attempt_at = None
        case.ended_at = now
        case.save(update_fields=["status", "next_attempt_at", "ended_at"])
        order = Order.objects.select_for_update().get(pk=case.order_id)
        _sync_order_schedule(order, case)
    subscription = Subscription.objects.filter(pk=case.subscription_id).first()
    if case.usage_only or subscription is None or subscription.status == SubscriptionStatus.CANCELED:
        order_services.order_void(order=order)  # nothing else to end: the bill is given up
        return
    if subscription.status not in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.ACTIVE):
        return
    if case.end_action == DunningEndAction.REVOKE:
        # The orders left unpaid are never charged again: voided, so nothing keeps them (or their cases,
        # closed by the next step) open.
        subscription_revoke(subscription=subscription)
        for unpaid in Order.objects.filter(subscription=subscription, status=OrderStatus.PENDING).order_by("pk"):
            order_services.order_void(order=unpaid)
        return
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.ACTIVE):
            locked.status = SubscriptionStatus.UNPAID
            locked.modified_at = now
            locked.save(update_fields=["status", "modified_at"])
            subscription_benefits_revoke(locked)
            subscription_emit(locked, WebhookEventType.SUBSCRIPTION_UPDATED)


def _case_close_if_settled(*, case_id) -> bool:
    """The order stopped being payable outside dunning (paid by another path, voided, refunded): end its
    open case (recovered when paid: the subscription comes back as for a dunning success). True if it did."""
    with transaction.atomic():
        case = DunningCase.objects.select_for_update().get(pk=case_id)
        order = Order.objects.get(pk=case.order_id)
        if not (case.is_open or _unpaid(case)) or order.status == OrderStatus.PENDING:
            return False
        case.status = DunningCaseStatus.RECOVERED if order.paid else DunningCaseStatus.CLOSED
        case.next_attempt_at = None
        case.ended_at = clock.now()
        case.save(update_fields=["status", "next_attempt_at", "ended_at"])
        _sync_order_schedule(Order.objects.select_for_update().get(pk=order.pk), case)
        if order.paid and case.subscription_id is not None and not case.usage_only:
            _subscription_recover(case.subscription_id, card=None)
    if case.status == DunningCaseStatus.RECOVERED:
        emails.dunning_notify(emails.RECOVERED, case.id)
    return True


# --- the hourly step ----------------------------------------------------------------------------------------


def _benefits_suspend_due(*, now: dt.datetime, limit: int) -> int:
    """Past the grace period: suspend (revoke) the subscription's grants until recovery. Once per case."""
    count = 0
    ids = list(
        DunningCase.objects.filter(
            status=DunningCaseStatus.OPEN, benefits_suspended_at__isnull=True, grace_ends_at__lte=now, usage_only=False
        )
        .exclude(subscription__isnull=True)
        .order_by("grace_ends_at")
        .values_list("id", flat=True)[:limit]
    )
    for case_id in ids:
        with transaction.atomic():
            case = DunningCase.objects.select_for_update(skip_locked=True).filter(pk=case_id).first()
            if case is None or not case.is_open or case.benefits_suspended_at is not None:
                continue
            subscription = Subscription.objects.select_for_update().select_related("customer").get(pk=case.subscription_id)
            if subscription.status == SubscriptionStatus.PAST_DUE:
                subscription_benefits_revoke(subscription)
            case.benefits_suspended_at = now
            case.save(update_fields=["benefits_suspended_at"])
            count += 1
    return count


@contextlib.contextmanager
def _isolated(event: str, object_id):
    """One case's trouble (a bug, a database error) is logged and never stops the others: the next run
    tries it again. Yields a callable telling whether it failed."""
    state = {"failed": False}
    try:
        yield lambda: state["failed"]
    except Exception:
        state["failed"] = True
        logger.exception(event, object_id=str(object_id))


def dunning_run_due(*, now: dt.datetime, limit: int = 500) -> dict:
    """The hourly step: (1) settle attempts whose answer came late; (2) claim and make every scheduled
    retry due at ``now`` (one per case per run: the slot is claimed before the charge); (3) suspend
    benefits past the grace period. Idempotent for a given ``now``: a second run finds the slots
    claimed and the cases advanced."""
    settled = 0
    # Claimed more than 5 minutes ago and still without an answer (a timeout, a crash): same key again.
    stale = DunningAttempt.objects.filter(
        status=DunningAttemptStatus.PENDING, claimed_at__lte=now - dt.timedelta(minutes=5)
    ).order_by("created_at")
    errors = 0
    for attempt in stale[:limit]:
        with _isolated("dunning.settle_failed", attempt.id) as failed:
            settled += _charge(attempt).status != DunningAttemptStatus.PENDING
        errors += failed()
    # Orders paid (or voided) by another path since — the portal's confirm_retry_payment, a merchant's
    # charge: end their cases now (the subscription back with its benefits, the recovery e-mail).
    elsewhere = list(
        DunningCase.objects.filter(
            Q(status=DunningCaseStatus.OPEN) | Q(status=DunningCaseStatus.EXHAUSTED, end_action=DunningEndAction.UNPAID)
        )
        .exclude(order__status=OrderStatus.PENDING)
        .values_list("id", flat=True)[:limit]
    )
    closed = 0
    for case_id in elsewhere:
        with _isolated("dunning.close_failed", case_id) as failed:
            closed += _case_close_if_settled(case_id=case_id)
        errors += failed()
    attempted = recovered = 0
    due = list(
        DunningCase.objects.filter(status=DunningCaseStatus.OPEN, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", "next_slot")[:limit]
    )
    for case_id, slot in due:
        with _isolated("dunning.attempt_failed", case_id) as failed:
            attempt = _claim(case_id, kind=DunningAttemptKind.SCHEDULED, now=now, slot=slot)
            if attempt is not None:
                attempted += 1
                recovered += _charge(attempt).status == DunningAttemptStatus.SUCCEEDED
        errors += failed()
    suspended = _benefits_suspend_due(now=now, limit=limit)
    notices = emails.dunning_notices_resend(now=now, limit=limit)
    return {
        "settled": settled,
        "closed": closed,
        "attempted": attempted,
        "recovered": recovered,
        "benefits_suspended": suspended,
        "notices_resent": notices,
        "errors": errors,
    }


# --- extra attempts -----------------------------------------------------------------------------------------


def dunning_retry_order(*, order: Order, kind: str = DunningAttemptKind.MERCHANT) -> DunningAttempt:
    """One extra attempt of a past-due order now, outside the schedule (which keeps its slots).

    Raises ``OrderNotEligibleForRetry`` (422) unless the order is pending with an open dunning case (or
    one that ended ``unpaid``: paying it brings the subscription back). Idempotent per attempt number:
    two concurrent calls claim different numbers or the second finds the first's charge pending; call
    it with no transaction open (it calls the processor)."""
    order.refresh_from_db()
    case = DunningCase.objects.filter(order=order).first()
    if order.status != OrderStatus.PENDING or case is None:
        raise OrderNotEligibleForRetry(f"Order {order.id} is {order.status} and has no payment to retry.")
    if not (case.is_open or _unpaid(case)):
        raise OrderNotEligibleForRetry(f"Order {order.id} is no longer retried.")
    if DunningAttempt.objects.filter(order=order, status=DunningAttemptStatus.PENDING).exists():
        raise OrderNotEligibleForRetry(f"A payment of order {order.id} is already in progress.")
    attempt = _claim(case.id, kind=kind, now=clock.now(), slot=None)
    if attempt is None:
        raise OrderNotEligibleForRetry(f"Order {order.id} is no longer retried.")
    return _charge(attempt)


def dunning_retry_for_customer(*, customer) -> list[Order]:
    """The customer has a new default card (the portal calls this): retry every past-due order of theirs
    now, oldest first. Returns the orders tried (check ``order.status``: ``paid`` when it worked).
    Never raises for an order that cannot be retried (skipped); idempotent as ``dunning_retry_order``."""
    orders = list(
        Order.objects.filter(
            customer=customer,
            status=OrderStatus.PENDING,
            dunning_case__status__in=[DunningCaseStatus.OPEN, DunningCaseStatus.EXHAUSTED],
        )
        .exclude(dunning_case__status=DunningCaseStatus.EXHAUSTED, dunning_case__end_action=DunningEndAction.REVOKE)
        .order_by("created_at")
    )
    tried = []
    for order in orders:
        try:
            dunning_retry_order(order=order, kind=DunningAttemptKind.CUSTOMER)
        except OrderNotEligibleForRetry:
            continue
        order.refresh_from_db()
        tried.append(order)
    return tried
