"""``POST /v1/customer-sessions/`` (the merchant mints a customer session) and the base of the
customer-portal views (``/v1/customer-portal/``), which a customer session token authenticates.

Every portal view reads through ``billing.portal.selectors`` scoped to the session's customer: another
customer's ids answer 404 as if they did not exist."""

import hashlib

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny

from billing.payments.api import PaymentMethodOutput
from billing.portal import email_update, selectors, services
from billing.portal.authentication import CustomerSessionAuthentication, IsCustomerSession
from billing.portal.payloads import customer_session_output, portal_customer_output
from billing.portal.serializers import (
    CustomerSessionCreateInput,
    PortalCustomerUpdateInput,
    PortalEmailUpdateRequestInput,
    PortalEmailUpdateVerifyInput,
    PortalPaymentMethodConfirmInput,
    PortalPaymentMethodCreateInput,
)
from billing.portal.sessions import customer_session_create
from polar.api.formatting import dt
from polar.api.openapi import error_response
from polar.api.pagination import PolarPagination
from polar.api.views import PolarAPIView
from polar.audit import customer_session_actor
from polar.errors import PolarRequestValidationError, ResourceNotFound


class CustomerSessionCreateApi(PolarAPIView):
    scope = "customer_sessions"

    @extend_schema(operation_id="customer-sessions:create", request=CustomerSessionCreateInput, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = self.parse_body(CustomerSessionCreateInput)
        if "customer_id" in data:
            field, value = "customer_id", data["customer_id"]
            customer = selectors.portal_customer_get(organization=self.organization, id=value)
        else:
            field, value = "external_customer_id", data["external_customer_id"]
            customer = selectors.portal_customer_get(organization=self.organization, external_id=value)
        if customer is None:
            raise PolarRequestValidationError(
                [{"loc": ["body", field], "msg": "Customer does not exist.", "type": "value_error"}]
            )
        session, token = customer_session_create(customer=customer, return_url=data.get("return_url"))
        return self.respond(customer_session_output(session, token=token), status=201)


class PortalAPIView(PolarAPIView):
    """A customer-portal view: the caller is ``self.customer``, through ``self.customer_session``.
    Idempotency-Keys live in the organization, in a namespace of the customer's own, so a customer can
    neither use up nor read the merchant's keys or another customer's."""

    authentication_classes = [CustomerSessionAuthentication]
    permission_classes = [IsCustomerSession]

    @property
    def customer_session(self):
        return self.request.user.session

    @property
    def customer(self):
        return self.request.user.customer

    def idempotency_namespace(self) -> str:
        digest = hashlib.sha256(str(self.customer.pk).encode()).hexdigest()[:40]
        return f"portal:{digest}"

    def audit_actor(self, request):
        return customer_session_actor(session=request.auth, remote_addr=request.META.get("REMOTE_ADDR"))

    def paginate_rendered(self, rows, render):
        """One page of ``rows`` (a queryset or a computed list), each rendered by ``render``."""
        paginator = PolarPagination()
        page = paginator.paginate_queryset(rows, self.request, view=self)
        return paginator.get_paginated_response([render(row) for row in page])

    def not_found(self, row, what: str):
        if row is None:
            raise ResourceNotFound(f"{what} not found.")
        return row


class CustomerSessionIntrospectApi(PortalAPIView):
    @extend_schema(operation_id="customer_portal:customer_session:introspect", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        session = self.customer_session
        return self.respond({"expires_at": dt(session.expires_at), "return_url": session.return_url})


class CustomerSessionUserApi(PortalAPIView):
    @extend_schema(operation_id="customer_portal:customer_session:get_authenticated_user", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        customer = self.customer
        return self.respond(
            {
                "type": "customer",
                "name": customer.name,
                "email": customer.email or "",
                "customer_id": str(customer.id),
                "member_id": None,
                "role": None,
            }
        )


# --- the customer and their payment methods -----------------------------------------------------------


class PortalCustomerMeApi(PortalAPIView):
    @extend_schema(operation_id="customer_portal:customers:get", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return self.respond(portal_customer_output(self.customer))

    @extend_schema(
        operation_id="customer_portal:customers:update", request=PortalCustomerUpdateInput, responses=OpenApiTypes.OBJECT
    )
    def patch(self, request):
        data = self.parse_body(PortalCustomerUpdateInput, partial=True)
        customer = services.portal_customer_update(customer=self.customer, changes_=data)
        return self.respond(portal_customer_output(customer))


def _payment_method_output(method, customer) -> dict:
    return PaymentMethodOutput(method, context={"default_payment_method_id": customer.default_payment_method_id}).data


class PortalPaymentMethodListApi(PortalAPIView):
    @extend_schema(operation_id="customer_portal:customers:list_payment_methods", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        customer = self.customer
        rows = selectors.portal_payment_method_list(customer=customer).order_by(*self.sorting())
        return self.paginate_rendered(rows, lambda method: _payment_method_output(method, customer))

    @extend_schema(
        operation_id="customer_portal:customers:add_payment_method",
        request=PortalPaymentMethodCreateInput,
        responses={
            201: OpenApiTypes.OBJECT,
            402: error_response("The card was declined or its token is unknown (decline_code says why)."),
        },
    )
    def post(self, request):
        data = self.parse_body(PortalPaymentMethodCreateInput)
        method = services.portal_payment_method_add(
            customer=self.customer, token=data["confirmation_token_id"], set_default=data["set_default"]
        )
        return self.respond({"status": "succeeded", "payment_method": _payment_method_output(method, self.customer)}, status=201)


class PortalPaymentMethodConfirmApi(PortalAPIView):
    @extend_schema(
        operation_id="customer_portal:customers:confirm_payment_method",
        request=PortalPaymentMethodConfirmInput,
        responses={
            201: OpenApiTypes.OBJECT,
            402: error_response("The card was declined or its token is unknown (decline_code says why)."),
        },
    )
    def post(self, request):
        data = self.parse_body(PortalPaymentMethodConfirmInput)
        method = services.portal_payment_method_add(
            customer=self.customer, token=data["setup_intent_id"], set_default=data["set_default"]
        )
        return self.respond({"status": "succeeded", "payment_method": _payment_method_output(method, self.customer)}, status=201)


class PortalPaymentMethodDetailApi(PortalAPIView):
    @extend_schema(operation_id="customer_portal:customers:delete_payment_method", responses={204: None})
    def delete(self, request, id):
        method = selectors.portal_payment_method_get(customer=self.customer, id=self.parse_id(id))
        services.portal_payment_method_delete(payment_method=self.not_found(method, "Payment method"))
        return self.respond(None, status=204)


# --- the customer's e-mail address change (billing.portal.email_update) ---------------------------------


class PortalEmailUpdateRequestApi(PortalAPIView):
    @extend_schema(
        operation_id="customer_portal:customers:request_email_update",
        request=PortalEmailUpdateRequestInput,
        responses={202: None},
    )
    def post(self, request):
        data = self.parse_body(PortalEmailUpdateRequestInput)
        email_update.email_update_request(customer=self.customer, email=data["email"])
        # Polar answers 202 with a JSON null whether or not a mail went out (the throttle says nothing).
        return HttpResponse(b"null", status=202, content_type="application/json")


class _EmailUpdateTokenApi(PolarAPIView):
    """The check and the verify take no credential: the token from the e-mail proves the inbox."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


class PortalEmailUpdateCheckApi(_EmailUpdateTokenApi):
    def idempotency_organization(self):
        return None  # a read

    @extend_schema(
        operation_id="customer_portal:customers:check_email_update",
        responses={204: None, 401: error_response("Invalid or expired verification token.")},
    )
    def get(self, request):
        token = request.query_params.get("token") or ""
        if email_update.email_update_customer(token) is None:
            raise email_update.InvalidCustomerEmailUpdate()
        return self.respond(None, status=204)


class PortalEmailUpdateVerifyApi(_EmailUpdateTokenApi):
    def _token(self) -> str:
        data = self.request.data
        token = data.get("token") if isinstance(data, dict) else None
        return token if isinstance(token, str) else ""

    def idempotency_organization(self):
        # Keys live in the token's organization, in a namespace of this token: a retry of a verify that
        # succeeded replays its answer (the token itself no longer matches once the address changed).
        return email_update.email_update_organization(self._token())

    def idempotency_namespace(self) -> str:
        return "email-update:" + hashlib.sha256(self._token().encode()).hexdigest()[:64]

    @extend_schema(
        operation_id="customer_portal:customers:verify_email_update",
        request=PortalEmailUpdateVerifyInput,
        responses={200: OpenApiTypes.OBJECT, 401: error_response("Invalid or expired verification token.")},
    )
    def post(self, request):
        data = self.parse_body(PortalEmailUpdateVerifyInput)
        _customer, session_token = email_update.email_update_verify(token=data["token"])
        return self.respond({"token": session_token})
