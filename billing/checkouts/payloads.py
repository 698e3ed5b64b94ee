"""Output shapes of checkouts: what the API returns and webhooks carry, computed from loaded rows."""

import copy
import datetime as dt_module

from django.conf import settings
from rest_framework import serializers

from billing.catalog.payloads import (
    ProductOutput,
    ProductPriceOutput,
    product_active_prices,
)
from billing.custom_fields.payloads import attached_custom_fields_output
from billing.discounts.payloads import DiscountOutput
from billing.models import Checkout, Product, ProductPrice
from billing.orders.payloads import address_output
from billing.pricing import next_period_end
from polar import clock
from polar.api.formatting import dt, sid


def checkout_url(checkout: Checkout) -> str:
    base = getattr(settings, "PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return f"{base}/checkout/{checkout.client_secret}"


CHECKOUT_ID_PLACEHOLDER = "{CHECKOUT_ID}"


def checkout_success_url(checkout: Checkout) -> str:
    """Where the buyer goes after paying: the merchant's ``success_url`` with Polar's ``{CHECKOUT_ID}``
    placeholder replaced by the checkout's id, or our confirmation page."""
    if checkout.success_url:
        return checkout.success_url.replace(CHECKOUT_ID_PLACEHOLDER, str(checkout.id))
    return checkout_url(checkout) + "/confirmation"


def checkout_trial_end(checkout: Checkout, product: Product, now) -> dt_module.datetime | None:
    """When the trial of ``product`` bought through ``checkout`` now would end (None: no trial)."""
    if not checkout.allow_trial or not product.is_recurring:
        return None
    interval = checkout.trial_interval or product.trial_interval
    count = checkout.trial_interval_count or product.trial_interval_count
    if not interval or not count:
        return None
    return next_period_end(now, interval, count)


BILLING_ADDRESS_FIELDS = {
    "country": "required",
    "state": "optional",
    "city": "optional",
    "postal_code": "optional",
    "line1": "optional",
    "line2": "optional",
}


def _checkout_product(product) -> dict:
    data = ProductOutput(product).data
    # CheckoutProduct carries the public benefit shape; the full benefit has the same required keys.
    return data


def _checkout_discount(discount) -> dict | None:
    if discount is None:
        return None
    data = DiscountOutput(discount).data
    keys = ("id", "name", "code", "type", "duration", "duration_in_months", "basis_points", "amount", "currency", "amounts")
    return {key: data[key] for key in keys if key in data}


class CheckoutOutput(serializers.BaseSerializer):
    def to_representation(self, checkout: Checkout) -> dict:
        links = getattr(checkout, "product_links", None)  # prefetched by the selectors
        if links is None:
            links = checkout.checkout_products.select_related("product").order_by("order")
        products = [link.product for link in links]
        product = checkout.product
        # The selected product is one of the offered ones: each product is rendered once, and a second use
        # gets a copy (version changes rewrite the response in place, object by object).
        products_rendered: dict = {}

        def rendered(item):
            if item.pk not in products_rendered:
                products_rendered[item.pk] = _checkout_product(item)
                return products_rendered[item.pk]
            return copy.deepcopy(products_rendered[item.pk])

        price = checkout.product_price
        now = clock.now()
        trial_end = (
            checkout_trial_end(checkout, product, now) if product is not None and checkout.status in ("open", "failed") else None
        )
        if checkout.subscription_id and checkout.subscription.trial_end:
            trial_end = checkout.subscription.trial_end
        is_free = price is not None and price.amount_type == ProductPrice.AmountType.FIXED and not price.price_amount
        payment_required = checkout.total_amount > 0 and trial_end is None
        setup_required = product is not None and product.is_recurring and not is_free
        seat_bounds = {}
        if price is not None and price.amount_type == ProductPrice.AmountType.SEAT_BASED:
            seat_bounds = {"seats": checkout.seats, "min_seats": price.minimum_seats}
            if price.maximum_seats is not None:
                seat_bounds["max_seats"] = price.maximum_seats
        unit_bounds = {"units": None, "min_units": None, "max_units": None}
        if price is not None and price.amount_type == ProductPrice.AmountType.UNIT_BASED:
            unit_bounds = {"units": checkout.units, "min_units": price.minimum_units, "max_units": price.maximum_units}
        data = {
            "id": str(checkout.id),
            "created_at": dt(checkout.created_at),
            "modified_at": dt(checkout.modified_at),
            "payment_processor": "stripe",
            # Expiry is a matter of time, not a write: an open checkout past expires_at reads as expired.
            "status": "expired" if checkout.status in ("open", "failed") and now >= checkout.expires_at else checkout.status,
            "client_secret": checkout.client_secret,
            "url": checkout_url(checkout),
            "expires_at": dt(checkout.expires_at),
            "success_url": checkout_success_url(checkout),
            "return_url": checkout.return_url,
            "embed_origin": checkout.embed_origin,
            "amount": checkout.amount,
            "discount_amount": checkout.discount_amount,
            "net_amount": checkout.net_amount,
            "tax_amount": checkout.tax_amount,
            "tax_behavior": "exclusive",
            "total_amount": checkout.total_amount,
            "currency": checkout.currency,
            "allow_trial": checkout.allow_trial,
            "active_trial_interval": (checkout.trial_interval or getattr(product, "trial_interval", None)) if trial_end else None,
            "active_trial_interval_count": (checkout.trial_interval_count or getattr(product, "trial_interval_count", None))
            if trial_end
            else None,
            "trial_end": dt(trial_end),
            "organization_id": str(checkout.organization_id),
            "product_id": sid(checkout.product_id),
            "product_price_id": sid(checkout.product_price_id),
            "discount_id": sid(checkout.discount_id),
            "allow_discount_codes": checkout.allow_discount_codes,
            "require_billing_address": checkout.require_billing_address,
            "is_discount_applicable": True,
            "is_free_product_price": is_free,
            "is_payment_required": payment_required,
            "is_payment_setup_required": setup_required,
            "is_payment_form_required": payment_required or setup_required,
            "customer_id": sid(checkout.customer_id),
            "is_business_customer": checkout.is_business_customer,
            "customer_name": checkout.customer_name,
            "customer_email": checkout.customer_email,
            "customer_ip_address": checkout.customer_ip_address,
            "customer_billing_name": checkout.customer_billing_name,
            "customer_billing_address": address_output(checkout.customer_billing_address),
            "customer_tax_id": checkout.customer_tax_id,
            "payment_processor_metadata": {},
            "billing_address_fields": BILLING_ADDRESS_FIELDS,
            "trial_interval": checkout.trial_interval,
            "trial_interval_count": checkout.trial_interval_count,
            "metadata": checkout.metadata or {},
            "external_customer_id": checkout.external_customer_id,
            "products": [rendered(p) for p in products],
            "product": rendered(product) if product is not None else None,
            "product_price": ProductPriceOutput(price).data if price is not None else None,
            "prices": {str(p.id): ProductPriceOutput(product_active_prices(p), many=True).data for p in products},
            "discount": _checkout_discount(checkout.discount),
            "subscription_id": sid(checkout.subscription_id),
            # The questions of the selected product, and the answers given so far.
            "attached_custom_fields": attached_custom_fields_output(product) if product is not None else [],
            "custom_field_data": checkout.custom_field_data or {},
            "customer_metadata": checkout.customer_metadata or {},
            **unit_bounds,
            "payment_method_type": "card",
            **seat_bounds,
        }
        if checkout.locale:
            data["locale"] = checkout.locale
        return data


# Polar's ``CheckoutPublic`` / ``CheckoutPublicConfirmed``: what a buyer holding the client secret may see.
# An allowlist, so that a key added to the merchant's view is never published by accident: the merchant's
# ``metadata``, ``customer_metadata``, ``external_customer_id``, ``subscription_id`` and the checkout's trial
# overrides (``trial_interval``, ``trial_interval_count``) stay private.
CHECKOUT_PUBLIC_FIELDS = (
    "id",
    "created_at",
    "modified_at",
    "payment_processor",
    "status",
    "client_secret",
    "url",
    "expires_at",
    "success_url",
    "return_url",
    "embed_origin",
    "amount",
    "seats",
    "min_seats",
    "max_seats",
    "units",
    "min_units",
    "max_units",
    "discount_amount",
    "net_amount",
    "tax_amount",
    "tax_behavior",
    "total_amount",
    "currency",
    "allow_trial",
    "active_trial_interval",
    "active_trial_interval_count",
    "trial_end",
    "organization_id",
    "product_id",
    "product_price_id",
    "discount_id",
    "allow_discount_codes",
    "require_billing_address",
    "is_discount_applicable",
    "is_free_product_price",
    "is_payment_required",
    "is_payment_setup_required",
    "is_payment_form_required",
    "customer_id",
    "is_business_customer",
    "customer_name",
    "customer_email",
    "customer_ip_address",
    "customer_billing_name",
    "customer_billing_address",
    "customer_tax_id",
    "locale",
    "payment_method_type",
    "payment_processor_metadata",
    "billing_address_fields",
    "products",
    "product",
    "product_price",
    "prices",
    "discount",
    "organization",
    "attached_custom_fields",
    "custom_field_data",
    "customer_session_token",
)


def _checkout_organization(organization) -> dict:
    return {
        "id": str(organization.id),
        "created_at": dt(organization.created_at),
        "modified_at": dt(getattr(organization, "modified_at", None)),
        "name": organization.name,
        "slug": organization.slug,
        "avatar_url": None,
        "proration_behavior": getattr(organization, "proration_behavior", "prorate"),
        "allow_customer_updates": getattr(organization, "allow_customer_updates", True),
    }


class CheckoutPublicSerializer(serializers.BaseSerializer):
    """Polar's ``CheckoutPublic``: the checkout as its buyer sees it (only ``CHECKOUT_PUBLIC_FIELDS``)."""

    def to_representation(self, checkout: Checkout) -> dict:
        data = CheckoutOutput(checkout).data
        data["organization"] = _checkout_organization(checkout.organization)
        data["customer_session_token"] = None
        return {key: data[key] for key in CHECKOUT_PUBLIC_FIELDS if key in data}


class CheckoutPublicConfirmedOutput(CheckoutPublicSerializer):
    """What ``client_confirm`` answers: Polar's ``CheckoutPublicConfirmed``. Polar reports ``confirmed``
    here (payment accepted); the merchant view (``GET /v1/checkouts/{id}``) shows ``succeeded`` once the
    order and subscription exist, which with the synchronous sandbox is already the case."""

    def to_representation(self, checkout: Checkout) -> dict:
        data = super().to_representation(checkout)
        data["status"] = "confirmed"
        return data
