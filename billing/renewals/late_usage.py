"""Usage that arrives after its subscription ended: a subscription has no next cycle order to carry
it, so ``late_usage_after_end`` (beat, hourly: ``billing.tasks.late_usage_after_end``; a ``run_billing``
step) bills it on a cycle order of its own, charged like a renewal. The late-usage rule itself
(``late_usage_lines``: what was billed, read back from the stored orders) is the cycles' one, in
``billing.renewals.plan``."""

from __future__ import annotations

import datetime as dt

import structlog
from django.db import IntegrityError, transaction

from billing.models import (
    Order,
    OrderBillingReason,
    OrderStatus,
    ProductPrice,
    Subscription,
    SubscriptionPrice,
    SubscriptionStatus,
)
from billing.orders import services as order_services
from billing.pricing import Period, PricingInput
from billing.renewals.cycle import renewal_order_charge
from billing.renewals.plan import LATE_USAGE_LOOKBACK, late_usage_lines
from polar import clock

logger = structlog.get_logger(__name__)


def late_usage_after_end(*, now: dt.datetime | None = None, limit: int = 1000) -> dict:
    """Bill usage that arrived after its subscription ended (a subscription has no next cycle order
    to carry it). For every subscription ``canceled`` within ``LATE_USAGE_LOOKBACK`` before ``now``
    with a metered price, the late-usage rule of the cycles applies as of its ``ended_at``: closed
    periods whose usage grew since they were billed get a ``Late usage`` line each, on a
    ``subscription_cycle`` order cut at ``now`` (``period_start = now``; no discount, no fixed price),
    charged like a renewal. Nothing billed is ever rewritten, and the next run finds the new
    ``units`` stored on this order, so running it again (same ``now`` or later) bills nothing twice.

    Each subscription is locked (``FOR UPDATE SKIP LOCKED``) while its order is written. Returns
    ``{"checked": n, "orders": n}``."""
    now = now or clock.now()
    ids = list(
        Subscription.objects.filter(
            status=SubscriptionStatus.CANCELED,
            ended_at__gte=now - LATE_USAGE_LOOKBACK,
            ended_at__lt=now,
            pk__in=SubscriptionPrice.objects.filter(product_price__amount_type__in=ProductPrice.METERED_AMOUNT_TYPES).values(
                "subscription_id"
            ),
        )
        .order_by("ended_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    written = []
    for subscription_id in ids:
        with transaction.atomic():
            locked = (
                Subscription.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("organization", "customer", "product")
                .filter(pk=subscription_id, status=SubscriptionStatus.CANCELED)
                .first()
            )
            if locked is None or locked.ended_at is None or locked.ended_at >= now:
                continue
            tax_bps = order_services.tax_rate_bps_for(organization=locked.organization, customer=locked.customer)
            lines = late_usage_lines(subscription=locked, before=locked.ended_at, tax_bps=tax_bps)
            if not lines:
                continue
            pricing_input = PricingInput(
                period=Period(locked.ended_at, now), currency=locked.currency, lines=tuple(lines), discount=None
            )
            try:
                with transaction.atomic():
                    order = order_services.order_create(
                        organization=locked.organization,
                        customer=locked.customer,
                        billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE,
                        pricing_input=pricing_input,
                        product=locked.product,
                        subscription=locked,
                        period_start=now,
                        description=f"Late usage of {locked.product.name} (ended {locked.ended_at:%Y-%m-%d})",
                    )
            except IntegrityError:  # an order was cut for this subscription at this very instant
                continue
        written.append(order)
    # Charge what is pending: the orders just written, and any a crash left uncharged after its commit
    # (renewal_order_charge leaves alone an order whose attempt failed: that is dunning's).
    pending = Order.objects.filter(
        subscription_id__in=ids, billing_reason=OrderBillingReason.SUBSCRIPTION_CYCLE, status=OrderStatus.PENDING
    ).order_by("created_at")
    for order in pending:
        renewal_order_charge(order=order)
    if written:
        logger.info("renewals.late_usage_after_end", orders=len(written), now=now.isoformat())
    return {"checked": len(ids), "orders": len(written)}
