"""Four-eyes approval of staff refunds and payouts (docs/back-office.md, "Four eyes").

A staff member's refund or payout of at most the organization's ``four_eyes_threshold`` (minor units, in
the money's own currency) runs at once through the service the API uses (``refund_create``,
``payout_create``). Above it, an ``ApprovalRequest`` is recorded (``pending``); a second staff member with
``approve_four_eyes`` on the organization approves it (then it runs, ``executed``) or rejects it. The
requester can never approve their own request (``SelfApprovalRefused``; a check constraint backs it).

Every call runs in a ``staff_action`` audit context: the entries it writes (the approval, the refund, the
payout, the order) carry the acting user and the reason.
"""

from __future__ import annotations

from django.db import transaction

from billing.models import ApprovalKind, ApprovalRequest, ApprovalStatus, Order, Refund, RefundReason
from billing.refunds.services import refund_create
from payouts.models import Payout, PayoutAccount
from payouts.services import payout_create, payout_estimate
from polar import clock
from polar.audit import staff_action
from polar.errors import ConflictError, NotPermitted, PolarError, PolarRequestValidationError, ResourceNotFound
from polar.organizations.staff import staff_require


class SelfApprovalRefused(NotPermitted):
    error = "SelfApprovalRefused"

    def default_detail(self):
        return "A request must be approved by another staff member than the one who made it."


class ApprovalNotPending(ConflictError):
    error = "ApprovalNotPending"


def _check_refund_reason(refund_reason: str) -> None:
    if refund_reason not in RefundReason.values:
        raise PolarRequestValidationError.single(["body", "refund_reason"], f"Unknown refund reason {refund_reason!r}.")


def staff_refund(
    *, actor, order: Order, amount: int, reason: str, refund_reason: str = RefundReason.CUSTOMER_REQUEST
) -> Refund | ApprovalRequest:
    """Refund ``amount`` of ``order`` for a staff member (``refund_orders`` on its organization, else
    ``NotPermitted``). At most the organization's threshold: refunded at once by ``refund_create`` (its
    errors pass through; the staff reason is the refund's comment). Above it: a pending ``ApprovalRequest``
    (the amount is checked by ``refund_create`` when it is approved)."""
    organization = order.organization
    staff_require(actor, "refund_orders", organization)
    _check_refund_reason(refund_reason)
    if not isinstance(amount, int) or amount <= 0:
        raise PolarRequestValidationError.single(["body", "amount"], "The amount must be a positive number of minor units.")
    with staff_action(actor=actor, action="refund", reason=reason):
        if amount <= organization.four_eyes_threshold:
            return refund_create(
                organization=organization, order_id=order.pk, amount=amount, reason=refund_reason, comment=reason.strip()
            )
        return ApprovalRequest.objects.create(
            organization=organization,
            kind=ApprovalKind.REFUND,
            target_id=order.pk,
            amount=amount,
            currency=order.currency,
            reason=reason.strip(),
            refund_reason=refund_reason,
            requested_by=actor,
        )


def staff_payout(*, actor, organization, reason: str) -> Payout | ApprovalRequest:
    """Pay out the organization's available balance for a staff member (``request_payouts``). At most the
    threshold: ``payout_create`` at once (frozen, unverified and too-small balances are refused as for the
    API). Above it: a pending ``ApprovalRequest`` for the balance now (on approval, a payout of more than
    that is refused: the balance grew, ask again)."""
    staff_require(actor, "request_payouts", organization)
    with staff_action(actor=actor, action="payout", reason=reason):
        estimate = payout_estimate(organization=organization)
        if estimate["amount"] <= organization.four_eyes_threshold:
            return payout_create(organization=organization, currency=estimate["currency"])
        return ApprovalRequest.objects.create(
            organization=organization,
            kind=ApprovalKind.PAYOUT,
            target_id=estimate["account"].pk,
            amount=estimate["amount"],
            currency=estimate["currency"],
            reason=reason.strip(),
            requested_by=actor,
        )


def _decide(*, actor, approval_id, reason: str, status: ApprovalStatus, action: str) -> ApprovalRequest:
    with staff_action(actor=actor, action=action, reason=reason), transaction.atomic():
        approval = ApprovalRequest.objects.select_for_update().select_related("organization").filter(pk=approval_id).first()
        if approval is None:
            raise ResourceNotFound("Approval request not found")
        staff_require(actor, "approve_four_eyes", approval.organization)
        if approval.status != ApprovalStatus.PENDING:
            raise ApprovalNotPending(f"This request is already {approval.status}.")
        if status == ApprovalStatus.APPROVED and approval.requested_by_id == actor.pk:
            raise SelfApprovalRefused()
        approval.status = status
        approval.decided_by = actor
        approval.decided_at = clock.now()
        approval.decision_reason = reason.strip()
        approval.modified_at = approval.decided_at
        approval.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "modified_at"])
    return approval


def approval_approve(*, actor, approval_id, reason: str) -> ApprovalRequest:
    """Approve a pending request and run it. Refuses the requester (``SelfApprovalRefused``, 403), a staff
    member without ``approve_four_eyes`` on the organization (``NotPermitted``) and a request already decided
    (``ApprovalNotPending``, 409). The decision commits first (under the request's row lock); the refund or
    payout then runs through its service. If that fails the request stays ``approved`` with ``last_error``
    (and the error is raised); ``approval_execute`` tries again."""
    approval = _decide(
        actor=actor, approval_id=approval_id, reason=reason, status=ApprovalStatus.APPROVED, action="approval_approve"
    )
    return approval_execute(actor=actor, approval_id=approval.pk, reason=reason)


def approval_reject(*, actor, approval_id, reason: str) -> ApprovalRequest:
    """Reject a pending request (the requester may withdraw their own). Nothing is refunded or paid."""
    return _decide(actor=actor, approval_id=approval_id, reason=reason, status=ApprovalStatus.REJECTED, action="approval_reject")


def _execute(approval: ApprovalRequest):
    if approval.kind == ApprovalKind.REFUND:
        return refund_create(
            organization=approval.organization,
            order_id=approval.target_id,
            amount=approval.amount,
            reason=approval.refund_reason or RefundReason.OTHER,
            comment=approval.reason,
        )
    account = PayoutAccount.objects.filter(pk=approval.target_id, organization=approval.organization).first()
    if account is None:
        raise ResourceNotFound("Payout account not found")
    estimate = payout_estimate(organization=approval.organization, currency=approval.currency)
    if estimate["amount"] > approval.amount:
        raise ConflictError(
            f"The balance is now {estimate['amount']}, more than the {approval.amount} approved: request the payout again."
        )
    return payout_create(organization=approval.organization, currency=approval.currency)


def approval_execute(*, actor, approval_id, reason: str) -> ApprovalRequest:
    """Run an ``approved`` request (again, after a failure). Under the request's row lock it is claimed
    (``executed``, no result yet) and committed before its refund or payout runs, so two executions never
    both run it; a failure puts it back to ``approved`` with ``last_error`` and raises. A request already
    ``executed`` is returned as it is (idempotent). Audited as ``actor`` with ``reason``."""
    with staff_action(actor=actor, action="approval_execute", reason=reason):
        with transaction.atomic():
            approval = ApprovalRequest.objects.select_for_update().select_related("organization").get(pk=approval_id)
            if approval.status == ApprovalStatus.EXECUTED:
                return approval
            if approval.status != ApprovalStatus.APPROVED:
                raise ApprovalNotPending(f"This request is {approval.status}, not approved.")
            staff_require(actor, "approve_four_eyes", approval.organization)
            approval.status = ApprovalStatus.EXECUTED
            approval.modified_at = clock.now()
            approval.save(update_fields=["status", "modified_at"])
        try:
            result = _execute(approval)
        except PolarError as error:
            approval.status = ApprovalStatus.APPROVED
            approval.last_error = str(error.detail)[:512]
            approval.modified_at = clock.now()
            approval.save(update_fields=["status", "last_error", "modified_at"])
            raise
        approval.result_id = result.pk
        approval.last_error = ""
        approval.modified_at = clock.now()
        approval.save(update_fields=["result_id", "last_error", "modified_at"])
    return approval
