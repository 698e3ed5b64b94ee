"""``/v1/metrics/``: the organization's metrics over time (Polar's ``metrics.get``) and their limits."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from billing.analytics import payloads, selectors
from billing.analytics.serializers import MetricsQuery
from billing.usage.selectors import check_time_zone
from polar import clock
from polar.api.views import PolarAPIView


def metrics_scope(view, query) -> selectors.MetricsScope:
    """The scope a query reads: the caller's organization (another organization's id reads nothing)."""
    organization = view.organization
    timezone = check_time_zone(query["timezone"], ["query", "timezone"])
    range_start, range_end = selectors.bucket_range(
        start_date=query["start_date"], end_date=query["end_date"], unit=query["interval"], timezone=timezone
    )
    others_only = bool(query.get("organization_id")) and organization.id not in query["organization_id"]
    billing_types = set(query.get("billing_type") or ())
    return selectors.MetricsScope(
        organization_id=None if others_only else organization.id,
        currency=organization.default_presentment_currency.lower(),
        timezone=timezone,
        unit=query["interval"],
        range_start=range_start,
        range_end=range_end,
        now=clock.now(),
        product_ids=query.get("product_id") or None,
        customer_ids=query.get("customer_id") or None,
        billing_type=billing_types.pop() if len(billing_types) == 1 else None,
    )


class MetricsApi(PolarAPIView):
    scope = "metrics"

    @extend_schema(operation_id="metrics:get", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(MetricsQuery)
        return self.respond(payloads.metrics_response(scope=metrics_scope(self, query), slugs=query.get("metrics")))


class MetricsLimitsApi(PolarAPIView):
    scope = "metrics"

    @extend_schema(operation_id="metrics:limits", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        min_date = self.organization.created_at.date()
        return self.respond(payloads.metrics_limits(min_date=min_date, limits=selectors.INTERVAL_LIMITS))
