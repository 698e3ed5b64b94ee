"""``POST /v1/customer-sessions/`` (the merchant mints a customer session) and the base of the
customer-portal views (``/v1/customer-portal/``), which a customer session token authenticates.

Every portal view reads through ``billing.portal.selectors`` scoped to the session's customer: another
customer's ids answer 404 as if they did not exist."""

import hashlib

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from billing.portal import selectors
from billing.portal.authentication import CustomerSessionAuthentication, IsCustomerSession
from billing.portal.payloads import customer_session_output
from billing.portal.serializers import CustomerSessionCreateInput
from billing.portal.sessions import customer_session_create
from polar.api.formatting import dt
from polar.api.views import PolarAPIView
from polar.audit import customer_session_actor
from polar.errors import PolarRequestValidationError


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
