"""Output shapes of discounts: what the API returns and webhooks carry, computed from loaded rows."""

from rest_framework import serializers

from billing.catalog.payloads import DiscountProductOutput
from billing.models import Discount
from polar.api.formatting import dt


def _amounts(discount: Discount) -> dict[str, int]:
    return {row.currency: row.amount for row in discount.amounts.all()}


class DiscountOutput(serializers.BaseSerializer):
    def to_representation(self, discount: Discount) -> dict:
        data = {
            "id": str(discount.id),
            "created_at": dt(discount.created_at),
            "modified_at": dt(discount.modified_at),
            "name": discount.name,
            "type": discount.type,
            "duration": discount.duration,
            "code": discount.code,
            "starts_at": dt(discount.starts_at),
            "ends_at": dt(discount.ends_at),
            "max_redemptions": discount.max_redemptions,
            "max_redemptions_per_customer": discount.max_redemptions_per_customer,
            "redemptions_count": discount.redemptions_count,
            "organization_id": str(discount.organization_id),
            "metadata": discount.metadata or {},
            "products": [DiscountProductOutput(link.product).data for link in discount.discount_products.all()],
        }
        # Only the repeating variants carry duration_in_months (it tells the SDK unions apart).
        if discount.duration == Discount.Duration.REPEATING:
            data["duration_in_months"] = discount.duration_in_months
        if discount.type == Discount.Type.PERCENTAGE:
            data["basis_points"] = discount.basis_points
        else:
            amounts = _amounts(discount)
            # The legacy single amount: USD when there is one, else the first currency.
            currency = "usd" if "usd" in amounts else next(iter(amounts), "usd")
            data["amount"] = amounts.get(currency, 0)
            data["currency"] = currency
            data["amounts"] = amounts
        return data
