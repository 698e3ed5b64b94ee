"""What support staff do to a customer's account from the support pages: cancel a subscription at the
period end, revoke it now, refund part of an order, retry a failed payment, resend a receipt.

Every action goes through the same service the API uses (``billing.subscriptions.lifecycle``,
``billing.approvals``' ``staff_refund`` over ``billing.refunds``, ``billing.dunning``, the receipt of
``billing.orders.emails``) and, before it, through ``support_action_check``:

1. the staff member must be allowed on the customer's organization (``staff_may_access``); otherwise the
   target is ``ResourceNotFound`` (404), exactly as if it did not exist;
2. one of their roles must allow the action (``ROLE_ACTIONS``; superusers may do everything), else
   ``SupportActionRefused`` (403);
3. a reason is required (422 without one).

Then the service runs inside ``polar.audit.staff_action``: every audit entry it writes carries the staff
member as actor and ``{"reason", "staff_action"}`` as additional data. One more entry is written on the target
for the action itself (``support_action_log``) with its outcome, because some actions change no row (a
receipt sent again) and a refund above the four-eyes threshold only records an approval request.
"""

from __future__ import annotations

from auditlog.models import LogEntry
from django.db import transaction

from billing.approvals.services import staff_refund
from billing.dunning.services import dunning_retry_order
from billing.models import DunningAttemptKind, Order, Refund, Subscription
from billing.orders.emails import order_receipt_send
from billing.portal.sessions import customer_portal_url, customer_session_create
from billing.subscriptions.lifecycle import subscription_cancel, subscription_revoke
from polar.audit import staff_action
from polar.errors import NotPermitted, PolarRequestValidationError, ResourceNotFound
from polar.money import format_amount
from polar.organizations.staff import staff_may_access, staff_roles


class Action:
    CANCEL = "cancel"
    REVOKE = "revoke"
    REFUND = "refund"
    RETRY_PAYMENT = "retry_payment"
    RESEND_RECEIPT = "resend_receipt"


ACTIONS = (Action.CANCEL, Action.REVOKE, Action.REFUND, Action.RETRY_PAYMENT, Action.RESEND_RECEIPT)

# Which role may do what (docs/back-office.md, "Support pages"). Support looks after customers: cancel, refund
# (above the organization's four-eyes threshold it becomes a request another staff member approves), retry,
# resend. Revoking ends access at once without a refund: a risk decision (fraud, abuse), so Risk only; Risk
# may also cancel, but refunds are not theirs (the roles' ``refund_orders`` capability, which ``staff_refund``
# checks, is Support's and Finance's). Finance handles money: refunds, retries, receipts, never access.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "support": frozenset({Action.CANCEL, Action.REFUND, Action.RETRY_PAYMENT, Action.RESEND_RECEIPT}),
    "risk": frozenset({Action.CANCEL, Action.REVOKE}),
    "finance": frozenset({Action.REFUND, Action.RETRY_PAYMENT, Action.RESEND_RECEIPT}),
}
REASON_MAX_LENGTH = 500


class SupportActionRefused(NotPermitted):
    """The staff member may see the customer but none of their roles allows this action."""


class ReceiptNotSent(PolarRequestValidationError):
    pass


def support_allowed_actions(*, user, organization) -> frozenset[str]:
    """The actions ``user`` may take on ``organization``'s customers (empty without access)."""
    if not (user.is_active and user.is_staff) or not staff_may_access(user, organization):
        return frozenset()
    if user.is_superuser:
        return frozenset(ACTIONS)
    return frozenset().union(*(ROLE_ACTIONS.get(role, frozenset()) for role in staff_roles(user)))


def support_action_check(*, actor, organization, action: str, reason: str | None) -> str:
    """Refuse what ``actor`` may not do (see the module); return the reason, stripped."""
    if not (actor.is_active and actor.is_staff) or not staff_may_access(actor, organization):
        raise ResourceNotFound("Not found")
    if action not in support_allowed_actions(user=actor, organization=organization):
        raise SupportActionRefused(f"None of your roles allows “{action.replace('_', ' ')}”.")
    reason = (reason or "").strip()
    if not reason:
        raise PolarRequestValidationError.single(["body", "reason"], "A reason is required.", "missing")
    if len(reason) > REASON_MAX_LENGTH:
        raise PolarRequestValidationError.single(
            ["body", "reason"], f"At most {REASON_MAX_LENGTH} characters.", "string_too_long"
        )
    return reason


def support_action_log(*, actor, target, action: str, reason: str, outcome: str) -> LogEntry:
    """The audit entry of one support action on ``target`` (who, why, what came of it). Written inside the
    action's ``staff_action`` context, whose actor and reason it carries like the service's own entries; the
    outcome is one of its "changes", which the context leaves alone."""
    return LogEntry.objects.log_create(
        target,
        force_log=True,
        action=LogEntry.Action.UPDATE,
        changes={"support_action": ["", action], "outcome": ["", outcome]},
        actor=actor,
        actor_email=getattr(actor, "email", None),
        additional_data={"reason": reason, "staff_action": action},
    )


def support_subscription_cancel(*, actor, subscription: Subscription, reason: str) -> Subscription:
    """Cancel at the end of the period (``subscription_cancel``: ``AlreadyCanceledSubscription`` when it
    is already ended or ending). Benefits stay until then."""
    reason = support_action_check(actor=actor, organization=subscription.organization, action=Action.CANCEL, reason=reason)
    with staff_action(actor=actor, reason=reason, action=Action.CANCEL), transaction.atomic():
        subscription = subscription_cancel(subscription=subscription)
        support_action_log(actor=actor, target=subscription, action=Action.CANCEL, reason=reason, outcome=subscription.status)
    return subscription


def support_subscription_revoke(*, actor, subscription: Subscription, reason: str) -> Subscription:
    """End the subscription now and revoke its benefits (``subscription_revoke``); nothing is refunded."""
    reason = support_action_check(actor=actor, organization=subscription.organization, action=Action.REVOKE, reason=reason)
    with staff_action(actor=actor, reason=reason, action=Action.REVOKE), transaction.atomic():
        subscription = subscription_revoke(subscription=subscription)
        support_action_log(actor=actor, target=subscription, action=Action.REVOKE, reason=reason, outcome=subscription.status)
    return subscription


def support_order_refund(*, actor, order: Order, amount: int, reason: str):
    """Refund ``amount`` minor units (tax included) of a paid order through ``staff_refund``: a ``Refund``
    at once up to the organization's four-eyes threshold, else a pending ``ApprovalRequest`` that another
    staff member approves. The refund service's errors (nothing left, amount above what is left, the
    processor's refusal) are raised as they are. Calls the processor: no transaction is open around it."""
    reason = support_action_check(actor=actor, organization=order.organization, action=Action.REFUND, reason=reason)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise PolarRequestValidationError.single(["body", "amount"], "A positive amount is required.", "greater_than")
    with staff_action(actor=actor, reason=reason, action=Action.REFUND):
        result = staff_refund(actor=actor, order=order, amount=amount, reason=reason)
        shown = format_amount(amount, order.currency)
        outcome = f"refund {shown} {result.status}" if isinstance(result, Refund) else f"refund {shown} pending approval"
        support_action_log(actor=actor, target=order, action=Action.REFUND, reason=reason, outcome=outcome)
    return result


def support_payment_retry(*, actor, order: Order, reason: str):
    """One extra charge of a past-due order now (``dunning_retry_order``, as ``POST
    /v1/orders/{id}/retry-payment``; ``OrderNotEligibleForRetry`` when it has nothing to retry). Returns
    the dunning attempt (``succeeded`` or ``failed`` with the decline code)."""
    reason = support_action_check(actor=actor, organization=order.organization, action=Action.RETRY_PAYMENT, reason=reason)
    with staff_action(actor=actor, reason=reason, action=Action.RETRY_PAYMENT):
        attempt = dunning_retry_order(order=order, kind=DunningAttemptKind.MERCHANT)
        outcome = f"attempt {attempt.attempt_number or '-'} {attempt.status}"
        if attempt.decline_code:
            outcome += f" ({attempt.decline_code})"
        support_action_log(actor=actor, target=order, action=Action.RETRY_PAYMENT, reason=reason, outcome=outcome)
    return attempt


def _portal_link(customer) -> str:
    _session, token = customer_session_create(customer=customer)
    return customer_portal_url(token=token)


def support_receipt_resend(*, actor, order: Order, reason: str) -> None:
    """E-mail the receipt of a paid (or refunded) order to its customer again, now, with a fresh portal
    link. Refused (422) for an order that has no receipt (not paid) or a customer without an e-mail."""
    reason = support_action_check(actor=actor, organization=order.organization, action=Action.RESEND_RECEIPT, reason=reason)
    with staff_action(actor=actor, reason=reason, action=Action.RESEND_RECEIPT):
        if not order_receipt_send(order.id, portal_url_for=_portal_link, again=True):
            raise ReceiptNotSent.single(
                ["body", "order_id"],
                "This order has no receipt to send (not paid, or the customer has no e-mail).",
                "value_error",
            )
        support_action_log(actor=actor, target=order, action=Action.RESEND_RECEIPT, reason=reason, outcome="sent")
