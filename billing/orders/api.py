"""``/v1/orders/``: list, get, update (billing name and address), the invoice and the receipt.

``GET /v1/orders/{id}/invoice`` answers ``{"url": ...}`` (Polar's SDK shape: the invoice lives at a
URL, like Polar's presigned link) pointing at ``/invoices/{order_id}/{signature}``: the HTML invoice
rendered from ``templates/invoices/invoice.html`` by ``billing.orders.pages.invoice_page``, readable without a
token for ``INVOICE_URL_MAX_AGE`` seconds (a signed, expiring link a browser can open). No PDF: no PDF
library is installed. ``POST /v1/orders/{id}/invoice`` answers 202 as Polar does once the order can carry
an invoice (nothing to generate here: the page is rendered from the order when opened).
``GET /v1/orders/{id}/receipt`` is the same signed document for a paid order (its invoice reads "paid").
"""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from billing.models import Product
from billing.orders import drafts, selectors, services
from billing.orders.pages import invoice_signed_path
from billing.orders.payloads import OrderOutput
from billing.orders.serializers import OrderCreateInput, OrderFinalizeInput, OrderListQuery, OrderUpdateInput
from customers.models import Customer
from polar.api.openapi import error_response
from polar.api.views import PolarAPIView, check_organization_id
from polar.errors import PolarRequestValidationError, ResourceNotFound


class OrderListApi(PolarAPIView):
    scope = "orders"
    sorting_fields = {"created_at": "created_at", "amount": "total_amount", "net_amount": "net_amount"}

    @extend_schema(operation_id="orders:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(OrderListQuery)
        queryset = selectors.order_list(organization=self.organization, **query).order_by(*self.sorting())
        return self.paginated(queryset, OrderOutput)

    @extend_schema(operation_id="orders:create", request=OrderCreateInput, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        """A draft order (``billing.orders.drafts``): charged by ``POST /v1/orders/{id}/finalize``."""
        data = self.parse_body(OrderCreateInput)
        check_organization_id(self, data)
        customer = Customer.objects.filter(
            organization=self.organization, pk=data.pop("customer_id"), deleted_at__isnull=True
        ).first()
        if customer is None:
            raise PolarRequestValidationError.single(["body", "customer_id"], "Customer does not exist.")
        product = Product.objects.filter(organization=self.organization, pk=data.pop("product_id")).first()
        if product is None:
            raise PolarRequestValidationError.single(["body", "product_id"], "Product does not exist.")
        data.pop("units", None)
        order = drafts.order_draft_create(organization=self.organization, customer=customer, product=product, **data)
        return self.respond(OrderOutput(selectors.order_get(organization=self.organization, id=order.pk)).data, status=201)


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

    @extend_schema(operation_id="orders:update", request=OrderUpdateInput, responses=OpenApiTypes.OBJECT)
    def patch(self, request, id):
        order = self.get_order(id)
        data = self.parse_body(OrderUpdateInput, partial=True)
        services.order_update(order=order, **data)
        return self.respond(OrderOutput(self.get_order(id)).data)


class OrderInvoiceApi(_OrderMixin, PolarAPIView):
    scope = "orders"

    @extend_schema(operation_id="orders:invoice", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        order = self.get_order(id)
        return self.respond({"url": request.build_absolute_uri(invoice_signed_path(order))})

    @extend_schema(operation_id="orders:generate_invoice", request=None, responses={202: None})
    def post(self, request, id):
        services.order_invoice_check(order=self.get_order(id))
        # Polar answers 202 with a JSON ``null`` body (both SDKs parse the body as JSON).
        return HttpResponse(b"null", status=202, content_type="application/json")


class OrderReceiptApi(_OrderMixin, PolarAPIView):
    scope = "orders"

    @extend_schema(operation_id="orders:receipt", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        order = self.get_order(id)
        if not order.paid:
            raise ResourceNotFound(f"No receipt allocated for order {order.id}.")
        return self.respond({"url": request.build_absolute_uri(invoice_signed_path(order))})


class OrderFinalizeApi(_OrderMixin, PolarAPIView):
    scope = "orders"

    @extend_schema(
        operation_id="orders:finalize",
        request=OrderFinalizeInput,
        responses={
            200: OpenApiTypes.OBJECT,
            402: error_response("The charge was declined (PaymentFailed, with the decline code)."),
            412: error_response("The order is not a draft that can be finalized."),
        },
    )
    def post(self, request, id):
        order = self.get_order(id)
        data = self.parse_body(OrderFinalizeInput)
        drafts.order_finalize(order=order, **data)
        return self.respond(OrderOutput(self.get_order(id)).data)
