"""Payment methods and charges: the only code that talks to the payment processor.

Two rules shape everything here:

1. **The processor is called outside any database transaction.** A slow or hanging processor must
   not hold row locks; and the processor is an outside system, so what it did stays done whatever
   happens to our transaction.
2. **A charge is made at most once per idempotency key.** The caller derives the key from our own
   rows (``order:<order_id>:attempt:<n>``). ``payment_charge`` writes the ``Payment`` row as
   ``pending`` *before* calling the processor (the crash marker) and records the answer afterwards.
   Finding a ``pending`` row for the key means an earlier attempt died or timed out between the two:
   the outcome is then looked up with ``retrieve_charge_by_idempotency_key`` and, only if the
   processor never saw the request, sent again *with the same key* (which the processor dedupes).
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import uuid

import structlog
from django.db import IntegrityError, transaction

from billing import metrics as billing_metrics
from billing.models import Payment, PaymentMethod
from billing.payments.processors import (
    ChargeResult,
    IdempotencyKeyReused,
    ProcessorAPIError,
    ProcessorError,
    ProcessorTimeout,
    get_processor,
)
from customers.models import Customer
from payouts.postings import payment_fields, payment_post, payments_post_many
from polar import clock
from polar.api import idempotency
from polar.audit import audit_log_many
from polar.db import bulk_update_rows
from polar.errors import (
    ConflictError,
    PolarError,
    PolarRequestValidationError,
    ResourceNotFound,
)
from polar.money import MAX_AMOUNT, is_valid_currency

logger = structlog.get_logger(__name__)


# --- domain errors ------------------------------------------------------------------------------


class PaymentMethodSetupFailed(PolarError):
    """The card was refused when saved (402). ``decline_code`` is the processor's code."""

    status_code = 402
    error = "PaymentMethodSetupFailed"

    def __init__(self, detail: str, *, decline_code: str | None = None):
        self.decline_code = decline_code
        super().__init__(detail)

    def as_payload(self) -> dict:
        return {**super().as_payload(), "decline_code": self.decline_code}


class PaymentFailed(PolarError):
    """A charge was declined (402). Raised by callers that need a paid result (checkouts, plan changes);
    ``payment_charge`` itself returns the failed ``Payment``."""

    status_code = 402
    error = "PaymentFailed"

    def __init__(self, detail: str | None = None, *, payment: Payment | None = None):
        self.payment = payment
        super().__init__(detail)

    @classmethod
    def for_payment(cls, payment: Payment) -> PaymentFailed:
        return cls(f"The payment was declined ({payment.decline_reason}): {payment.decline_message}", payment=payment)

    def as_payload(self) -> dict:
        payload = super().as_payload()
        if self.payment is not None:
            payload["decline_code"] = self.payment.decline_reason
        return payload


class PaymentError(PolarError):
    """The processor failed (502): the request was refused by the processor, nothing was charged and
    the ``Payment`` (``.payment``, when there is one) is ``failed`` with reason ``processor_error``."""

    status_code = 502
    error = "PaymentError"

    def __init__(self, detail: str | None = None, *, payment: Payment | None = None):
        self.payment = payment
        super().__init__(detail)


class PaymentProcessorTimeout(PaymentError):
    """The processor did not answer (503). The outcome is unknown: the ``Payment`` stays ``pending``
    and ``payment_reconcile`` (or a retry of ``payment_charge`` with the same key) settles it without
    charging twice."""

    status_code = 503


class IdempotencyKeyReusedError(ConflictError):
    error = "IdempotencyKeyReused"


# --- payment methods ----------------------------------------------------------------------------


def payment_method_attach(
    *,
    customer: Customer,
    token: str,
    set_default: bool = False,
    exp_month: int | None = None,
    exp_year: int | None = None,
) -> PaymentMethod:
    """Save a card for ``customer`` at the processor and record it.

    ``token`` is a processor token (``pm_card_visa``) or, from the hosted checkout page, a card
    number. A declined card raises ``PaymentMethodSetupFailed`` (402, with the decline code) and
    writes nothing. The method becomes the customer's default when ``set_default`` is true or the
    customer has none yet.

    The processor is called before our transaction; then the customer row is locked
    (``select_for_update``) while the method is inserted and ``Customer.default_payment_method_id``
    updated. A processor timeout or error raises ``PaymentProcessorTimeout``/``PaymentError`` and
    writes nothing (a card saved at the processor but not here is harmless: it is never charged).
    """
    if customer.deleted_at is not None:
        raise ResourceNotFound("Customer not found")
    if not isinstance(token, str) or not token.strip():
        raise PolarRequestValidationError.single(["body", "token"], "Field required", "missing")
    processor = get_processor()
    # No row of ours exists before the card is accepted, so the key is fresh per call; retries of the
    # HTTP request are deduplicated one level up by the Idempotency-Key header.
    key = f"payment_method:{customer.id}:{uuid.uuid4()}"
    try:
        result = processor.attach_payment_method(
            token=token.strip(), customer_ref=str(customer.id), idempotency_key=key, exp_month=exp_month, exp_year=exp_year
        )
    except ProcessorTimeout as exc:
        raise PaymentProcessorTimeout(f"The payment processor did not answer: {exc}") from exc
    except ProcessorError as exc:
        raise PaymentError(f"The payment processor failed: {exc}") from exc
    if not result.succeeded:
        raise PaymentMethodSetupFailed(f"{result.decline_code}: {result.decline_message}", decline_code=result.decline_code)

    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        method = PaymentMethod.objects.create(
            organization_id=locked.organization_id,
            customer=locked,
            processor=processor.name,
            processor_ref=result.payment_method_ref,
            type=PaymentMethod.Type.CARD,
            brand=result.brand,
            last4=result.last4,
            exp_month=result.exp_month,
            exp_year=result.exp_year,
        )
        if set_default or locked.default_payment_method_id is None:
            locked.default_payment_method_id = method.id
            locked.save(update_fields=["default_payment_method_id"])
            customer.default_payment_method_id = method.id
    logger.info("payment_method.attached", payment_method_id=str(method.id), customer_id=str(customer.id))
    return method


def payment_method_delete(*, payment_method: PaymentMethod) -> PaymentMethod:
    """Soft-delete a saved method (``deleted_at``); payments made with it keep pointing at it.

    Locks the method and its customer; if it was the customer's default, the customer is left with
    no default (we do not guess which card to charge). Deleting an already deleted method raises
    ``ResourceNotFound``.
    """
    with transaction.atomic():
        method = PaymentMethod.objects.select_for_update().get(pk=payment_method.pk)
        if method.deleted_at is not None:
            raise ResourceNotFound("Payment method not found")
        customer = Customer.objects.select_for_update().get(pk=method.customer_id)
        method.deleted_at = clock.now()
        method.modified_at = method.deleted_at
        method.save(update_fields=["deleted_at", "modified_at"])
        if customer.default_payment_method_id == method.id:
            customer.default_payment_method_id = None
            customer.save(update_fields=["default_payment_method_id"])
    return method


# --- charges ------------------------------------------------------------------------------------


def payment_charge(
    *,
    customer: Customer,
    payment_method: PaymentMethod,
    amount: int,
    currency: str,
    idempotency_key: str,
    order_id: uuid.UUID | None = None,
    checkout_id: uuid.UUID | None = None,
    trigger: str | None = None,
    description: str = "",
) -> Payment:
    """Charge ``amount`` minor units of ``currency`` to ``payment_method``, at most once per key.

    Returns the ``Payment``: ``succeeded`` (with ``fee`` and ``processor_charge_ref``) or ``failed``
    (with ``decline_reason``/``decline_message``). A decline is a result, not an exception.

    Idempotent: a second call with the same key and the same parameters returns the same ``Payment``
    without calling the processor again (or, if the first call left it ``pending``, reconciles it);
    the same key with other parameters raises ``IdempotencyKeyReusedError`` (409).

    Steps: (1) insert the ``pending`` Payment and commit (the crash marker; the unique key makes a
    concurrent duplicate fall into the reconcile path); (2) call the processor with no transaction
    open; (3) lock the Payment (``select_for_update``) and record the answer if it is still pending.

    Raises ``PaymentProcessorTimeout`` (503; Payment stays ``pending``) and ``PaymentError`` (502;
    Payment ``failed`` with reason ``processor_error``), each carrying ``.payment``; 422 for bad input.

    A charge that succeeded, or whose outcome is unknown (a timeout), is reported to the running API
    request (``polar.api.idempotency.note_money_taken``): that request's Idempotency-Key is then kept
    whatever its answer, so a retry replays it instead of charging again.
    """
    try:
        payment = _payment_charge(
            customer=customer,
            payment_method=payment_method,
            amount=amount,
            currency=currency,
            idempotency_key=idempotency_key,
            order_id=order_id,
            checkout_id=checkout_id,
            trigger=trigger,
            description=description,
        )
    except PaymentProcessorTimeout:
        idempotency.note_money_taken()
        raise
    if payment.status in (Payment.Status.SUCCEEDED, Payment.Status.PENDING):
        idempotency.note_money_taken()
    return payment


def _payment_charge(
    *,
    customer: Customer,
    payment_method: PaymentMethod,
    amount: int,
    currency: str,
    idempotency_key: str,
    order_id: uuid.UUID | None,
    checkout_id: uuid.UUID | None,
    trigger: str | None,
    description: str,
) -> Payment:
    _validate_charge(
        customer=customer, payment_method=payment_method, amount=amount, currency=currency, idempotency_key=idempotency_key
    )
    if trigger is not None and trigger not in Payment.Trigger.values:
        raise PolarRequestValidationError.single(
            ["body", "trigger"], f"Input should be one of {', '.join(Payment.Trigger.values)}", "enum"
        )

    existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is None:
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    organization_id=customer.organization_id,
                    customer=customer,
                    payment_method=payment_method,
                    amount=amount,
                    currency=currency,
                    status=Payment.Status.PENDING,
                    processor=payment_method.processor,
                    idempotency_key=idempotency_key,
                    trigger=trigger,
                    description=description[:512],
                    order_id=order_id,
                    checkout_id=checkout_id,
                )
        except IntegrityError:
            existing = Payment.objects.get(idempotency_key=idempotency_key)
    if existing is not None:
        if (existing.customer_id, existing.payment_method_id, existing.amount, existing.currency) != (
            customer.id,
            payment_method.id,
            amount,
            currency,
        ):
            raise IdempotencyKeyReusedError(f"Idempotency key {idempotency_key!r} was used for a different payment")
        if not existing.is_pending:
            return existing
        return payment_reconcile(payment=existing)
    return _send_charge(payment)


@dataclasses.dataclass(frozen=True)
class ChargeRequest:
    """One charge of ``payments_charge_many`` (the arguments of ``payment_charge``)."""

    customer: Customer
    payment_method: PaymentMethod
    amount: int
    currency: str
    idempotency_key: str
    order_id: uuid.UUID | None = None
    trigger: str | None = None
    description: str = ""


def payments_charge_many(requests: list[ChargeRequest]) -> list[Payment | PaymentError]:
    """``payment_charge`` for several charges, in three statements instead of three transactions each:
    the ``pending`` rows in one INSERT (committed: the crash marker), the processor's ``charge_many``
    with no transaction open, then the outcomes recorded under one lock of the rows still pending.

    Answers in order: the ``Payment`` (succeeded or failed), or the ``PaymentError`` /
    ``PaymentProcessorTimeout`` that ``payment_charge`` would have raised. A request whose key was
    used before (a retry after a crash) goes through ``payment_charge`` itself, which reconciles it.
    Call it with no transaction open.
    """
    if not requests:
        return []
    for request in requests:
        _validate_charge(
            customer=request.customer,
            payment_method=request.payment_method,
            amount=request.amount,
            currency=request.currency,
            idempotency_key=request.idempotency_key,
        )
    keys = collections.Counter(request.idempotency_key for request in requests)
    seen = set(Payment.objects.filter(idempotency_key__in=list(keys)).values_list("idempotency_key", flat=True))
    fresh = [request for request in requests if request.idempotency_key not in seen and keys[request.idempotency_key] == 1]
    answers: dict[str, Payment | PaymentError] = {}
    if fresh:
        rows = [
            Payment(
                organization_id=request.customer.organization_id,
                customer=request.customer,
                payment_method=request.payment_method,
                amount=request.amount,
                currency=request.currency,
                status=Payment.Status.PENDING,
                processor=request.payment_method.processor,
                idempotency_key=request.idempotency_key,
                trigger=request.trigger,
                description=request.description[:512],
                order_id=request.order_id,
            )
            for request in fresh
        ]
        try:
            with transaction.atomic():
                Payment.objects.bulk_create(rows)
                audit_log_many([(row, None, None) for row in rows], created=True)
        except IntegrityError:
            rows, fresh = [], []  # a concurrent caller used one of the keys: one at a time below
        by_processor: dict[str, list[Payment]] = {}
        for row in rows:
            by_processor.setdefault(row.processor, []).append(row)
        outcomes: list[tuple[Payment, ChargeResult]] = []
        for name, group in by_processor.items():
            results = get_processor(name).charge_many(
                [
                    {
                        "payment_method_ref": row.payment_method.processor_ref,
                        "amount": row.amount,
                        "currency": row.currency,
                        "idempotency_key": row.idempotency_key,
                        "description": row.description,
                    }
                    for row in group
                ]
            )
            for row, result in zip(group, results):
                if isinstance(result, ChargeResult):
                    outcomes.append((row, result))
                elif isinstance(result, IdempotencyKeyReused):  # as payment_charge: a conflict, not an answer
                    raise IdempotencyKeyReusedError(str(result)) from result
                else:
                    # The rare paths (timeout, processor error, key reused) as payment_charge handles them.
                    try:
                        answers[row.idempotency_key] = payment_reconcile(payment=row)
                    except PaymentError as exc:
                        answers[row.idempotency_key] = exc
        for payment in _record_many(outcomes):
            answers[payment.idempotency_key] = payment
    for request in requests:
        if request.idempotency_key in answers:
            continue
        try:
            answers[request.idempotency_key] = payment_charge(
                customer=request.customer,
                payment_method=request.payment_method,
                amount=request.amount,
                currency=request.currency,
                idempotency_key=request.idempotency_key,
                order_id=request.order_id,
                trigger=request.trigger,
                description=request.description,
            )
        except PaymentError as exc:
            answers[request.idempotency_key] = exc
    return [answers[request.idempotency_key] for request in requests]


def _record_many(outcomes: list[tuple[Payment, ChargeResult]]) -> list[Payment]:
    """``_record`` for several payments: one lock of the rows still pending, one UPDATE, one audit INSERT."""
    if not outcomes:
        return []
    by_id = {payment.pk: result for payment, result in outcomes}
    now = clock.now()
    with transaction.atomic():
        locked = list(Payment.objects.select_for_update().filter(pk__in=list(by_id)).order_by("pk"))
        changed, audit = [], []
        for payment in locked:
            if not payment.is_pending:
                continue
            before = copy.copy(payment)
            _apply_outcome(payment, by_id[payment.pk], now)
            changed.append(payment)
            audit.append((payment, before, _OUTCOME_FIELDS))
        bulk_update_rows(changed, _OUTCOME_FIELDS)
        audit_log_many(audit, created=False)
        # The ledger postings of the batch in the same transaction, in three INSERTs.
        payments_post_many([payment_fields(payment) for payment in changed if payment.status == Payment.Status.SUCCEEDED])
    return locked


def payment_reconcile(*, payment: Payment) -> Payment:
    """Settle a ``pending`` Payment left by a crash or a timeout, without charging twice.

    Asks the processor for the charge made with the payment's idempotency key: if it exists, its
    outcome is recorded; if the processor never saw the request, the charge is sent again with the
    same key (safe: the processor makes at most one charge per key). A payment that is no longer
    pending is returned as it is. Same errors as ``payment_charge``. Meant for the charge path, for a
    beat sweep of old pending payments and for ``run_billing``.
    """
    payment.refresh_from_db()
    if not payment.is_pending:
        return payment
    processor = get_processor(payment.processor)
    try:
        found = processor.retrieve_charge_by_idempotency_key(payment.idempotency_key)
    except ProcessorTimeout as exc:
        _note_error(payment, f"reconcile timeout: {exc}")
        raise PaymentProcessorTimeout(f"The payment processor did not answer: {exc}", payment=payment) from exc
    except ProcessorError as exc:
        _note_error(payment, f"reconcile error: {exc}")
        raise PaymentError(f"The payment processor failed: {exc}", payment=payment) from exc
    if found is not None:
        logger.info("payment.reconciled", payment_id=str(payment.id), status=found.status)
        return _record(payment, found)
    return _send_charge(payment)


def _send_charge(payment: Payment) -> Payment:
    method = payment.payment_method
    processor = get_processor(payment.processor)
    try:
        result = processor.charge(
            payment_method_ref=method.processor_ref,
            amount=payment.amount,
            currency=payment.currency,
            idempotency_key=payment.idempotency_key,
            description=payment.description,
        )
    except ProcessorTimeout as exc:
        _note_error(payment, f"timeout: {exc}")
        logger.warning("payment.processor_timeout", payment_id=str(payment.id))
        raise PaymentProcessorTimeout(
            "The payment processor did not answer; the payment is pending and will be reconciled.", payment=payment
        ) from exc
    except IdempotencyKeyReused as exc:
        raise IdempotencyKeyReusedError(str(exc)) from exc
    except ProcessorAPIError as exc:
        payment = _record_processor_failure(payment, str(exc))
        logger.warning("payment.processor_error", payment_id=str(payment.id), error=str(exc))
        raise PaymentError(f"The payment processor failed: {exc}", payment=payment) from exc
    return _record(payment, result)


_OUTCOME_FIELDS = ["status", "processor_charge_ref", "fee", "decline_reason", "decline_message", "last_error", "modified_at"]


def _apply_outcome(payment: Payment, result: ChargeResult, now) -> None:
    """The processor's answer on a pending payment (in memory; the caller saves it under the row lock)."""
    payment.status = Payment.Status.SUCCEEDED if result.succeeded else Payment.Status.FAILED
    payment.processor_charge_ref = result.charge_ref
    payment.fee = result.fee if result.succeeded else None
    payment.decline_reason = None if result.succeeded else result.decline_code
    payment.decline_message = None if result.succeeded else result.decline_message
    payment.last_error = None
    payment.modified_at = now
    billing_metrics.charge_observed(payment.decline_reason)


def _record(payment: Payment, result: ChargeResult) -> Payment:
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.is_pending:
            _apply_outcome(locked, result, clock.now())
            locked.save()
            if locked.status == Payment.Status.SUCCEEDED:
                # Posted with the outcome, in its transaction: idempotent by ``payment:<id>``.
                payment_post(**payment_fields(locked))
    return locked


def _record_processor_failure(payment: Payment, message: str) -> Payment:
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.is_pending:
            locked.status = Payment.Status.FAILED
            locked.decline_reason = "processor_error"
            locked.decline_message = message[:512]
            locked.modified_at = clock.now()
            locked.save()
    return locked


def _note_error(payment: Payment, message: str) -> None:
    # Kept for support staff; the payment stays pending.
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.is_pending:
            locked.last_error = message[:512]
            locked.modified_at = clock.now()
            locked.save(update_fields=["last_error", "modified_at"])
    payment.refresh_from_db()


def _validate_charge(*, customer, payment_method, amount, currency, idempotency_key) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_AMOUNT:
        raise PolarRequestValidationError.single(
            ["body", "amount"], f"Input should be an integer between 1 and {MAX_AMOUNT}", "value_error"
        )
    if not is_valid_currency(currency):
        raise PolarRequestValidationError.single(
            ["body", "currency"], "Input should be a supported lowercase ISO 4217 currency", "value_error"
        )
    if (
        payment_method.organization_id != customer.organization_id
        or payment_method.customer_id != customer.id
        or payment_method.deleted_at is not None
    ):
        raise PolarRequestValidationError.single(
            ["body", "payment_method_id"], "Payment method not found for this customer", "value_error"
        )
    if not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= 255:
        raise ValueError("idempotency_key must be a non-empty string of at most 255 characters")


def payments_reconcile_pending(*, created_before, limit: int = 500) -> dict[str, int]:
    """Settle ``pending`` payments created before ``created_before`` (a beat sweep / ``run_billing`` step).

    Each is passed to ``payment_reconcile`` (found by key at the processor, or sent again with the same
    key). No lock is held across processor calls; two sweeps racing on one payment are harmless because
    the processor dedupes by key and ``_record`` only writes a still-pending row. A payment whose
    processor is still unreachable stays pending for the next sweep. Returns counts by outcome. (What a
    settled payment means for its order is the order's owner's business: renewals mark their cycle
    orders paid with ``renewals.renewal_orders_settle``.)
    """
    counts = {"succeeded": 0, "failed": 0, "pending": 0}
    ids = list(
        Payment.objects.filter(status=Payment.Status.PENDING, created_at__lt=created_before)
        .order_by("created_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    for payment_id in ids:
        payment = Payment.objects.select_related("payment_method").get(pk=payment_id)
        try:
            payment = payment_reconcile(payment=payment)
        except PaymentProcessorTimeout:
            counts["pending"] += 1
            continue
        except PaymentError as exc:
            payment = exc.payment or payment
        counts[payment.status] = counts.get(payment.status, 0) + 1
    return counts
