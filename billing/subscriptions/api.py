"""``/v1/subscriptions/``: thin views over billing.subscriptions.services and billing.subscriptions.selectors."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from billing import api_examples
from billing.models import Discount, PaymentMethod, Product
from billing.subscriptions import changes, lifecycle, selectors
from billing.subscriptions.payloads import SubscriptionOutput
from billing.subscriptions.serializers import (
    SubscriptionCreateInput,
    SubscriptionListQuery,
    SubscriptionUpdateInput,
)
from customers.models import Customer
from polar.api.openapi import error_response
from polar.api.views import PolarAPIView
from polar.errors import PolarRequestValidationError, ResourceNotFound


def _find(model, organization, id, field, **filters):
    """A row of the organization by id, or a 422 on ``field`` (a foreign id looks the same as an unknown one)."""
    if id is None:
        return None
    row = model.objects.filter(organization=organization, pk=id, **filters).first()
    if row is None:
        raise PolarRequestValidationError.single(["body", field], f"{model.__name__} does not exist.")
    return row


class SubscriptionListApi(PolarAPIView):
    scope = "subscriptions"
    sorting_fields = {
        "created_at": "created_at",
        "started_at": "started_at",
        "current_period_end": "current_period_end",
        "status": "status",
        "amount": "amount",
    }

    @extend_schema(operation_id="subscriptions:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(SubscriptionListQuery)
        queryset = selectors.subscription_list(organization=self.organization, **query).order_by(*self.sorting())
        return self.paginated(queryset, SubscriptionOutput)

    @extend_schema(
        operation_id="subscriptions:create",
        request=SubscriptionCreateInput,
        examples=api_examples.SUBSCRIPTIONS_CREATE,
        responses={
            201: OpenApiTypes.OBJECT,
            402: error_response("The charge was declined (PaymentFailed, with the decline code)."),
        },
    )
    def post(self, request):
        data = self.parse_body(SubscriptionCreateInput)
        organization = self.organization
        if data.get("customer_id"):
            customer = _find(Customer, organization, data["customer_id"], "customer_id", deleted_at__isnull=True)
        else:
            customer = Customer.objects.filter(
                organization=organization, external_id=data["external_customer_id"], deleted_at__isnull=True
            ).first()
            if customer is None:
                raise PolarRequestValidationError.single(["body", "external_customer_id"], "Customer does not exist.")
        subscription = lifecycle.subscription_create(
            organization=organization,
            customer=customer,
            product=_find(Product, organization, data["product_id"], "product_id"),
            payment_method=_find(PaymentMethod, organization, data.get("payment_method_id"), "payment_method_id"),
            discount=_find(Discount, organization, data.get("discount_id"), "discount_id", deleted_at__isnull=True),
            seats=data.get("seats"),
            units=data.get("units"),
            trial_end=data.get("trial_end"),
            metadata=data.get("metadata"),
        )
        return self.respond(
            SubscriptionOutput(selectors.subscription_get(organization=organization, id=subscription.pk)).data, status=201
        )


class SubscriptionDetailApi(PolarAPIView):
    scope = "subscriptions"

    def get_subscription(self, id):
        subscription = selectors.subscription_get(organization=self.organization, id=self.parse_id(id))
        if subscription is None:
            raise ResourceNotFound()
        return subscription

    def render(self, id):
        return self.respond(SubscriptionOutput(self.get_subscription(id)).data)

    @extend_schema(operation_id="subscriptions:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        return self.render(id)

    @extend_schema(
        operation_id="subscriptions:update",
        request=SubscriptionUpdateInput,
        examples=api_examples.SUBSCRIPTIONS_UPDATE,
        responses={
            200: OpenApiTypes.OBJECT,
            402: error_response("The charge was declined (PaymentFailed, with the decline code)."),
        },
    )
    def patch(self, request, id):
        subscription = self.get_subscription(id)
        data = self.parse_body(SubscriptionUpdateInput)
        kind = data["kind"]
        reason = {
            "customer_cancellation_reason": data.get("customer_cancellation_reason"),
            "customer_cancellation_comment": data.get("customer_cancellation_comment"),
        }
        if kind == "cancel_at_period_end":
            if data["cancel_at_period_end"]:
                lifecycle.subscription_cancel(subscription=subscription, **reason)
            else:
                lifecycle.subscription_uncancel(subscription=subscription)
        elif kind == "revoke":
            lifecycle.subscription_revoke(subscription=subscription, **reason)
        elif kind == "product_id":
            product = _find(Product, self.organization, data["product_id"], "product_id")
            changes.subscription_change_product(
                subscription=subscription,
                product=product,
                proration_behavior=data.get("proration_behavior") or self.organization.proration_behavior,
            )
        elif kind == "seats":
            changes.subscription_change_seats(
                subscription=subscription,
                seats=data["seats"],
                proration_behavior=data.get("proration_behavior") or self.organization.proration_behavior,
            )
        elif kind == "units":
            changes.subscription_change_units(
                subscription=subscription,
                units=data["units"],
                proration_behavior=data.get("proration_behavior") or self.organization.proration_behavior,
            )
        elif kind == "discount_id":
            discount = _find(Discount, self.organization, data["discount_id"], "discount_id", deleted_at__isnull=True)
            changes.subscription_change_discount(subscription=subscription, discount=discount)
        elif kind == "pending_update":
            changes.subscription_clear_pending_update(subscription=subscription)
        return self.render(id)

    # Polar answers a revoke with the revoked subscription (200), not an empty 204.
    @extend_schema(operation_id="subscriptions:revoke", responses={200: OpenApiTypes.OBJECT})
    def delete(self, request, id):
        lifecycle.subscription_revoke(subscription=self.get_subscription(id))
        return self.render(id)
