"""``GET /v1/subscriptions/{id}/upcoming``: the next renewal's order, previewed (nothing is written)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from billing.orders.payloads import OrderOutput, order_item_output
from billing.renewals.preview import renewal_preview
from billing.subscriptions import selectors
from polar.api.views import PolarAPIView
from polar.errors import ResourceNotFound


def upcoming_output(preview) -> dict:
    """The ``Order`` shape as far as it applies to an order not yet written: no invoice number yet,
    ``id`` null, items without ids; ``pricing_inputs`` is added so a client can see what was read."""
    order = preview.order
    data = OrderOutput(order).data
    data["id"] = None
    data["invoice_number"] = None
    data["is_invoice_generated"] = False
    data["receipt_number"] = None
    data["items"] = [{**order_item_output(item), "id": None} for item in preview.items]
    data["period_start"] = order.period_start.isoformat().replace("+00:00", "Z")
    data["period_end"] = order.period_end.isoformat().replace("+00:00", "Z")
    return data


class SubscriptionUpcomingApi(PolarAPIView):
    scope = "subscriptions"

    @extend_schema(operation_id="subscriptions:upcoming", responses=OpenApiTypes.OBJECT)
    def get(self, request, id):
        subscription = selectors.subscription_get(organization=self.organization, id=self.parse_id(id))
        if subscription is None:
            raise ResourceNotFound()
        preview = renewal_preview(subscription=subscription)
        if preview is None:
            raise ResourceNotFound("This subscription has no upcoming renewal.")
        return self.respond(upcoming_output(preview))
