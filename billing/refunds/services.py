"""Refunds: give back part or all of a paid order through the processor, and post it to the ledger.

``refund_create`` runs in three steps, as a charge does (billing/payments/services.py):

1. Under the order's row lock (``select_for_update``), check the amount against what is left to refund
   (the order's refundable amount less the refunds still ``pending``) and insert the ``pending``
   refund; commit. The pending row reserves its amount, so concurrent requests on one order serialise
   on the lock and never refund more than the order's total (``RefundedAlready`` when nothing is left).
2. Call the processor with no transaction open, with the key ``refund:<refund id>`` (the processor
   makes at most one refund per key).
3. Under the order's lock again: mark the refund ``succeeded``, add it to the order's
   ``refunded_amount``/``refunded_tax_amount``, set the order ``partially_refunded`` or ``refunded``,
   post the ledger transaction ``refund:<id>``, emit ``refund.created``, ``refund.updated``,
   ``order.refunded`` and ``order.updated``, and revoke the order's benefits when asked.

A processor timeout leaves the refund ``pending`` (its amount stays reserved); ``refunds_reconcile_pending``
(a beat / ``run_billing`` step) asks again with the same key. A processor error marks it ``failed``
(502) and frees the amount.
"""

from __future__ import annotations

from decimal import Decimal

import structlog
from django.db import transaction
from django.db.models import Sum

from billing.benefits.services import benefit_grants_revoke_for
from billing.models import Order, OrderStatus, Payment, Refund, RefundStatus
from billing.orders.payloads import OrderOutput
from billing.payments.processors import ProcessorError, ProcessorTimeout, RefundResult, get_processor
from billing.refunds.payloads import refund_output
from payouts.postings import payment_fields, payment_post, refund_post
from polar import clock
from polar.errors import PolarError, PolarRequestValidationError, ResourceNotFound
from polar.money import round_minor_units
from polar.webhooks.events import WebhookEventType
from polar.webhooks.services.outbox import webhook_event_emit

logger = structlog.get_logger(__name__)


class RefundedAlready(PolarError):
    status_code = 403
    error = "RefundedAlready"


class RefundProcessorError(PolarError):
    """The processor refused the refund (502): nothing was given back and the refund is ``failed``."""

    status_code = 502
    error = "PaymentError"


def _pending_amount(order: Order) -> int:
    return Refund.objects.filter(order=order, status=RefundStatus.PENDING).aggregate(total=Sum("amount"))["total"] or 0


def _tax_share(order: Order, amount: int, refunded_before: int) -> int:
    """The tax part of ``amount``: the order's tax in proportion, computed on the cumulative refunded
    amount so that a full refund gives back exactly the order's tax."""
    if not order.total_amount or not order.tax_amount:
        return 0
    after = round_minor_units(Decimal(order.tax_amount) * (refunded_before + amount) / order.total_amount)
    before = round_minor_units(Decimal(order.tax_amount) * refunded_before / order.total_amount)
    return after - before


def _emit_refund(refund: Refund, *types: WebhookEventType) -> None:
    data = refund_output(refund)
    for event_type in types:
        webhook_event_emit(organization=refund.organization, type=event_type, data=data)


def refund_create(
    *,
    organization,
    order_id,
    amount: int,
    reason: str,
    comment: str | None = None,
    metadata: dict | None = None,
    revoke_benefits: bool = False,
) -> Refund:
    """Refund ``amount`` (tax included) of the organization's paid order ``order_id``.

    Raises ``ResourceNotFound`` (another organization's or an unknown order), ``RefundedAlready``
    (403: nothing left to refund), a 422 for an amount above what is left or an order that was never
    paid, ``RefundProcessorError`` (502). Returns the refund: ``succeeded``, or ``pending`` after a
    processor timeout (settled later with the same key).
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(organization=organization, pk=order_id).first()
        if order is None:
            raise ResourceNotFound("Order not found")
        if order.status == OrderStatus.REFUNDED:
            raise RefundedAlready("Order is already fully refunded")
        payment = (
            Payment.objects.filter(order=order, status=Payment.Status.SUCCEEDED).order_by("-created_at").first()
            if order.paid
            else None
        )
        if payment is None:
            raise PolarRequestValidationError.single(["body", "order_id"], "Order is not paid: nothing to refund", "value_error")
        pending = _pending_amount(order)
        left = min(order.total_amount, payment.amount) - order.refunded_amount - pending
        if left <= 0:
            raise RefundedAlready("Order is already fully refunded (or its remaining amount is being refunded)")
        if amount > left:
            raise PolarRequestValidationError.single(
                ["body", "amount"], f"Amount exceeds the refundable amount of the order ({left})", "value_error"
            )
        refund = Refund.objects.create(
            organization=organization,
            order=order,
            payment=payment,
            customer_id=order.customer_id,
            subscription_id=order.subscription_id,
            status=RefundStatus.PENDING,
            reason=reason,
            amount=amount,
            tax_amount=_tax_share(order, amount, order.refunded_amount + pending),
            currency=order.currency,
            comment=comment or None,
            revoke_benefits=bool(revoke_benefits),
            metadata=metadata or {},
        )
        _emit_refund(refund, WebhookEventType.REFUND_CREATED)
    return _refund_send(refund)


def _refund_send(refund: Refund) -> Refund:
    processor = get_processor(refund.payment.processor)
    try:
        result = processor.refund(
            charge_ref=refund.payment.processor_charge_ref, amount=refund.amount, idempotency_key=refund.processor_idempotency_key
        )
    except ProcessorTimeout as exc:
        _note_error(refund, f"timeout: {exc}")
        logger.warning("refund.processor_timeout", refund_id=str(refund.id))
        refund.refresh_from_db()
        return refund
    except ProcessorError as exc:
        _refund_fail(refund, str(exc))
        raise RefundProcessorError(f"The payment processor refused the refund: {exc}") from exc
    return refund_record_succeeded(refund=refund, result=result)


def _note_error(refund: Refund, message: str) -> None:
    with transaction.atomic():
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        if locked.status == RefundStatus.PENDING:
            locked.last_error = message[:512]
            locked.modified_at = clock.now()
            locked.save(update_fields=["last_error", "modified_at"])


def _refund_fail(refund: Refund, message: str) -> None:
    with transaction.atomic():
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        if locked.status != RefundStatus.PENDING:
            return
        locked.status = RefundStatus.FAILED
        locked.last_error = message[:512]
        locked.modified_at = clock.now()
        locked.save(update_fields=["status", "last_error", "modified_at"])
        _emit_refund(locked, WebhookEventType.REFUND_UPDATED)


def refund_record_succeeded(*, refund: Refund, result: RefundResult) -> Refund:
    """Record the processor's refund (step 3 of ``refund_create``). Locks the order, then the refund;
    does nothing for a refund that is no longer pending (idempotent). The ledger posting is keyed
    ``refund:<id>``."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=refund.order_id)
        locked = Refund.objects.select_for_update().select_related("organization", "payment").get(pk=refund.pk)
        if locked.status != RefundStatus.PENDING:
            return locked
        now = clock.now()
        refunded_before = (
            Refund.objects.filter(payment_id=locked.payment_id, status=RefundStatus.SUCCEEDED).aggregate(total=Sum("amount"))[
                "total"
            ]
            or 0
        )
        locked.status = RefundStatus.SUCCEEDED
        locked.processor_refund_ref = result.refund_ref
        locked.last_error = None
        locked.modified_at = now
        locked.save(update_fields=["status", "processor_refund_ref", "last_error", "modified_at"])
        order.refunded_amount += locked.amount
        order.refunded_tax_amount += locked.tax_amount
        order.status = OrderStatus.REFUNDED if order.refunded_amount >= order.total_amount else OrderStatus.PARTIALLY_REFUNDED
        order.modified_at = now
        order.save(update_fields=["refunded_amount", "refunded_tax_amount", "status", "modified_at"])
        # A payment made before the ledger existed is posted first (idempotent: usually a no-op).
        payment_post(**payment_fields(locked.payment))
        refund_post(
            refund_id=locked.id,
            payment_id=locked.payment_id,
            amount=locked.amount,
            refunded_before=refunded_before,
            processor=locked.payment.processor,
        )
        _emit_refund(locked, WebhookEventType.REFUND_UPDATED)
        order = Order.objects.select_related("organization", "customer", "product", "subscription", "discount").get(pk=order.pk)
        order_data = OrderOutput(order).data
        for event_type in (WebhookEventType.ORDER_REFUNDED, WebhookEventType.ORDER_UPDATED):
            webhook_event_emit(organization=order.organization, type=event_type, data=order_data)
        if locked.revoke_benefits:
            benefit_grants_revoke_for(customer=order.customer, order_id=order.id)
    logger.info("refund.succeeded", refund_id=str(locked.id), order_id=str(order.id), amount=locked.amount)
    return locked


def refunds_reconcile_pending(*, created_before, limit: int = 200) -> dict[str, int]:
    """Settle refunds left ``pending`` by a processor timeout: ask again with the same key (the
    processor refunds at most once per key). Returns counts by outcome."""
    counts = {"succeeded": 0, "failed": 0, "pending": 0}
    for refund in Refund.objects.filter(status=RefundStatus.PENDING, created_at__lt=created_before).select_related("payment")[
        :limit
    ]:
        try:
            refund = _refund_send(refund)
        except RefundProcessorError:
            counts["failed"] += 1
            continue
        counts[refund.status] = counts.get(refund.status, 0) + 1
    return counts
