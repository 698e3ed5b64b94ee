"""The merchant's side of dunning.

- ``POST /v1/orders/{id}/retry-payment`` (``orders:write``): one extra attempt of a past-due order now
  (``dunning_retry_order``; the schedule keeps its slots). Neither polar-sdk 0.32 nor 1.0.2 has a
  merchant operation for it (the customer portal's ``confirm_retry_payment`` is the customer's), so the
  path follows Polar's style; documented in docs/billing.md. Answers 200 with the order, its attempts and
  its dunning state (``status: paid`` when the charge worked; a decline is the last attempt's
  ``decline_reason``); an order that cannot be retried (paid, void, not in dunning, a charge in flight)
  is 422 ``OrderNotEligibleForRetry``, the error Polar's SDK knows.
- ``GET /v1/orders/{id}/payment-attempts`` (``orders:read``): every charge tried for the order with its
  decline code, and the dunning state.
Another organization's order is a 404. ``Idempotency-Key`` is honoured (PolarAPIView).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from billing.dunning import selectors, services
from billing.dunning.payloads import dunning_state_output, payment_attempts_output
from billing.models import DunningAttemptKind
from billing.orders.payloads import OrderOutput
from billing.orders.selectors import order_get as order_get_full
from polar.api.views import PolarAPIView
from polar.errors import ResourceNotFound


def _attempts_and_state(order) -> dict:
    case = selectors.dunning_case_for_order(organization=order.organization, order_id=order.id)
    return {
        "payment_attempts": payment_attempts_output(
            payments=selectors.order_payments(order=order), attempts=selectors.order_dunning_attempts(order=order)
        ),
        "dunning": dunning_state_output(case) if case is not None else None,
    }


class _OrderMixin:
    def get_order(self, id):
        order = selectors.order_get(organization=self.organization, id=self.parse_id(id))
        if order is None:
            raise ResourceNotFound()
        return order


class OrderRetryPaymentApi(_OrderMixin, PolarAPIView):
    scope = "orders"

    @extend_schema(operation_id="orders:retry_payment", request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, id):
        order = self.get_order(id)
        services.dunning_retry_order(order=order, kind=DunningAttemptKind.MERCHANT)
        fresh = order_get_full(organization=self.organization, id=order.id)
        return self.respond({**OrderOutput(fresh).data, **_attempts_and_state(fresh)})


class OrderPaymentAttemptsApi(_OrderMixin, PolarAPIView):
    scope = "orders"

    @extend_schema(operation_id="orders:payment_attempts", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        return self.respond(_attempts_and_state(self.get_order(id)))
