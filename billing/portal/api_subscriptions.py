"""``/v1/customer-portal/subscriptions/``: the session's customer's subscriptions, through the same
subscription services as the merchant's API (plan, seat and unit changes, cancel and uncancel)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from billing.portal import selectors, services
from billing.portal.api import PortalAPIView
from billing.portal.payloads import customer_subscription_output
from billing.portal.serializers import (
    PortalSubscriptionCancelInput,
    PortalSubscriptionListQuery,
    PortalSubscriptionUpdateInput,
)
from polar.api.openapi import error_response


class _SubscriptionApi(PortalAPIView):
    def get_subscription(self, id):
        subscription = selectors.portal_subscription_get(customer=self.customer, id=self.parse_id(id))
        return self.not_found(subscription, "Subscription")

    def render(self, subscription):
        # Re-read after a change: the services return the locked row, not the prefetched one.
        return self.respond(customer_subscription_output(self.get_subscription(subscription.pk)))


class PortalSubscriptionListApi(_SubscriptionApi):
    sorting_fields = {
        "started_at": "started_at",
        "amount": "amount",
        "status": "status",
        "organization": "organization_id",
        "product": "product__name",
    }
    default_sorting = ("-started_at",)

    @extend_schema(operation_id="customer_portal:subscriptions:list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = self.parse_query(PortalSubscriptionListQuery)
        rows = selectors.portal_subscription_list(customer=self.customer, **query).order_by(*self.sorting())
        cache: dict = {}
        return self.paginate_rendered(rows, lambda row: customer_subscription_output(row, cache=cache))


class PortalSubscriptionDetailApi(_SubscriptionApi):
    @extend_schema(operation_id="customer_portal:subscriptions:get", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        return self.respond(customer_subscription_output(self.get_subscription(id)))

    @extend_schema(
        operation_id="customer_portal:subscriptions:update",
        request=PortalSubscriptionUpdateInput,
        responses={
            200: OpenApiTypes.OBJECT,
            402: error_response("The charge was declined (PaymentFailed, with the decline code)."),
        },
    )
    def patch(self, request, id):
        subscription = self.get_subscription(id)
        data = self.parse_body(PortalSubscriptionUpdateInput)
        if data["kind"] == "product_id":
            product = selectors.portal_products(organization=self.customer.organization).filter(pk=data["product_id"]).first()
            services.portal_subscription_change_product(subscription=subscription, product=product)
        elif data["kind"] == "seats":
            services.portal_subscription_change_seats(subscription=subscription, seats=data["seats"])
        elif data["kind"] == "units":
            services.portal_subscription_change_units(subscription=subscription, units=data["units"])
        else:
            services.portal_subscription_cancel(
                subscription=subscription,
                cancel_at_period_end=data.get("cancel_at_period_end", True),
                reason=data.get("cancellation_reason"),
                comment=data.get("cancellation_comment"),
            )
        return self.render(subscription)

    # Polar answers a cancel with the subscription (200), not an empty 204.
    @extend_schema(operation_id="customer_portal:subscriptions:cancel", responses={200: OpenApiTypes.OBJECT})
    def delete(self, request, id):
        subscription = self.get_subscription(id)
        data = self.parse_body(PortalSubscriptionCancelInput) if request.body else {}
        services.portal_subscription_cancel(
            subscription=subscription, reason=data.get("cancellation_reason"), comment=data.get("cancellation_comment")
        )
        return self.render(subscription)
