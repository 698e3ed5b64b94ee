"""Billing as code: every order can be recomputed from the ``PricingInput`` it stored.

``orders_verify`` is what ``manage.py billing_verify`` runs. It reads only.
"""

from __future__ import annotations

from billing.models import Order
from billing.pricing import PricingInput, price


def order_mismatches(order: Order) -> list[str]:
    """What differs between ``order`` (and its items, in position order) and a fresh pricing of its inputs."""
    where = f"order {order.id} ({order.invoice_number})"
    try:
        result = price(PricingInput.from_dict(order.pricing_inputs))
    except (ValueError, KeyError, TypeError) as exc:
        return [f"{where}: stored inputs cannot be priced: {exc}"]
    problems = []
    for name, expected in (
        ("currency", result.currency),
        ("subtotal_amount", result.subtotal_amount),
        ("discount_amount", result.discount_amount),
        ("net_amount", result.net_amount),
        ("tax_amount", result.tax_amount),
        ("total_amount", result.total_amount),
    ):
        actual = getattr(order, name)
        if actual != expected:
            problems.append(f"{where}: {name} is {actual}, recomputed {expected}")
    expected_due = max(result.total_amount - order.applied_balance_amount, 0)
    if order.due_amount != expected_due:
        problems.append(f"{where}: due_amount is {order.due_amount}, recomputed {expected_due}")
    items = list(order.items.order_by("position", "created_at"))
    if len(items) != len(result.lines):
        problems.append(f"{where}: {len(items)} items stored, {len(result.lines)} recomputed")
    for index, (item, line) in enumerate(zip(items, result.lines)):
        for name, actual, expected in (
            ("label", item.label, line.label[:512]),
            ("amount", item.amount, line.amount),
            ("discount_amount", item.discount_amount, line.discount_amount),
            ("tax_amount", item.tax_amount, line.tax_amount),
            ("product_price_id", str(item.product_price_id), line.price_id),
            ("period_start", item.period_start, line.period_start),
            ("period_end", item.period_end, line.period_end),
        ):
            if actual != expected:
                problems.append(f"{where} item {index}: {name} is {actual}, recomputed {expected}")
    return problems


def orders_verify(*, organization_slug: str | None = None, chunk_size: int = 500) -> tuple[int, list[str]]:
    """Recompute every order (of one organization when ``organization_slug`` is given).
    Returns ``(orders checked, mismatch descriptions)``."""
    queryset = Order.objects.order_by("created_at", "id").prefetch_related("items")
    if organization_slug:
        queryset = queryset.filter(organization__slug=organization_slug)
    checked, problems = 0, []
    for order in queryset.iterator(chunk_size=chunk_size):
        checked += 1
        problems += order_mismatches(order)
    return checked, problems
