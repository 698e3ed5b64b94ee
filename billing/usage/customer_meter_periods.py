"""The billing period of many customer meters at once (a page of ``GET /v1/customer-meters/``).

A customer meter shows the current period of the customer's active subscription that bills the meter (the
oldest such subscription), else the calendar month. This answers it for every (customer, meter) pair of a
list in one query, so the list does not run a query per row (it ran two per pair: the subscription, and
the meter-credit grants, now read for all customers at once by ``meter_credit_grants_by_customer``).
"""

from __future__ import annotations

import uuid

from billing.models import Subscription


def subscriptions_by_customer_meter(*, customer_ids, meter_ids) -> dict[tuple[uuid.UUID, uuid.UUID], dict]:
    """Per (customer id, meter id): ``{"id", "current_period_start", "current_period_end"}`` of the oldest
    active subscription of the customer with a price on the meter. One query."""
    rows = (
        Subscription.objects.filter(
            customer_id__in=list(customer_ids),
            status__in=Subscription.ACTIVE_STATUSES,
            subscription_prices__product_price__meter_id__in=list(meter_ids),
        )
        .order_by("created_at", "id")
        .values("id", "customer_id", "current_period_start", "current_period_end", "subscription_prices__product_price__meter_id")
    )
    found: dict[tuple[uuid.UUID, uuid.UUID], dict] = {}
    for row in rows:
        found.setdefault((row["customer_id"], row["subscription_prices__product_price__meter_id"]), row)
    return found


def customer_meter_periods(*, rows, default) -> dict[uuid.UUID, tuple[tuple, uuid.UUID | None]]:
    """Per customer-meter row id: (the period it shows, the subscription whose period it is or None);
    ``default`` (the calendar month) for a pair without a subscription with a current period."""
    subscriptions = subscriptions_by_customer_meter(
        customer_ids={row.customer_id for row in rows}, meter_ids={row.meter_id for row in rows}
    )
    periods = {}
    for row in rows:
        sub = subscriptions.get((row.customer_id, row.meter_id))
        if sub and sub["current_period_start"] and sub["current_period_end"]:
            periods[row.pk] = ((sub["current_period_start"], sub["current_period_end"]), sub["id"])
        else:
            periods[row.pk] = (default, None)
    return periods
