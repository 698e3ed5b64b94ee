"""``GET /v1/customers/export``, ``/v1/orders/export``, ``/v1/subscriptions/export``: CSV files streamed
row by row (``StreamingHttpResponse`` over a chunked server-side cursor), scoped to the token's
organization. Asking for another organization's id exports nothing (as a list filter would)."""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from billing.exports import payloads, selectors
from billing.exports.serializers import CustomerExportQuery, OrderExportQuery, SubscriptionExportQuery
from polar.api.views import PolarAPIView


def _csv_response(lines, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class _ExportApi(PolarAPIView):
    def perform_content_negotiation(self, request, force=False):
        # Clients ask for ``text/csv``: the CSV bypasses renderers, and errors still render as JSON.
        return super().perform_content_negotiation(request, force=True)

    def other_organization(self, query) -> bool:
        ids = query.pop("organization_id", None)
        return bool(ids) and self.organization.id not in ids


class CustomerExportApi(_ExportApi):
    scope = "customers"

    @extend_schema(operation_id="customers:export", responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request):
        query = self.parse_query(CustomerExportQuery)
        rows = () if self.other_organization(query) else selectors.customers_for_export(organization=self.organization)
        lines = payloads.csv_rows(payloads.CUSTOMER_HEADER, (payloads.customer_row(c) for c in rows))
        return _csv_response(lines, "polar-customers.csv")


class OrderExportApi(_ExportApi):
    scope = "orders"

    @extend_schema(operation_id="orders:export", responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request):
        query = self.parse_query(OrderExportQuery)
        tz, columns = query.pop("timezone"), query.pop("columns", None) or payloads.ORDER_DEFAULT_COLUMNS
        name = payloads.filename("polar-orders", query.get("created_after"), query.get("created_before"), tz)
        rows = () if self.other_organization(query) else selectors.orders_for_export(organization=self.organization, **query)
        lines = payloads.csv_rows(
            [payloads.ORDER_HEADERS[c] for c in columns],
            ([row[c] for c in columns] for row in (payloads.order_row(order, tz) for order in rows)),
        )
        return _csv_response(lines, name)


class SubscriptionExportApi(_ExportApi):
    scope = "subscriptions"

    @extend_schema(operation_id="subscriptions:export", responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request):
        query = self.parse_query(SubscriptionExportQuery)
        tz, columns = query.pop("timezone"), query.pop("columns", None) or payloads.SUBSCRIPTION_DEFAULT_COLUMNS
        name = payloads.filename("polar-subscriptions", query.get("started_after"), query.get("started_before"), tz)
        rows = (
            () if self.other_organization(query) else selectors.subscriptions_for_export(organization=self.organization, **query)
        )
        lines = payloads.csv_rows(
            [payloads.SUBSCRIPTION_HEADERS[c] for c in columns],
            ([row[c] for c in columns] for row in (payloads.subscription_row(s, tz) for s in rows)),
        )
        return _csv_response(lines, name)
