"""Reading dunning state, scoped to an organization; the recovery rate for the analytics issue."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from billing.models import DunningAttempt, DunningCase, DunningCaseStatus, Order, OrderItem, Payment

# Declines that retrying on a schedule will not fix (the card is gone or refused for good): dunning skips
# to one final attempt at the deadline, in case the customer replaces the card by then.
HARD_DECLINE_CODES = frozenset(
    {
        "lost_card",
        "stolen_card",
        "pickup_card",
        "restricted_card",
        "fraudulent",
        "invalid_account",
        "card_not_supported",
        "incorrect_number",
        "invalid_token",
    }
)


def order_is_usage_only(order: Order) -> bool:
    """A bill of metered usage only (the final usage of an ended subscription, a metered-only plan):
    dunning retries it and then voids it, without touching the subscription."""
    items = list(OrderItem.objects.filter(order=order).select_related("product_price"))
    return bool(items) and all(item.product_price is not None and item.product_price.is_metered for item in items)


def dunning_case_for_order(*, organization, order_id) -> DunningCase | None:
    return DunningCase.objects.filter(organization=organization, order_id=order_id).first()


def order_payments(*, order: Order) -> list[Payment]:
    """Every charge tried for ``order``, oldest first (each a Payment with its decline code)."""
    return list(Payment.objects.filter(order=order).order_by("created_at", "idempotency_key"))


def order_dunning_attempts(*, order: Order) -> list[DunningAttempt]:
    return list(DunningAttempt.objects.filter(order=order).order_by("created_at", "id"))


def order_get(*, organization, id) -> Order | None:
    """An order of the organization (another tenant's id finds nothing: 404)."""
    return Order.objects.filter(organization=organization, pk=id).first()


def subscription_dunning_cases(*, subscription_ids) -> dict:
    """The latest case of each subscription (open ones first), with their attempt counts, by subscription id."""
    cases = (
        DunningCase.objects.filter(subscription_id__in=list(subscription_ids))
        .annotate(attempts_made=Count("attempts", filter=Q(attempts__status__in=["succeeded", "failed"])))
        .order_by("subscription_id", "-created_at")
    )
    found = {}
    for case in cases:
        current = found.get(case.subscription_id)
        if current is None or (case.is_open and not current.is_open):
            found[case.subscription_id] = case
    return found


def dunning_attempts(*, case: DunningCase) -> list[DunningAttempt]:
    return list(case.attempts.select_related("payment").order_by("created_at", "id"))


def dunning_recovery_rate_by_month(
    *, organization, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> list[dict]:
    """Per calendar month (UTC) of the first failure: cases opened, recovered, exhausted, still open,
    the amount at risk and recovered (minor units, per currency) and ``recovery_rate`` = recovered /
    (cases that have ended or recovered), a float in [0, 1] or None when none has an outcome yet.

    For the analytics issue: ``[{"month": date, "currency": "usd", "cases": 3, "recovered": 2, ...}]``."""
    cases = DunningCase.objects.filter(organization=organization)
    if start is not None:
        cases = cases.filter(started_at__gte=start)
    if end is not None:
        cases = cases.filter(started_at__lt=end)
    rows = (
        cases.annotate(month=TruncMonth("started_at", tzinfo=dt.UTC))
        .values("month", "order__currency")
        .annotate(
            cases=Count("id"),
            recovered=Count("id", filter=Q(status=DunningCaseStatus.RECOVERED)),
            exhausted=Count("id", filter=Q(status=DunningCaseStatus.EXHAUSTED)),
            closed=Count("id", filter=Q(status=DunningCaseStatus.CLOSED)),
            open=Count("id", filter=Q(status=DunningCaseStatus.OPEN)),
        )
        .order_by("month", "order__currency")
    )
    amounts = {}
    for month, currency, status, due in cases.annotate(month=TruncMonth("started_at", tzinfo=dt.UTC)).values_list(
        "month", "order__currency", "status", "order__due_amount"
    ):
        entry = amounts.setdefault((month, currency), {"at_risk": 0, "recovered": 0})
        entry["at_risk"] += due
        if status == DunningCaseStatus.RECOVERED:
            entry["recovered"] += due
    result = []
    for row in rows:
        decided = row["recovered"] + row["exhausted"] + row["closed"]
        key = (row["month"], row["order__currency"])
        result.append(
            {
                "month": row["month"].date(),
                "currency": row["order__currency"],
                "cases": row["cases"],
                "recovered": row["recovered"],
                "exhausted": row["exhausted"],
                "closed": row["closed"],
                "open": row["open"],
                "amount_at_risk": amounts[key]["at_risk"],
                "amount_recovered": amounts[key]["recovered"],
                "recovery_rate": (row["recovered"] / decided) if decided else None,
            }
        )
    return result
