"""``/v1/customer-portal/orders/``: the session's customer's orders, their invoice and receipt links,
the latest payment's status, and a retry of a pending order's payment."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from billing.orders.pages import invoice_signed_path
from billing.orders.serializers import OrderUpdateInput
from billing.orders.services import order_invoice_check, order_update
from billing.portal import selectors, services
from billing.portal.api import PortalAPIView
from billing.portal.payloads import customer_order_output
from billing.portal.serializers import PortalOrderConfirmPaymentInput, PortalOrderListQuery
from polar.api.openapi import error_response
from polar.errors import PolarRequestValidationError


class _OrderApi(PortalAPIView):
    def get_order(self, id):
        return self.not_found(selectors.portal_order_get(customer=self.customer, id=self.parse_id(id)), "Order")


class PortalOrderListApi(_OrderApi):
    sorting_fields = {
        "created_at": "created_at",
        "amount": "total_amount",
        "net_amount": "net_amount",
        "product": "product__name",
        "subscription": "subscription_id",
    }

    @extend_schema(operation_id="customer_portal:orders:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(PortalOrderListQuery)
        rows = selectors.portal_order_list(customer=self.customer, **query).order_by(*self.sorting())
        cache: dict = {}
        return self.paginate_rendered(rows, lambda row: customer_order_output(row, cache=cache))


class PortalOrderDetailApi(_OrderApi):
    @extend_schema(operation_id="customer_portal:orders:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        return self.respond(customer_order_output(self.get_order(id)))

    @extend_schema(operation_id="customer_portal:orders:update", request=OrderUpdateInput, responses=OpenApiTypes.OBJECT)
    def patch(self, request, id):
        """What the invoice shows (billing name and address), through the merchant's ``order_update``
        (the country and state of an address, which decided the tax, stay fixed)."""
        order = self.get_order(id)
        order_update(order=order, **self.parse_body(OrderUpdateInput))
        return self.respond(customer_order_output(self.get_order(id)))


class PortalOrderInvoiceApi(_OrderApi):
    """The invoice page's signed link (as the merchant's ``orders.invoice``): an HTML invoice, valid for
    ``INVOICE_URL_MAX_AGE`` seconds. ``POST`` is Polar's "generate": the page is rendered from the order
    when opened, so it only checks the order can carry one (``order_invoice_check``) and answers 202."""

    @extend_schema(operation_id="customer_portal:orders:invoice", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        return self.respond({"url": request.build_absolute_uri(invoice_signed_path(self.get_order(id)))})

    @extend_schema(operation_id="customer_portal:orders:generate_invoice", request=None, responses={202: None})
    def post(self, request, id):
        order_invoice_check(order=self.get_order(id))
        return _accepted()


def _accepted():
    # Polar answers 202 with a JSON ``null`` body (the SDKs parse the body as JSON).
    return HttpResponse(b"null", status=202, content_type="application/json")


class PortalOrderReceiptApi(_OrderApi):
    """A paid order's receipt: the invoice page, which shows a paid order as paid. As on Polar, an order
    with no receipt yet (not paid) answers 202 with no body."""

    @extend_schema(operation_id="customer_portal:orders:receipt", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        order = self.get_order(id)
        if not order.paid:
            return _accepted()
        return self.respond({"url": request.build_absolute_uri(invoice_signed_path(order))})


class PortalOrderPaymentStatusApi(_OrderApi):
    @extend_schema(operation_id="customer_portal:orders:get_payment_status", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        return self.respond(services.portal_order_payment_status(order=self.get_order(id)))


class PortalOrderConfirmPaymentApi(_OrderApi):
    @extend_schema(
        operation_id="customer_portal:orders:confirm_retry_payment",
        request=PortalOrderConfirmPaymentInput,
        responses={
            200: OpenApiTypes.OBJECT,
            402: error_response("The charge was declined (PaymentFailed, with the decline code)."),
        },
    )
    def post(self, request, id):
        order = self.get_order(id)
        data = self.parse_body(PortalOrderConfirmPaymentInput)
        method = None
        if data.get("payment_method_id"):
            method = selectors.portal_payment_method_get(customer=self.customer, id=data["payment_method_id"])
            if method is None:
                raise PolarRequestValidationError.single(["body", "payment_method_id"], "Payment method does not exist.")
        result = services.portal_order_confirm_payment(
            order=order, payment_method=method, token=data.get("confirmation_token_id")
        )
        return self.respond(result)
