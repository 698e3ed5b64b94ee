"""``/v1/checkouts/``: create and get (organization token), and ``client/{client_secret}/confirm``
(no token: the client secret is the buyer's credential, as on Polar)."""

import hashlib

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from billing import api_examples
from billing.checkouts import selectors, services
from billing.checkouts.payloads import CheckoutOutput, CheckoutPublicConfirmedOutput, CheckoutPublicSerializer
from billing.checkouts.serializers import (
    CheckoutConfirmInput,
    CheckoutCreateInput,
    CheckoutListQuery,
    CheckoutUpdateInput,
    CheckoutUpdatePublicInput,
)
from billing.models import Discount
from customers.models import Customer
from polar import clock
from polar.api.openapi import error_response
from polar.api.views import PolarAPIView
from polar.errors import PolarRequestValidationError, ResourceNotFound


class CheckoutListApi(PolarAPIView):
    scope = "checkouts"
    sorting_fields = {"created_at": "created_at", "expires_at": "expires_at", "status": "status"}

    @extend_schema(operation_id="checkouts:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(CheckoutListQuery)
        queryset = selectors.checkout_list(
            organization=self.organization,
            product_ids=query.get("product_id"),
            customer_ids=query.get("customer_id"),
            external_customer_ids=query.get("external_customer_id"),
            statuses=query.get("status"),
            query=query.get("query"),
        )
        if query.get("organization_id") and self.organization.id not in query["organization_id"]:
            queryset = queryset.none()
        return self.paginated(queryset.order_by(*self.sorting()), CheckoutOutput)

    @extend_schema(
        operation_id="checkouts:create",
        request=CheckoutCreateInput,
        examples=api_examples.CHECKOUTS_CREATE,
        responses={201: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        data = self.parse_body(CheckoutCreateInput)
        organization = self.organization
        customer = None
        if data.get("customer_id"):
            customer = Customer.objects.filter(organization=organization, pk=data["customer_id"], deleted_at__isnull=True).first()
            if customer is None:
                raise PolarRequestValidationError.single(["body", "customer_id"], "Customer does not exist.")
        discount = None
        if data.get("discount_code") and not data.get("discount_id"):
            discount = services.discount_by_code(organization=organization, code=data["discount_code"])
        if data.get("discount_id"):
            discount = Discount.objects.filter(organization=organization, pk=data["discount_id"], deleted_at__isnull=True).first()
            if discount is None:
                raise PolarRequestValidationError.single(["body", "discount_id"], "Discount does not exist.")
        checkout = services.checkout_open(
            organization=organization,
            products=data["products"],
            customer=customer,
            discount=discount,
            **{
                key: data.get(key)
                for key in (
                    "external_customer_id",
                    "customer_email",
                    "customer_name",
                    "customer_billing_address",
                    "customer_tax_id",
                    "customer_ip_address",
                    "customer_metadata",
                    "allow_discount_codes",
                    "allow_trial",
                    "trial_interval",
                    "trial_interval_count",
                    "require_billing_address",
                    "is_business_customer",
                    "success_url",
                    "return_url",
                    "embed_origin",
                    "seats",
                    "units",
                    "metadata",
                    "locale",
                    "custom_field_data",
                )
            },
        )
        return self.respond(CheckoutOutput(checkout).data, status=201)


class CheckoutDetailApi(PolarAPIView):
    scope = "checkouts"

    def get_checkout(self, id):
        checkout = selectors.checkout_get(organization=self.organization, id=self.parse_id(id))
        if checkout is None:
            raise ResourceNotFound()
        return checkout

    @extend_schema(operation_id="checkouts:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        return self.respond(CheckoutOutput(self.get_checkout(id)).data)

    @extend_schema(operation_id="checkouts:update", request=CheckoutUpdateInput, responses=OpenApiTypes.OBJECT)
    def patch(self, request, id):
        checkout = self.get_checkout(id)
        data = self.parse_body(CheckoutUpdateInput, context={"checkout": checkout})
        checkout = services.checkout_update(checkout=checkout, **data)
        return self.respond(CheckoutOutput(checkout).data)


class _CheckoutBySecretApi(PolarAPIView):
    """Public views of one checkout, found by its client secret (the buyer's credential). Idempotency-Keys
    live in the checkout's organization, in a namespace of this checkout's own (derived from its client
    secret): a buyer's key never collides with the merchant's keys, nor with another checkout's buyer's."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def idempotency_organization(self):
        checkout = selectors.checkout_get_by_client_secret(client_secret=self.kwargs["client_secret"])
        return checkout.organization if checkout is not None else None

    def idempotency_namespace(self) -> str:
        digest = hashlib.sha256(self.kwargs["client_secret"].encode()).hexdigest()[:64]
        return f"checkout:{digest}"

    def get_checkout(self, client_secret):
        checkout = selectors.checkout_get_by_client_secret(client_secret=client_secret)
        if checkout is None:
            raise ResourceNotFound()
        return checkout


class CheckoutClientApi(_CheckoutBySecretApi):
    """``GET``/``PATCH /v1/checkouts/client/{client_secret}``: the buyer reads and edits the session before
    confirming (Polar's ``CheckoutPublic``). An expired checkout answers 410 ``ExpiredCheckoutError``."""

    @extend_schema(operation_id="checkouts:client_get", responses=OpenApiTypes.OBJECT)
    def get(self, request, client_secret):
        checkout = self.get_checkout(client_secret)
        if checkout.status in ("open", "failed") and clock.now() >= checkout.expires_at:
            raise services.ExpiredCheckoutError("This checkout is expired.")
        return Response(CheckoutPublicSerializer(checkout).data)

    @extend_schema(operation_id="checkouts:client_update", request=CheckoutUpdatePublicInput, responses=OpenApiTypes.OBJECT)
    def patch(self, request, client_secret):
        checkout = self.get_checkout(client_secret)
        data = self.parse_body(CheckoutUpdatePublicInput)
        checkout = services.checkout_update(checkout=checkout, public=True, **data)
        return Response(CheckoutPublicSerializer(checkout).data)


class CheckoutClientConfirmApi(_CheckoutBySecretApi):
    """``POST /v1/checkouts/client/{client_secret}/confirm``: the buyer pays (``services.checkout_confirm``)."""

    @extend_schema(
        operation_id="checkouts:client_confirm",
        request=CheckoutConfirmInput,
        examples=api_examples.CHECKOUTS_CLIENT_CONFIRM,
        responses={
            200: OpenApiTypes.OBJECT,
            402: error_response("The charge was declined (PaymentFailed, with the decline code)."),
        },
    )
    def post(self, request, client_secret):
        checkout = self.get_checkout(client_secret)
        data = self.parse_body(CheckoutConfirmInput)
        checkout = services.checkout_confirm(checkout=checkout, **data)
        return Response(CheckoutPublicConfirmedOutput(checkout).data)
