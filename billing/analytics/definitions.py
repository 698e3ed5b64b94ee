"""Every metric the API serves: its slug, name, type (Polar's MetricType), the SQL source it is read from, and
how the whole range's total is made from the periods. docs/metrics.md defines each one in a sentence and a
formula; tests/billing/analytics/ checks each against a hand-computed world."""

import dataclasses

# How a metric's total over the range is made.
SUM = "sum"  # a flow: the sum of the periods
LAST = "last"  # a stock, or a running figure: the last period's value
RATIO = "ratio"  # recomputed from the totals of the metrics it divides (see payloads.metric_totals)


@dataclasses.dataclass(frozen=True)
class MetricDefinition:
    slug: str
    display_name: str
    type: str  # scalar | currency | currency_sub_cent | percentage
    sources: tuple[str, ...]  # orders | subscriptions | checkouts | events
    total: str


def _m(slug, display_name, type_, sources, total):
    return MetricDefinition(slug, display_name, type_, tuple(sources.split()), total)


METRICS: tuple[MetricDefinition, ...] = (
    # Orders (paid), by the instant they were paid.
    _m("orders", "Orders", "scalar", "orders", SUM),
    _m("revenue", "Revenue", "currency", "orders", SUM),
    _m("net_revenue", "Net Revenue", "currency", "orders", SUM),
    _m("cumulative_revenue", "Cumulative Revenue", "currency", "orders", LAST),
    _m("net_cumulative_revenue", "Net Cumulative Revenue", "currency", "orders", LAST),
    _m("average_order_value", "Average Order Value", "currency", "orders", RATIO),
    _m("net_average_order_value", "Net Average Order Value", "currency", "orders", RATIO),
    _m("one_time_products", "One-Time Products", "scalar", "orders", SUM),
    _m("one_time_products_revenue", "One-Time Products Revenue", "currency", "orders", SUM),
    _m("one_time_products_net_revenue", "One-Time Products Net Revenue", "currency", "orders", SUM),
    _m("new_subscriptions_revenue", "New Subscriptions Revenue", "currency", "orders", SUM),
    _m("new_subscriptions_net_revenue", "New Subscriptions Net Revenue", "currency", "orders", SUM),
    _m("renewed_subscriptions", "Renewed Subscriptions", "scalar", "orders", SUM),
    _m("renewed_subscriptions_revenue", "Renewed Subscriptions Revenue", "currency", "orders", SUM),
    _m("renewed_subscriptions_net_revenue", "Renewed Subscriptions Net Revenue", "currency", "orders", SUM),
    # Subscriptions: stocks at each period's snapshot, and flows.
    _m("active_subscriptions", "Active Subscriptions", "scalar", "subscriptions", LAST),
    _m("committed_subscriptions", "Committed Subscriptions", "scalar", "subscriptions", LAST),
    _m("monthly_recurring_revenue", "Monthly Recurring Revenue", "currency", "subscriptions", LAST),
    _m("committed_monthly_recurring_revenue", "Committed Monthly Recurring Revenue", "currency", "subscriptions", LAST),
    _m("trial_monthly_recurring_revenue", "Trialing MRR Including Cancelations", "currency", "subscriptions", LAST),
    _m("trial_committed_monthly_recurring_revenue", "Trialing Monthly Recurring Revenue", "currency", "subscriptions", LAST),
    _m("annual_recurring_revenue", "Annual Recurring Revenue", "currency", "subscriptions", LAST),
    _m("committed_annual_recurring_revenue", "Committed Annual Recurring Revenue", "currency", "subscriptions", LAST),
    _m("average_revenue_per_user", "Average Revenue Per User", "currency", "subscriptions", LAST),
    _m("new_subscriptions", "New Subscriptions", "scalar", "subscriptions", SUM),
    _m("churned_subscriptions", "Churned Subscriptions", "scalar", "subscriptions", SUM),
    _m("churn_rate", "Churn Rate", "percentage", "subscriptions", RATIO),
    _m("canceled_subscriptions", "Canceled Subscriptions", "scalar", "subscriptions", SUM),
    _m("canceled_subscriptions_customer_service", "Canceled Subscriptions: Customer Service", "scalar", "subscriptions", SUM),
    _m("canceled_subscriptions_low_quality", "Canceled Subscriptions: Low Quality", "scalar", "subscriptions", SUM),
    _m("canceled_subscriptions_missing_features", "Canceled Subscriptions: Missing Features", "scalar", "subscriptions", SUM),
    _m("canceled_subscriptions_switched_service", "Canceled Subscriptions: Switched Service", "scalar", "subscriptions", SUM),
    _m("canceled_subscriptions_too_complex", "Canceled Subscriptions: Too Complex", "scalar", "subscriptions", SUM),
    _m("canceled_subscriptions_too_expensive", "Canceled Subscriptions: Too Expensive", "scalar", "subscriptions", SUM),
    _m("canceled_subscriptions_unused", "Canceled Subscriptions: Unused", "scalar", "subscriptions", SUM),
    _m("canceled_subscriptions_other", "Canceled Subscriptions: Other", "scalar", "subscriptions", SUM),
    # Checkouts, by the instant they were created.
    _m("checkouts", "Checkouts", "scalar", "checkouts", SUM),
    _m("succeeded_checkouts", "Succeeded Checkouts", "scalar", "checkouts", SUM),
    _m("checkouts_conversion", "Checkouts Conversion Rate", "percentage", "checkouts", RATIO),
    # Events: costs and activity.
    _m("costs", "Costs", "currency_sub_cent", "events", SUM),
    _m("cumulative_costs", "Cumulative Costs", "currency_sub_cent", "events", LAST),
    _m("active_user_by_event", "Active Users", "scalar", "events", RATIO),
    _m("cost_per_user", "Cost Per User", "currency_sub_cent", "events", RATIO),
    # Both.
    _m("cashflow", "Cashflow", "currency_sub_cent", "orders events", SUM),
    _m("gross_margin", "Gross Margin", "currency_sub_cent", "orders events", LAST),
    _m("gross_margin_percentage", "Gross Margin %", "percentage", "orders events", LAST),
    # Unit economics beyond Polar's list (the SDKs ignore keys they do not know).
    _m("churned_monthly_recurring_revenue", "Churned MRR", "currency", "retention", SUM),
    _m("revenue_churn_rate", "Revenue Churn Rate", "percentage", "subscriptions retention", RATIO),
    _m("logo_churn_rate", "Logo Churn Rate", "percentage", "subscriptions retention", RATIO),
    _m("net_revenue_retention", "Net Revenue Retention", "percentage", "subscriptions retention", RATIO),
    _m("dunning_orders", "Renewals In Dunning", "scalar", "dunning", SUM),
    _m("dunning_recovered_orders", "Renewals Recovered", "scalar", "dunning", SUM),
    _m("dunning_recovery_rate", "Dunning Recovery Rate", "percentage", "dunning", RATIO),
)

BY_SLUG = {metric.slug: metric for metric in METRICS}
