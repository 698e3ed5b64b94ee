"""Output shape of a checkout link: Polar's ``CheckoutLink`` with its ``CheckoutLinkProduct`` list."""

from django.conf import settings
from rest_framework import serializers

from billing.catalog.payloads import ProductOutput
from billing.discounts.payloads import DiscountOutput
from billing.models import CheckoutLink
from polar.api.formatting import dt, sid


def checkout_link_url(link: CheckoutLink) -> str:
    """The shareable URL: following it opens a fresh checkout (Polar's ``CHECKOUT_BASE_URL``)."""
    base = getattr(settings, "PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return f"{base}/v1/checkout-links/{link.client_secret}/redirect"


def link_products(link: CheckoutLink) -> list:
    return [row.product for row in link.link_products.all()]


class CheckoutLinkOutput(serializers.BaseSerializer):
    def to_representation(self, link: CheckoutLink) -> dict:
        # Polar's ``Discount*Base``: the discount without its products (extra keys are ignored by the SDKs).
        discount = DiscountOutput(link.discount).data if link.discount_id is not None else None
        return {
            "id": str(link.id),
            "created_at": dt(link.created_at),
            "modified_at": dt(link.modified_at),
            "trial_interval": link.trial_interval,
            "trial_interval_count": link.trial_interval_count,
            "metadata": link.metadata or {},
            "payment_processor": link.payment_processor,
            "client_secret": link.client_secret,
            "success_url": link.success_url,
            "return_url": link.return_url,
            "label": link.label,
            "allow_discount_codes": link.allow_discount_codes,
            "require_billing_address": link.require_billing_address,
            "discount_id": sid(link.discount_id),
            "seats": link.seats,
            "units": link.units,
            "organization_id": str(link.organization_id),
            "products": ProductOutput(link_products(link), many=True).data,
            "discount": discount,
            "url": checkout_link_url(link),
        }
