"""The metrics answer in Polar's ``MetricsResponse`` shape: ``periods`` (one a bucket, with its timestamp in the
requested time zone), ``totals`` and ``metrics`` (the definitions). The figures come from the SQL of
``selectors``; here the periods' rows are merged and the ratios of each period are divided (a loop over
buckets, never over orders or events)."""

import csv
import datetime as dt
import io
import zoneinfo
from decimal import Decimal

from billing.analytics import selectors
from billing.analytics.definitions import BY_SLUG, LAST, METRICS, RATIO, SUM

SOURCES = {
    "orders": selectors.order_metrics,
    "subscriptions": selectors.subscription_metrics,
    "checkouts": selectors.checkout_metrics,
    "events": selectors.event_metrics,
    "retention": selectors.retention_metrics,
    "dunning": selectors.dunning_metrics,
}


def _number(value):
    """Counts and cents as int; sub-cent costs and ratios as float (Polar's int | float)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _div(numerator, denominator, *, rounded=False):
    if not denominator:
        return 0
    value = numerator / denominator
    return int(Decimal(value).quantize(Decimal(1), rounding="ROUND_HALF_UP")) if rounded else float(value)


def _derive(row: dict) -> None:
    """The metrics of one period made from its other figures."""
    row["average_order_value"] = _div(row.get("revenue", 0), row.get("orders", 0), rounded=True)
    row["net_average_order_value"] = _div(row.get("net_revenue", 0), row.get("orders", 0), rounded=True)
    mrr = row.get("monthly_recurring_revenue", 0)
    row["annual_recurring_revenue"] = mrr * 12
    row["committed_annual_recurring_revenue"] = row.get("committed_monthly_recurring_revenue", 0) * 12
    row["average_revenue_per_user"] = _div(mrr, row.get("paying_customers", 0), rounded=True)
    row["churn_rate"] = _div(row.get("churned_subscriptions", 0), row.get("active_at_start", 0) + row.get("new_subscriptions", 0))
    row["checkouts_conversion"] = _div(row.get("succeeded_checkouts", 0), row.get("checkouts", 0))
    row["cost_per_user"] = _div(row.get("costs", 0), row.get("active_user_by_event", 0))
    row["cashflow"] = row.get("revenue", 0) - row.get("costs", 0)
    cumulative_revenue = row.get("cumulative_revenue", 0)
    row["gross_margin"] = cumulative_revenue - row.get("cumulative_costs", 0)
    row["gross_margin_percentage"] = _div(row["gross_margin"], cumulative_revenue)
    mrr_at_start = row.get("mrr_at_start", 0)
    row["revenue_churn_rate"] = _div(row.get("churned_monthly_recurring_revenue", 0), mrr_at_start)
    row["net_revenue_retention"] = _div(mrr_at_start + row.get("existing_mrr_change", 0), mrr_at_start)
    row["logo_churn_rate"] = _div(row.get("customers_lost", 0), row.get("paying_at_start", 0) + row.get("customers_gained", 0))
    row["dunning_recovery_rate"] = _div(row.get("dunning_recovered_orders", 0), row.get("dunning_orders", 0))


def _totals(rows: list[dict], slugs: list[str]) -> dict:
    if not rows:
        return {slug: 0 for slug in slugs}
    summed = {key: sum(row.get(key, 0) for row in rows) for key in rows[0]}
    first, last = rows[0], rows[-1]
    ratios = {
        "average_order_value": _div(summed.get("revenue", 0), summed.get("orders", 0), rounded=True),
        "net_average_order_value": _div(summed.get("net_revenue", 0), summed.get("orders", 0), rounded=True),
        "churn_rate": _div(
            summed.get("churned_subscriptions", 0), first.get("active_at_start", 0) + summed.get("new_subscriptions", 0)
        ),
        "checkouts_conversion": _div(summed.get("succeeded_checkouts", 0), summed.get("checkouts", 0)),
        "active_user_by_event": first.get("range_active_users", 0),
        "cost_per_user": _div(summed.get("costs", 0), first.get("range_active_users", 0)),
        "revenue_churn_rate": _div(summed.get("churned_monthly_recurring_revenue", 0), first.get("mrr_at_start", 0)),
        "net_revenue_retention": _div(
            first.get("mrr_at_start", 0) + first.get("range_existing_mrr_change", 0), first.get("mrr_at_start", 0)
        ),
        "logo_churn_rate": _div(
            summed.get("customers_lost", 0), first.get("paying_at_start", 0) + summed.get("customers_gained", 0)
        ),
        "dunning_recovery_rate": _div(summed.get("dunning_recovered_orders", 0), summed.get("dunning_orders", 0)),
    }
    totals = {}
    for slug in slugs:
        how = BY_SLUG[slug].total
        if how == SUM:
            totals[slug] = summed[slug]
        elif how == LAST:
            totals[slug] = last[slug]
        else:
            assert how == RATIO
            totals[slug] = ratios[slug]
    return totals


def metrics_response(*, scope: selectors.MetricsScope, slugs: list[str] | None = None) -> dict:
    """``MetricsResponse`` for ``scope``: only the SQL sources the asked metrics need are run."""
    definitions = [BY_SLUG[slug] for slug in slugs] if slugs else list(METRICS)
    sources = {source for metric in definitions for source in metric.sources}
    buckets = selectors.metric_buckets(scope)
    rows = [{} for _ in buckets]
    if scope.organization_id is not None:
        for source in sorted(sources):
            for row in SOURCES[source](scope):
                rows[row.pop("idx")].update({key: _number(value) for key, value in row.items()})
    for row in rows:
        _derive(row)
    asked = [metric.slug for metric in definitions]
    zone = zoneinfo.ZoneInfo(scope.timezone)
    periods = []
    for bucket, row in zip(buckets, rows):
        period = {"timestamp": bucket["bucket_start"].astimezone(zone).isoformat()}
        period.update({slug: row.get(slug, 0) for slug in asked})
        periods.append(period)
    filled = [{slug: row.get(slug, 0) for slug in asked} | _ratio_inputs(row) for row in rows]
    return {
        "periods": periods,
        "totals": _totals(filled, asked),
        "metrics": {
            metric.slug: {"slug": metric.slug, "display_name": metric.display_name, "type": metric.type} for metric in definitions
        },
    }


def _ratio_inputs(row: dict) -> dict:
    keys = (
        "revenue",
        "net_revenue",
        "orders",
        "churned_subscriptions",
        "new_subscriptions",
        "active_at_start",
        "succeeded_checkouts",
        "checkouts",
        "costs",
        "range_active_users",
        "churned_monthly_recurring_revenue",
        "mrr_at_start",
        "range_existing_mrr_change",
        "customers_lost",
        "customers_gained",
        "paying_at_start",
        "dunning_recovered_orders",
        "dunning_orders",
    )
    return {key: row.get(key, 0) for key in keys}


def metrics_limits(*, min_date: dt.date, limits: dict) -> dict:
    """``MetricsLimits``: the earliest date and, per interval, the shortest and longest range in days."""
    return {
        "min_date": min_date.isoformat(),
        "intervals": {name: {"min_days": low, "max_days": high} for name, (low, high) in limits.items()},
    }


def customer_economics(row: dict) -> dict:
    """One customer of the ranking: revenue (before tax), net of refunds, costs, margin and its share."""
    net_revenue, margin = _number(row["net_revenue"]), _number(row["margin"])
    return {
        "customer_id": str(row["customer_id"]),
        "external_customer_id": row["external_id"],
        "email": row["email"],
        "name": row["name"],
        "orders": row["orders"],
        "revenue": _number(row["revenue"]),
        "net_revenue": net_revenue,
        "costs": _number(row["costs"]),
        "margin": margin,
        "margin_percentage": _div(margin, net_revenue),
    }


def costs_breakdown(*, scope: selectors.MetricsScope) -> dict:
    """``{"products": [...], "meters": [...]}``: revenue, costs and margin per product; costs per meter."""
    if scope.organization_id is None:
        return {"products": [], "meters": []}
    products = [
        {
            "product_id": str(row["product_id"]),
            "name": row["name"],
            "orders": row["orders"],
            "revenue": _number(row["revenue"]),
            "net_revenue": _number(row["net_revenue"]),
            "costs": _number(row["costs"]),
            "margin": _number(row["margin"]),
            "margin_percentage": _div(_number(row["margin"]), _number(row["net_revenue"])),
        }
        for row in selectors.product_economics(scope)
    ]
    meters = [
        {"meter_id": str(row["meter_id"]), "name": row["name"], "events": row["events"], "costs": _number(row["costs"])}
        for row in selectors.meter_costs(scope)
    ]
    return {"products": products, "meters": meters}


def metric_dashboard_payload(dashboard) -> dict:
    """Polar's ``MetricDashboardSchema``."""
    return {
        "id": str(dashboard.id),
        "created_at": dashboard.created_at.isoformat(),
        "modified_at": dashboard.modified_at.isoformat() if dashboard.modified_at else None,
        "name": dashboard.name,
        "metrics": list(dashboard.metrics),
        "organization_id": str(dashboard.organization_id),
    }


def metrics_csv(response: dict) -> str:
    """The periods of a ``MetricsResponse`` as CSV: a ``timestamp`` column, then one column per metric."""
    slugs = list(response["metrics"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["timestamp", *slugs])
    for period in response["periods"]:
        writer.writerow([period["timestamp"], *(period[slug] for slug in slugs)])
    return out.getvalue()
