"""Disputes: recorded from the processor's reports, resolved by the processor (won/lost) or accepted by
the merchant, each state change posted to the ledger in its transaction (docs/ledger.md, Disputes).

- ``disputes_sync``: polls ``list_disputes`` and records new disputes (``needs_response``, evidence due in
  21 days; posts ``dispute:<id>:opened``: the disputed amount to the merchant's reserve plus the fee) and
  the processor's status changes (``under_review``; ``won``/``lost`` post ``dispute:<id>:closed``).
- ``dispute_accept``: the merchant gives up an open dispute: ``accepted`` (reported as ``lost``), the
  reserve goes back to the customer. Not open: ``DisputeNotOpenError`` (409).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from billing.models import Dispute, DisputeStatus, Payment
from billing.payments.processors import get_processor
from payouts.models import LedgerTransaction
from payouts.postings import (
    DISPUTE_FEE,
    dispute_closed_post,
    dispute_opened_post,
    payment_fields,
    payment_key,
    payment_post,
)
from polar import clock
from polar.errors import PolarError, PolarRequestValidationError, ResourceNotFound

EVIDENCE_WINDOW = dt.timedelta(days=21)
FINAL = {DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.ACCEPTED}
_TRANSITIONS = {
    DisputeStatus.NEEDS_RESPONSE: {DisputeStatus.UNDER_REVIEW, *FINAL},
    DisputeStatus.UNDER_REVIEW: {DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.ACCEPTED},
}


class DisputeNotOpenError(PolarError):
    status_code = 409
    error = "DisputeNotOpenError"

    def default_detail(self):
        return "This dispute is closed."


def _transition(dispute: Dispute, status: str) -> Dispute:
    """Move a locked dispute to ``status`` and post its closing when final (caller holds the lock)."""
    if status == dispute.status:
        return dispute
    if status not in _TRANSITIONS.get(dispute.status, set()):
        raise DisputeNotOpenError(f"A {dispute.status} dispute cannot become {status}.")
    dispute.status = status
    dispute.save(update_fields=["status", "modified_at"])
    if status in FINAL:
        dispute_closed_post(dispute_id=dispute.id, won=status == DisputeStatus.WON, processor=dispute.processor)
    return dispute


def dispute_open(*, payment: Payment, processor_dispute_ref: str, amount: int, reason: str | None, opened_at) -> Dispute:
    """Record a dispute of a succeeded payment (idempotent by the processor's reference)."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update(of=("self",)).select_related("order").get(pk=payment.pk)
        existing = Dispute.objects.filter(processor=payment.processor, processor_dispute_ref=processor_dispute_ref).first()
        if existing is not None:
            return existing
        dispute = Dispute.objects.create(
            organization_id=payment.organization_id,
            order_id=payment.order_id,
            payment=payment,
            customer_id=payment.order.customer_id,
            amount=min(amount, payment.amount),
            currency=payment.currency,
            reason=reason,
            evidence_due_by=opened_at + EVIDENCE_WINDOW,
            processor=payment.processor,
            processor_dispute_ref=processor_dispute_ref,
            fee=DISPUTE_FEE,
        )
        if not LedgerTransaction.objects.filter(idempotency_key=payment_key(payment.id)).exists():
            payment_post(**payment_fields(payment))  # a payment from before the ledger
        dispute_opened_post(
            dispute_id=dispute.id, payment_id=payment.id, amount=dispute.amount, fee=dispute.fee, processor=payment.processor
        )
    return dispute


def disputes_sync(*, since: dt.datetime | None = None, processor_name: str | None = None) -> int:
    """Record the disputes the processor reports since ``since`` (default: 60 days) and their status
    changes. Returns how many disputes were created or changed."""
    processor = get_processor(processor_name)
    since = since or clock.now() - dt.timedelta(days=60)
    changed = 0
    for report in processor.list_disputes(since=since):
        payment = Payment.objects.filter(processor_charge_ref=report.charge_ref, status=Payment.Status.SUCCEEDED).first()
        if payment is None or payment.order_id is None:
            continue
        dispute = Dispute.objects.filter(processor=payment.processor, processor_dispute_ref=report.dispute_ref).first()
        if dispute is None:
            dispute = dispute_open(
                payment=payment,
                processor_dispute_ref=report.dispute_ref,
                amount=report.amount,
                reason=report.reason,
                opened_at=report.opened_at,
            )
            changed += 1
        if report.status != dispute.status and report.status in DisputeStatus.values and dispute.is_open:
            with transaction.atomic():
                locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
                if locked.is_open:
                    _transition(locked, report.status)
                    changed += 1
    return changed


def dispute_accept(*, organization, dispute_id) -> Dispute:
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update().filter(organization=organization, pk=dispute_id).first()
        if dispute is None:
            raise ResourceNotFound()
        if not dispute.is_open:
            raise DisputeNotOpenError()
        return _transition(dispute, DisputeStatus.ACCEPTED)


def dispute_evidence_record(*, organization, dispute_id, text: str, recorded_by: str) -> Dispute:
    """Add a note of evidence to an open dispute (staff, from the back office): appended to
    ``evidence["notes"]`` as ``{"text", "recorded_by", "recorded_at"}``, earlier notes kept. Locks the dispute;
    refuses a closed one (``DisputeNotOpenError``). Audited with the caller's actor and reason."""
    text = (text or "").strip()
    if not text:
        raise PolarRequestValidationError.single(["body", "evidence"], "The evidence is empty.", "missing")
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update().filter(organization=organization, pk=dispute_id).first()
        if dispute is None:
            raise ResourceNotFound()
        if not dispute.is_open:
            raise DisputeNotOpenError()
        notes = list((dispute.evidence or {}).get("notes", []))
        notes.append({"text": text, "recorded_by": recorded_by, "recorded_at": clock.now().isoformat()})
        dispute.evidence = {**(dispute.evidence or {}), "notes": notes}
        dispute.modified_at = clock.now()
        dispute.save(update_fields=["evidence", "modified_at"])
    return dispute
