"""``/v1/orders/``: list, get, and the invoice.

``GET /v1/orders/{id}/invoice`` answers ``{"url": ...}`` (Polar's SDK shape: the invoice lives at a
URL, like Polar's presigned link) pointing at ``/invoices/{order_id}/{signature}``: the HTML invoice
rendered from ``templates/invoices/invoice.html`` by ``billing.orders.pages.invoice_page``, readable without a
token for ``INVOICE_URL_MAX_AGE`` seconds (a signed, expiring link a browser can open). No PDF: no PDF
library is installed.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from billing.orders import selectors
from billing.orders.pages import invoice_signed_path
from billing.orders.payloads import OrderOutput
from billing.orders.serializers import OrderListQuery
from polar.api.views import PolarAPIView
from polar.errors import ResourceNotFound


class OrderListApi(PolarAPIView):
    scope = "orders"
    sorting_fields = {"created_at": "created_at", "amount": "total_amount", "net_amount": "net_amount"}

    @extend_schema(operation_id="orders:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(OrderListQuery)
        queryset = selectors.order_list(organization=self.organization, **query).order_by(*self.sorting())
        return self.paginated(queryset, OrderOutput)


class _OrderMixin:
    def get_order(self, id):
        order = selectors.order_get(organization=self.organization, id=self.parse_id(id))
        if order is None:
            raise ResourceNotFound()
        return order


class OrderDetailApi(_OrderMixin, PolarAPIView):
    scope = "orders"

    @extend_schema(operation_id="orders:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        return self.respond(OrderOutput(self.get_order(id)).data)


class OrderInvoiceApi(_OrderMixin, PolarAPIView):
    scope = "orders"

    @extend_schema(operation_id="orders:invoice", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        order = self.get_order(id)
        return self.respond({"url": request.build_absolute_uri(invoice_signed_path(order))})
