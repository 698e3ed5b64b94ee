"""The sandbox processor: a built-in stand-in for Stripe whose state lives in its own tables
(``billing.models.sandbox``), so it behaves like an outside system across processes and restarts.

Test tokens (Stripe's names) and the card numbers the hosted checkout page sends:

=============================================  ===================  =======================================
token                                          card number          behaviour
=============================================  ===================  =======================================
pm_card_visa                                   4242 4242 4242 4242  attaches; every charge succeeds
pm_card_mastercard                             5555 5555 5555 4444  attaches; every charge succeeds
pm_card_amex                                   3782 822463 10005    attaches; every charge succeeds
pm_card_visa_chargeDeclined                    4000 0000 0000 0002  declined when attached: card_declined
pm_card_chargeCustomerFail                     4000 0000 0000 0341  attaches; every charge card_declined
pm_card_visa_chargeDeclinedInsufficientFunds   4000 0000 0000 9995  attaches; charges insufficient_funds
pm_card_createDispute                          4000 0000 0000 0259  charge succeeds, then a dispute opens
pm_card_visa_chargeDeclinedLostCard            4000 0000 0000 9987  attaches; charges lost_card (a hard decline)
=============================================  ===================  =======================================

Any other number that passes the Luhn check attaches and charges successfully; one that fails it is
declined ``incorrect_number``; an unknown ``pm_…`` token is declined ``invalid_token``.

Fee on each successful charge: 2.9 % of the amount, rounded half away from zero, plus 30 minor units
(``SANDBOX_FEE_BPS``/``SANDBOX_FEE_FIXED``). Refunds do not return the fee.

Fault switch: ``settings.SANDBOX_PROCESSOR_FAULT`` if set, else the ``SandboxSettings`` row (admin):
``timeout`` (nothing happens, ``ProcessorTimeout``), ``timeout_after_charge`` (the charge is made, then
``ProcessorTimeout``: the lost-answer case), ``error`` (nothing happens, ``ProcessorAPIError``).

The sandbox writes with the caller's database connection; the payment services call it outside any
transaction, so each of its writes commits on its own, as a remote system's would.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from billing.payments.processors.base import (
    AttachResult,
    ChargeNotFound,
    ChargeResult,
    DisputeReport,
    IdempotencyKeyReused,
    PaymentProcessor,
    ProcessorAPIError,
    ProcessorError,
    ProcessorTimeout,
    RefundExceedsCharge,
    RefundResult,
)
from polar.money import round_minor_units

SANDBOX_FEE_BPS = 290
SANDBOX_FEE_FIXED = 30
DEFAULT_EXP_MONTH = 12
DEFAULT_EXP_YEAR = 2034

DECLINE_MESSAGES = {
    "card_declined": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "incorrect_number": "Your card number is incorrect.",
    "invalid_token": "No such payment method token.",
    "lost_card": "Your card has been reported lost.",
}


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    behaviour: str  # "succeed" | "decline_attach" | "decline_charges" | "insufficient_funds" | "dispute" | "lost_card"


TEST_CARDS: dict[str, TestCard] = {
    "pm_card_visa": TestCard("4242424242424242", "visa", "succeed"),
    "pm_card_mastercard": TestCard("5555555555554444", "mastercard", "succeed"),
    "pm_card_amex": TestCard("378282246310005", "amex", "succeed"),
    "pm_card_visa_chargeDeclined": TestCard("4000000000000002", "visa", "decline_attach"),
    "pm_card_chargeCustomerFail": TestCard("4000000000000341", "visa", "decline_charges"),
    "pm_card_visa_chargeDeclinedInsufficientFunds": TestCard("4000000000009995", "visa", "insufficient_funds"),
    "pm_card_createDispute": TestCard("4000000000000259", "visa", "dispute"),
    "pm_card_visa_chargeDeclinedLostCard": TestCard("4000000000009987", "visa", "lost_card"),
}
CARDS_BY_NUMBER = {card.number: card for card in TEST_CARDS.values()}


def sandbox_fee(amount: int) -> int:
    """The sandbox's processing fee for a successful charge of ``amount`` minor units."""
    return round_minor_units(Decimal(amount) * SANDBOX_FEE_BPS / Decimal(10_000)) + SANDBOX_FEE_FIXED


def _luhn_ok(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _brand_for(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or number[:2] == "22":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    return "unknown"


def resolve_card(token: str) -> TestCard | str:
    """The test card a token or card number stands for, or a decline code."""
    token = (token or "").strip()
    if token in TEST_CARDS:
        return TEST_CARDS[token]
    digits = token.replace(" ", "").replace("-", "")
    if digits.isdigit() and 12 <= len(digits) <= 19:
        if digits in CARDS_BY_NUMBER:
            return CARDS_BY_NUMBER[digits]
        if not _luhn_ok(digits):
            return "incorrect_number"
        return TestCard(digits, _brand_for(digits), "succeed")
    return "invalid_token"


def _ref(prefix: str) -> str:
    return f"{prefix}_sbx_{secrets.token_hex(12)}"


class SandboxProcessor(PaymentProcessor):
    name = "sandbox"

    # --- faults -------------------------------------------------------------
    def _fault(self) -> str:
        from billing.models import SandboxSettings

        configured = getattr(settings, "SANDBOX_PROCESSOR_FAULT", None)
        if configured:
            return configured
        row = SandboxSettings.objects.filter(pk=1).only("fault").first()
        return row.fault if row else SandboxSettings.Fault.NONE

    def _before(self) -> str:
        fault = self._fault()
        if fault == "timeout":
            raise ProcessorTimeout("sandbox: timed out (fault switch)")
        if fault == "error":
            raise ProcessorAPIError("sandbox: processor error (fault switch)")
        return fault

    # --- payment methods ----------------------------------------------------
    def attach_payment_method(self, *, token, customer_ref, idempotency_key, exp_month=None, exp_year=None) -> AttachResult:
        from billing.models import SandboxPaymentMethod

        fault = self._before()
        existing = SandboxPaymentMethod.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.customer_ref != customer_ref:
                raise IdempotencyKeyReused(f"payment method key {idempotency_key!r} was used for another customer")
            return self._attach_result(existing)
        card = resolve_card(token)
        if isinstance(card, str):
            return AttachResult(status="declined", decline_code=card, decline_message=DECLINE_MESSAGES[card])
        if card.behaviour == "decline_attach":
            return AttachResult(
                status="declined", decline_code="card_declined", decline_message=DECLINE_MESSAGES["card_declined"]
            )
        try:
            with transaction.atomic():
                method = SandboxPaymentMethod.objects.create(
                    ref=_ref("pm"),
                    customer_ref=customer_ref,
                    idempotency_key=idempotency_key,
                    behaviour=card.behaviour,
                    brand=card.brand,
                    last4=card.number[-4:],
                    exp_month=exp_month or DEFAULT_EXP_MONTH,
                    exp_year=exp_year or DEFAULT_EXP_YEAR,
                )
        except IntegrityError:
            method = SandboxPaymentMethod.objects.get(idempotency_key=idempotency_key)
        if fault == "timeout_after_charge":
            raise ProcessorTimeout("sandbox: answer lost after attaching (fault switch)")
        return self._attach_result(method)

    @staticmethod
    def _attach_result(method) -> AttachResult:
        return AttachResult(
            status="succeeded",
            payment_method_ref=method.ref,
            brand=method.brand,
            last4=method.last4,
            exp_month=method.exp_month,
            exp_year=method.exp_year,
        )

    # --- charges ------------------------------------------------------------
    def charge(self, *, payment_method_ref, amount, currency, idempotency_key, description="") -> ChargeResult:
        from billing.models import SandboxCharge, SandboxDispute, SandboxPaymentMethod

        fault = self._before()
        existing = SandboxCharge.objects.select_related("payment_method").filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            self._check_same_charge(existing, payment_method_ref, amount, currency)
            return self._charge_result(existing)
        if not isinstance(amount, int) or amount <= 0:
            raise ProcessorAPIError("sandbox: amount must be a positive integer of minor units")
        method = SandboxPaymentMethod.objects.filter(ref=payment_method_ref).first()
        if method is None:
            raise ProcessorAPIError(f"sandbox: no such payment method {payment_method_ref!r}")
        try:
            with transaction.atomic():
                charge = self._new_charge(
                    method, amount=amount, currency=currency, idempotency_key=idempotency_key, description=description
                )
                charge.save(force_insert=True)
                if charge.status == SandboxCharge.Status.SUCCEEDED and method.behaviour == SandboxPaymentMethod.Behaviour.DISPUTE:
                    SandboxDispute.objects.create(ref=_ref("dp"), charge=charge, amount=amount, currency=currency)
        except IntegrityError:
            # A concurrent request with the same key won the race: answer with its charge.
            charge = SandboxCharge.objects.select_related("payment_method").get(idempotency_key=idempotency_key)
            self._check_same_charge(charge, payment_method_ref, amount, currency)
        if fault == "timeout_after_charge":
            raise ProcessorTimeout("sandbox: answer lost after charging (fault switch)")
        return self._charge_result(charge)

    def charge_many(self, requests: list[dict]) -> list[ChargeResult | ProcessorError]:
        """The batch: one read of existing keys and methods and one INSERT for the new charges. With a
        fault switch on, or anything unusual (a key seen before, an unknown method, a dispute card), it
        answers one charge at a time through ``charge`` so every documented behaviour stays as it is."""
        from billing.models import SandboxCharge, SandboxPaymentMethod

        if not requests:
            return []
        if self._fault() != "none":
            return super().charge_many(requests)
        keys = [request["idempotency_key"] for request in requests]
        if len(set(keys)) != len(keys) or SandboxCharge.objects.filter(idempotency_key__in=keys).exists():
            return super().charge_many(requests)
        methods = {m.ref: m for m in SandboxPaymentMethod.objects.filter(ref__in={r["payment_method_ref"] for r in requests})}
        rows = []
        for request in requests:
            method = methods.get(request["payment_method_ref"])
            amount = request["amount"]
            if method is None or not isinstance(amount, int) or amount <= 0:
                return super().charge_many(requests)
            if method.behaviour == SandboxPaymentMethod.Behaviour.DISPUTE:
                return super().charge_many(requests)
            rows.append(
                self._new_charge(
                    method,
                    amount=amount,
                    currency=request["currency"],
                    idempotency_key=request["idempotency_key"],
                    description=request.get("description") or "",
                )
            )
        try:
            with transaction.atomic():
                SandboxCharge.objects.bulk_create(rows)
        except IntegrityError:
            # A concurrent request used one of the keys: answer one by one (each finds its charge).
            return super().charge_many(requests)
        return [self._charge_result(row) for row in rows]

    @staticmethod
    def _new_charge(method, *, amount, currency, idempotency_key, description):
        """The (unsaved) charge a test card gives: declined with its code, or succeeded with the fee."""
        from billing.models import SandboxCharge, SandboxPaymentMethod

        code = {
            SandboxPaymentMethod.Behaviour.DECLINE_CHARGES: "card_declined",
            SandboxPaymentMethod.Behaviour.INSUFFICIENT_FUNDS: "insufficient_funds",
            SandboxPaymentMethod.Behaviour.LOST_CARD: "lost_card",
        }.get(method.behaviour)
        return SandboxCharge(
            ref=_ref("ch"),
            idempotency_key=idempotency_key,
            payment_method=method,
            amount=amount,
            currency=currency,
            description=description[:512],
            status=SandboxCharge.Status.DECLINED if code else SandboxCharge.Status.SUCCEEDED,
            decline_code=code,
            decline_message=DECLINE_MESSAGES.get(code) if code else None,
            fee=0 if code else sandbox_fee(amount),
        )

    @staticmethod
    def _check_same_charge(charge, payment_method_ref, amount, currency) -> None:
        if (charge.payment_method.ref, charge.amount, charge.currency) != (payment_method_ref, amount, currency):
            raise IdempotencyKeyReused(f"charge key {charge.idempotency_key!r} was used with different parameters")

    @staticmethod
    def _charge_result(charge) -> ChargeResult:
        return ChargeResult(
            status=charge.status,
            charge_ref=charge.ref,
            idempotency_key=charge.idempotency_key,
            amount=charge.amount,
            currency=charge.currency,
            fee=charge.fee,
            decline_code=charge.decline_code,
            decline_message=charge.decline_message,
        )

    def retrieve_charge_by_idempotency_key(self, idempotency_key) -> ChargeResult | None:
        from billing.models import SandboxCharge

        self._before()
        charge = SandboxCharge.objects.filter(idempotency_key=idempotency_key).first()
        return None if charge is None else self._charge_result(charge)

    # --- refunds ------------------------------------------------------------
    def refund(self, *, charge_ref, amount, idempotency_key) -> RefundResult:
        from django.db.models import Sum

        from billing.models import SandboxCharge, SandboxRefund

        fault = self._before()
        existing = SandboxRefund.objects.select_related("charge").filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if (existing.charge.ref, existing.amount) != (charge_ref, amount):
                raise IdempotencyKeyReused(f"refund key {idempotency_key!r} was used with different parameters")
            return RefundResult(status=existing.status, refund_ref=existing.ref, charge_ref=charge_ref, amount=existing.amount)
        if not isinstance(amount, int) or amount <= 0:
            raise ProcessorAPIError("sandbox: refund amount must be a positive integer of minor units")
        with transaction.atomic():
            charge = SandboxCharge.objects.select_for_update().filter(ref=charge_ref).first()
            if charge is None:
                raise ChargeNotFound(f"sandbox: no such charge {charge_ref!r}")
            if charge.status != SandboxCharge.Status.SUCCEEDED:
                raise ProcessorAPIError("sandbox: only a succeeded charge can be refunded")
            refunded = charge.refunds.aggregate(total=Sum("amount"))["total"] or 0
            if refunded + amount > charge.amount:
                raise RefundExceedsCharge(f"sandbox: {amount} exceeds the {charge.amount - refunded} left to refund")
            refund = SandboxRefund.objects.create(ref=_ref("re"), idempotency_key=idempotency_key, charge=charge, amount=amount)
        if fault == "timeout_after_charge":
            raise ProcessorTimeout("sandbox: answer lost after refunding (fault switch)")
        return RefundResult(status=refund.status, refund_ref=refund.ref, charge_ref=charge_ref, amount=amount)

    # --- disputes -----------------------------------------------------------
    def list_disputes(self, *, since: dt.datetime) -> list[DisputeReport]:
        from billing.models import SandboxDispute

        self._before()
        disputes = SandboxDispute.objects.select_related("charge").filter(created_at__gte=since).order_by("created_at", "ref")
        return [
            DisputeReport(
                dispute_ref=d.ref,
                charge_ref=d.charge.ref,
                amount=d.amount,
                currency=d.currency,
                reason=d.reason,
                status=d.status,
                opened_at=d.created_at,
            )
            for d in disputes
        ]
