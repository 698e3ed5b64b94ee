"""``/v1/metrics/``: the organization's metrics over time (Polar's ``metrics.get``) and their limits."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from billing.analytics import payloads, selectors
from billing.analytics.serializers import EconomicsQuery, MetricsQuery
from billing.usage.selectors import check_time_zone
from polar import clock
from polar.api.pagination import PolarPagination
from polar.api.views import PolarAPIView
from polar.errors import PolarRequestValidationError


def metrics_scope(view, query) -> selectors.MetricsScope:
    """The scope a query reads: the caller's organization (another organization's id reads nothing)."""
    organization = view.organization
    timezone = check_time_zone(query["timezone"], ["query", "timezone"])
    unit = query.get("interval", "day")
    range_start, range_end = selectors.bucket_range(
        start_date=query["start_date"], end_date=query["end_date"], unit=unit, timezone=timezone
    )
    others_only = bool(query.get("organization_id")) and organization.id not in query["organization_id"]
    billing_types = set(query.get("billing_type") or ())
    return selectors.MetricsScope(
        organization_id=None if others_only else organization.id,
        currency=organization.default_presentment_currency.lower(),
        timezone=timezone,
        unit=unit,
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


class _Ranking:
    """A ranking query as PolarPagination expects a queryset: ``count()`` and one slice, one SQL statement."""

    def __init__(self, scope, sorting):
        self.scope, self.sorting, self.total = scope, sorting, None

    def count(self):
        if self.total is None:
            _rows, self.total = selectors.customer_ranking(self.scope, sorting=self.sorting, limit=1, offset=0)
        return self.total

    def __getitem__(self, page: slice):
        rows, self.total = selectors.customer_ranking(
            self.scope, sorting=self.sorting, limit=page.stop - page.start, offset=page.start
        )
        return rows


class MetricsCustomersApi(PolarAPIView):
    """Customers ranked by revenue, costs or margin over a range (unit economics; not a Polar operation)."""

    scope = "metrics"

    @extend_schema(operation_id="metrics:customers", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(EconomicsQuery)
        sorting = request.query_params.get("sorting", "-margin")
        if sorting.lstrip("-") not in selectors.economics_sql.CUSTOMER_SORTING:
            raise PolarRequestValidationError.single(
                ["query", "sorting"],
                f"Input should be one of {', '.join(sorted(selectors.economics_sql.CUSTOMER_SORTING))}, optionally prefixed with '-'",
                "enum",
            )
        paginator = PolarPagination()
        rows = paginator.paginate_queryset(_Ranking(metrics_scope(self, query), sorting), request, view=self)
        return paginator.get_paginated_response([payloads.customer_economics(row) for row in rows])


class MetricsCostsApi(PolarAPIView):
    """Revenue, costs and margin per product, and costs per meter, over a range (unit economics)."""

    scope = "metrics"

    @extend_schema(operation_id="metrics:costs", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(EconomicsQuery)
        return self.respond(payloads.costs_breakdown(scope=metrics_scope(self, query)))
