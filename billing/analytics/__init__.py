"""Analytics: the metrics API (Polar's ``/v1/metrics/``), computed in SQL from orders, subscriptions,
checkouts and events. See docs/metrics.md."""
