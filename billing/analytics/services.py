"""Writes of analytics: user-defined metrics dashboards. No money, no webhooks (Polar emits none for them)."""

from django.db import transaction

from billing.analytics.definitions import BY_SLUG
from billing.models import MetricDashboard
from polar import clock
from polar.errors import PolarRequestValidationError


def _check_metrics(metrics, loc) -> list[str]:
    unknown = [slug for slug in metrics if slug not in BY_SLUG]
    if unknown:
        raise PolarRequestValidationError.single(loc, f"Unknown metrics: {', '.join(unknown)}", "value_error")
    return list(dict.fromkeys(metrics))


def metric_dashboard_create(*, organization, name: str, metrics: list[str]) -> MetricDashboard:
    """A dashboard of ``organization``. Validates the slugs (422 naming the unknown ones); takes no lock (a new
    row); an Idempotency-Key on the request makes a retried create return the first answer."""
    metrics = _check_metrics(metrics, ["body", "metrics"])
    return MetricDashboard.objects.create(organization=organization, name=name, metrics=metrics)


def metric_dashboard_update(*, dashboard: MetricDashboard, name=None, metrics=None) -> MetricDashboard:
    """Rename a dashboard or replace its metrics (``None`` keeps a field). Locks the dashboard row."""
    with transaction.atomic():
        dashboard = MetricDashboard.objects.select_for_update().get(pk=dashboard.pk)
        if name is not None:
            dashboard.name = name
        if metrics is not None:
            dashboard.metrics = _check_metrics(metrics, ["body", "metrics"])
        dashboard.modified_at = clock.now()
        dashboard.save(update_fields=["name", "metrics", "modified_at"])
    return dashboard


def metric_dashboard_delete(*, dashboard: MetricDashboard) -> None:
    """Delete a dashboard (a hard delete: nothing refers to it). Deleting it twice is a 404 for the caller."""
    MetricDashboard.objects.filter(pk=dashboard.pk).delete()
