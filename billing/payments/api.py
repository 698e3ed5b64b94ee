"""Payment methods (``/v1/customers/{id}/payment-methods``) and payments (``/v1/payments/``).

Wire notes: ``processor`` is always ``"stripe"`` on the wire because both SDKs accept only that
literal; which processor really holds the charge is in ``processor_metadata.processor``
(``"sandbox"``), beside its charge reference and fee.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from billing.models import Payment, PaymentMethod
from billing.payments import selectors, services
from polar.api.openapi import error_response
from polar.api.views import PolarAPIView
from polar.errors import ResourceNotFound

WIRE_PROCESSOR = "stripe"


# --- output -------------------------------------------------------------------------------------


class PaymentMethodOutput(serializers.Serializer):
    """CustomerPaymentMethodCard (1.0.2) / PaymentMethodCard (0.32.0)."""

    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    modified_at = serializers.DateTimeField(allow_null=True)
    processor = serializers.SerializerMethodField()
    customer_id = serializers.UUIDField()
    type = serializers.CharField()
    method_metadata = serializers.SerializerMethodField()
    is_default = serializers.SerializerMethodField()

    def get_processor(self, obj) -> str:
        return WIRE_PROCESSOR

    def get_method_metadata(self, obj: PaymentMethod) -> dict:
        return {"brand": obj.brand, "last4": obj.last4, "exp_month": obj.exp_month, "exp_year": obj.exp_year, "wallet": None}

    def get_is_default(self, obj: PaymentMethod) -> bool:
        default_id = self.context.get("default_payment_method_id")
        if default_id is None:
            default_id = obj.customer.default_payment_method_id
        return default_id == obj.id


class PaymentOutput(serializers.Serializer):
    """CardPayment."""

    created_at = serializers.DateTimeField()
    modified_at = serializers.DateTimeField(allow_null=True)
    id = serializers.UUIDField()
    processor = serializers.SerializerMethodField()
    status = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    method = serializers.SerializerMethodField()
    trigger = serializers.CharField(allow_null=True)
    decline_reason = serializers.CharField(allow_null=True)
    decline_message = serializers.CharField(allow_null=True)
    organization_id = serializers.UUIDField()
    checkout_id = serializers.UUIDField(allow_null=True)
    order_id = serializers.UUIDField(allow_null=True)
    customer_id = serializers.UUIDField()
    payment_method_id = serializers.UUIDField()
    processor_metadata = serializers.SerializerMethodField()
    method_metadata = serializers.SerializerMethodField()

    def get_processor(self, obj) -> str:
        return WIRE_PROCESSOR

    def get_method(self, obj: Payment) -> str:
        return obj.payment_method.type

    def get_processor_metadata(self, obj: Payment) -> dict:
        return {"processor": obj.processor, "charge_id": obj.processor_charge_ref, "fee": obj.fee}

    def get_method_metadata(self, obj: Payment) -> dict:
        return {"brand": obj.payment_method.brand, "last4": obj.payment_method.last4}


# --- payment methods ----------------------------------------------------------------------------


class PaymentMethodCreateInput(serializers.Serializer):
    token = serializers.CharField(max_length=255)
    set_default = serializers.BooleanField(default=False)


class _CustomerScoped(PolarAPIView):
    scope = "customers"

    def get_customer(self, id):
        customer = selectors.payment_customer_get(organization=self.organization, id=self.parse_id(id))
        if customer is None:
            raise ResourceNotFound("Customer not found")
        return customer


class CustomerPaymentMethodListApi(_CustomerScoped):
    @extend_schema(operation_id="customers:list_payment_methods", responses=PaymentMethodOutput(many=True))
    def get(self, request, id):
        customer = self.get_customer(id)
        queryset = selectors.payment_method_list(organization=self.organization, customer=customer).order_by(*self.sorting())
        return self.paginated(
            queryset, PaymentMethodOutput, context={"default_payment_method_id": customer.default_payment_method_id}
        )

    @extend_schema(
        operation_id="customers:create_payment_method",
        request=PaymentMethodCreateInput,
        responses={
            201: PaymentMethodOutput,
            402: error_response("The card was declined or its token is unknown (decline_code says why)."),
        },
    )
    def post(self, request, id):
        customer = self.get_customer(id)
        data = self.parse_body(PaymentMethodCreateInput)
        method = services.payment_method_attach(customer=customer, token=data["token"], set_default=data["set_default"])
        output = PaymentMethodOutput(method, context={"default_payment_method_id": customer.default_payment_method_id})
        return self.respond(output.data, status=201)


class CustomerExternalPaymentMethodListApi(PolarAPIView):
    scope = "customers"

    @extend_schema(operation_id="customers:list_payment_methods_external", responses=PaymentMethodOutput(many=True))
    def get(self, request, external_id):
        customer = selectors.payment_customer_get_by_external_id(organization=self.organization, external_id=external_id)
        if customer is None:
            raise ResourceNotFound("Customer not found")
        queryset = selectors.payment_method_list(organization=self.organization, customer=customer).order_by(*self.sorting())
        return self.paginated(
            queryset, PaymentMethodOutput, context={"default_payment_method_id": customer.default_payment_method_id}
        )


class CustomerPaymentMethodDetailApi(_CustomerScoped):
    @extend_schema(operation_id="customers:delete_payment_method", responses={204: None})
    def delete(self, request, id, payment_method_id):
        customer = self.get_customer(id)
        method = selectors.payment_method_get(
            organization=self.organization, customer=customer, id=self.parse_id(payment_method_id, "payment_method_id")
        )
        if method is None:
            raise ResourceNotFound("Payment method not found")
        services.payment_method_delete(payment_method=method)
        return self.respond(None, status=204)


# --- payments -----------------------------------------------------------------------------------


class PaymentListQuery(serializers.Serializer):
    organization_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    customer_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    order_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    checkout_id = serializers.ListField(child=serializers.UUIDField(), required=False)
    status = serializers.ListField(child=serializers.ChoiceField(choices=Payment.Status.values), required=False)
    method = serializers.ListField(child=serializers.CharField(), required=False)
    customer_email = serializers.ListField(child=serializers.CharField(), required=False)


class PaymentListApi(PolarAPIView):
    scope = "payments"
    sorting_fields = {"created_at": "created_at", "status": "status", "amount": "amount", "method": "payment_method__type"}

    @extend_schema(operation_id="payments:list", responses=PaymentOutput(many=True))
    def get(self, request):
        query = self.parse_query(PaymentListQuery)
        organization_ids = query.pop("organization_id", None)
        queryset = selectors.payment_list(organization=self.organization, **query)
        if organization_ids and self.organization.id not in organization_ids:
            queryset = queryset.none()
        return self.paginated(queryset.order_by(*self.sorting()), PaymentOutput)


class PaymentDetailApi(PolarAPIView):
    scope = "payments"

    @extend_schema(operation_id="payments:get", responses=PaymentOutput)
    def get(self, request, id):
        payment = selectors.payment_get(organization=self.organization, id=self.parse_id(id))
        if payment is None:
            raise ResourceNotFound("Payment not found")
        return self.respond(PaymentOutput(payment).data)
