"""The time-driven steps that beat and ``run_billing --now`` share.

Beat runs each step as its own task on its own schedule (``billing.tasks``: ``renewals_sweep``,
``late_usage_after_end``, ``payments_reconcile``, ``fulfilment_sweep``); ``run_billing --now <instant>``
(``billing_run``) runs them all, in order, in this process with the clock frozen at that instant, which
is how the tests and the demo move time. Every step is idempotent for a given ``now``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from billing.disputes.services import disputes_sync
from billing.dunning.services import dunning_run_due
from billing.fulfilment.services import fulfilment_sweep
from billing.models import (
    Order,
    OrderBillingReason,
    OrderStatus,
    Payment,
    SubscriptionStatus,
)
from billing.orders import services as order_services
from billing.payments.services import payments_reconcile_pending
from billing.refunds.services import refunds_reconcile_pending
from billing.renewals.late_usage import late_usage_after_end
from billing.renewals.sweep import renewals_run_due
from billing.subscriptions.services import subscription_recover_if_settled
from payouts.postings import payments_release_due
from payouts.services import payouts_process, payouts_weekly
from polar import clock


def _step_late_usage_after_end(*, now):
    return late_usage_after_end(now=now)


def _step_renewals(*, now):
    return renewals_run_due(now=now)


def renewal_orders_settle(*, limit: int = 500) -> int:
    """Mark paid the cycle orders still ``pending`` whose charge succeeded after all (a timeout whose
    payment was reconciled later by ``payments_reconcile_pending``), and bring their ``past_due``
    subscription back to ``active`` when nothing else is unpaid. Idempotent. Returns how many."""
    orders = list(
        Order.objects.filter(
            billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE,
            status=OrderStatus.PENDING,
            payments__status=Payment.Status.SUCCEEDED,
        )
        .select_related("subscription")
        .distinct()
        .order_by("created_at")[:limit]
    )
    for order in orders:
        order_services.order_mark_paid(order=order)
        if order.subscription.status == SubscriptionStatus.PAST_DUE:
            subscription_recover_if_settled(subscription=order.subscription)
    return len(orders)


def payments_reconcile_and_settle(*, now: dt.datetime) -> dict:
    """Settle payments left pending for more than 5 minutes, then the cycle orders they paid
    (the beat's ``payments_reconcile`` and run_billing's ``reconcile_payments`` step)."""
    counts = payments_reconcile_pending(created_before=now - dt.timedelta(minutes=5))
    counts["orders_paid"] = renewal_orders_settle()
    return counts


def _step_reconcile_payments(*, now):
    return payments_reconcile_and_settle(now=now)


def _step_fulfilment(*, now):
    return fulfilment_sweep(now=now)


# The time-driven steps ``run_billing`` runs, in order: (name, callable(now=...) -> summary).
# Later issues append theirs (dunning retries, payouts) with ``TIME_DRIVEN_STEPS.append(...)``.
TIME_DRIVEN_STEPS: list[tuple[str, Callable]] = [
    ("renewals", _step_renewals),
    ("late_usage_after_end", _step_late_usage_after_end),
    ("reconcile_payments", _step_reconcile_payments),
    # After reconcile: a charge it found succeeded is then fulfilled (docs/fulfilment.md).
    ("fulfilment", _step_fulfilment),
]


def _step_ledger_release(*, now):
    return payments_release_due(now=now)


def _step_refunds_reconcile(*, now):
    return refunds_reconcile_pending(created_before=now - dt.timedelta(minutes=5))


# Refunds left pending by a processor timeout are asked again with their key; then the ledger's pending
# funds past their holding period become available (docs/ledger.md).
TIME_DRIVEN_STEPS.append(("refunds_reconcile", _step_refunds_reconcile))
TIME_DRIVEN_STEPS.append(("ledger_release", _step_ledger_release))


def _step_disputes_sync(*, now):
    return disputes_sync(since=now - dt.timedelta(days=60))


# Disputes the processor reports (opened, won, lost) are recorded and posted once each.
TIME_DRIVEN_STEPS.append(("disputes_sync", _step_disputes_sync))


def _step_payouts(*, now):
    return {"weekly": payouts_weekly(now=now), **payouts_process(now=now)}


# Payouts (docs/ledger.md): the automatic weekly payouts are made, then pending payouts are sent and the
# ones due are settled (succeeded, or failed and returned to the merchant's available balance).
TIME_DRIVEN_STEPS.append(("payouts", _step_payouts))


def _step_dunning(*, now):
    return dunning_run_due(now=now)


# Dunning (docs/billing.md, "Dunning"): the retries due now, answers that came late, benefits suspended after
# the grace period. After reconcile_payments, so a retry's late answer is known before the next slot.
TIME_DRIVEN_STEPS.append(("dunning", _step_dunning))


def billing_run(*, now: dt.datetime) -> dict:
    """Run every time-driven step as of ``now`` (the clock frozen there). Idempotent for a given ``now``."""
    summary = {}
    with clock.freeze(now):
        for name, step in TIME_DRIVEN_STEPS:
            summary[name] = step(now=now)
    return summary
