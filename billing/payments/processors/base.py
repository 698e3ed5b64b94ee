"""The payment processor interface. Services talk to processors only through this.

Every mutating call carries an idempotency key that the *caller* derives from our own rows
(``order:<order_id>:attempt:<n>``, ``refund:<refund_id>``, ``payment_method:<customer_id>:<uuid>``),
never from client input. A processor must honour it: the same key returns the same result and never
performs the operation twice; the same key with different parameters raises ``IdempotencyKeyReused``.

Outcomes are typed: a decline is a normal *result* (``status="declined"`` with ``decline_code`` and
``decline_message``); trouble talking to the processor is an *exception*:

- ``ProcessorTimeout``: no answer; the operation may or may not have happened. Find out with
  ``retrieve_charge_by_idempotency_key`` (or retry with the same key, which is safe).
- ``ProcessorAPIError``: the processor answered that it failed; nothing was done.
- ``IdempotencyKeyReused``: a programming error on our side.

Processors are called outside any database transaction that holds locks: a slow processor must not
hold our rows.
"""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass


class ProcessorError(Exception):
    """Base of the errors a processor call can raise."""


class ProcessorTimeout(ProcessorError):
    """The processor did not answer in time; the outcome is unknown."""


class ProcessorAPIError(ProcessorError):
    """The processor answered with an error of its own; the operation was not performed."""


class IdempotencyKeyReused(ProcessorError):
    """The idempotency key was used before with different parameters."""


class ChargeNotFound(ProcessorError):
    """No charge with this reference at the processor."""


class RefundExceedsCharge(ProcessorError):
    """The refund would take back more than what is left of the charge."""


@dataclass(frozen=True)
class AttachResult:
    status: str  # "succeeded" | "declined"
    payment_method_ref: str | None = None
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    decline_code: str | None = None
    decline_message: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class ChargeResult:
    status: str  # "succeeded" | "declined"
    charge_ref: str
    idempotency_key: str
    amount: int
    currency: str
    fee: int = 0
    decline_code: str | None = None
    decline_message: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class RefundResult:
    status: str  # "succeeded"
    refund_ref: str
    charge_ref: str
    amount: int


@dataclass(frozen=True)
class DisputeReport:
    dispute_ref: str
    charge_ref: str
    amount: int
    currency: str
    reason: str
    status: str
    opened_at: dt.datetime


class PaymentProcessor(abc.ABC):
    """What every processor implementation provides. ``name`` is stored on our rows."""

    name: str = ""

    @abc.abstractmethod
    def attach_payment_method(
        self, *, token: str, customer_ref: str, idempotency_key: str, exp_month: int | None = None, exp_year: int | None = None
    ) -> AttachResult:
        """Save a card (a token from the client, or a card number on the hosted page) for a customer.

        A card the issuer refuses gives ``AttachResult(status="declined")``; nothing is saved.
        """

    @abc.abstractmethod
    def charge(
        self, *, payment_method_ref: str, amount: int, currency: str, idempotency_key: str, description: str = ""
    ) -> ChargeResult:
        """Charge ``amount`` minor units of ``currency`` to a saved method, at most once per key."""

    def charge_many(self, requests: list[dict]) -> list[ChargeResult | ProcessorError]:
        """Several charges (each a dict of ``charge``'s keyword arguments), answered in order: a
        ``ChargeResult``, or the ``ProcessorError`` that charge raised. Same guarantees as ``charge``
        for each (at most once per key). The default asks one at a time; a processor with a batch API
        (or the sandbox, in one transaction) overrides it. Batch renewals use it."""
        answers: list[ChargeResult | ProcessorError] = []
        for request in requests:
            try:
                answers.append(self.charge(**request))
            except ProcessorError as exc:
                answers.append(exc)
        return answers

    @abc.abstractmethod
    def retrieve_charge_by_idempotency_key(self, idempotency_key: str) -> ChargeResult | None:
        """The charge made with this key, or None if the processor never made one.

        This is how a caller that crashed (or timed out) between asking and recording finds the outcome.
        """

    @abc.abstractmethod
    def refund(self, *, charge_ref: str, amount: int, idempotency_key: str) -> RefundResult:
        """Give back ``amount`` of a succeeded charge, at most once per key. The fee is not returned."""

    @abc.abstractmethod
    def list_disputes(self, *, since: dt.datetime) -> list[DisputeReport]:
        """Disputes opened at or after ``since``, oldest first (polled by a sweep)."""
