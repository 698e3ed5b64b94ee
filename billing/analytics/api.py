"""``/v1/metrics/``: the organization's metrics over time (Polar's ``metrics.get``), their limits and CSV export,
the user-defined dashboards, and the unit-economics reads (customers ranked, costs per product and meter)."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from billing.analytics import payloads, selectors, services
from billing.analytics.serializers import (
    EconomicsQuery,
    MetricDashboardCreateInput,
    MetricDashboardUpdateInput,
    MetricsQuery,
)
from billing.usage.selectors import check_time_zone
from polar import clock
from polar.api.pagination import PolarPagination
from polar.api.views import PolarAPIView, check_organization_id
from polar.errors import PolarRequestValidationError, ResourceNotFound


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


class MetricsExportApi(PolarAPIView):
    """The periods of ``metrics.get`` as CSV (Polar's ``metrics.export``)."""

    scope = "metrics"

    def perform_content_negotiation(self, request, force=False):
        # Clients ask for ``text/csv``: the CSV bypasses renderers, and errors still render as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(operation_id="metrics:export", responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request):
        query = self.parse_query(MetricsQuery)
        response = payloads.metrics_response(scope=metrics_scope(self, query), slugs=query.get("metrics"))
        csv_response = HttpResponse(payloads.metrics_csv(response), content_type="text/csv")
        csv_response["Content-Disposition"] = 'attachment; filename="polar-metrics.csv"'
        return csv_response


class MetricDashboardListApi(PolarAPIView):
    required_scopes = {"GET": ["metrics:read", "metrics:write"], "POST": ["metrics:write"]}

    @extend_schema(operation_id="metrics:list_dashboards", responses={200: {"type": "array", "items": {"type": "object"}}})
    def get(self, request):
        ids = request.query_params.getlist("organization_id")
        if ids and str(self.organization.id) not in ids:
            return self.respond([])
        dashboards = selectors.metric_dashboard_list(organization=self.organization)
        return self.respond([payloads.metric_dashboard_payload(d) for d in dashboards])

    @extend_schema(
        operation_id="metrics:create_dashboard", request=MetricDashboardCreateInput, responses={201: OpenApiTypes.OBJECT}
    )
    def post(self, request):
        data = self.parse_body(MetricDashboardCreateInput)
        data = dict(data)
        if data.get("organization_id") is not None:
            data["organization_id"] = str(data["organization_id"])
            check_organization_id(self, data)
        dashboard = services.metric_dashboard_create(organization=self.organization, name=data["name"], metrics=data["metrics"])
        return self.respond(payloads.metric_dashboard_payload(dashboard), status=201)


class MetricDashboardDetailApi(PolarAPIView):
    required_scopes = {"GET": ["metrics:read", "metrics:write"], "PATCH": ["metrics:write"], "DELETE": ["metrics:write"]}

    def get_dashboard(self, id):
        dashboard = selectors.metric_dashboard_get(organization=self.organization, id=self.parse_id(id))
        if dashboard is None:
            raise ResourceNotFound()
        return dashboard

    @extend_schema(operation_id="metrics:get_dashboard", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        return self.respond(payloads.metric_dashboard_payload(self.get_dashboard(id)))

    @extend_schema(operation_id="metrics:update_dashboard", request=MetricDashboardUpdateInput, responses=OpenApiTypes.OBJECT)
    def patch(self, request, id):
        dashboard = self.get_dashboard(id)
        data = self.parse_body(MetricDashboardUpdateInput, partial=True)
        dashboard = services.metric_dashboard_update(dashboard=dashboard, name=data.get("name"), metrics=data.get("metrics"))
        return self.respond(payloads.metric_dashboard_payload(dashboard))

    @extend_schema(operation_id="metrics:delete_dashboard", responses={204: None})
    def delete(self, request, id):
        services.metric_dashboard_delete(dashboard=self.get_dashboard(id))
        return self.respond(None, status=204)
