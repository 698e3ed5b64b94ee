"""Output shapes of the customer portal: Polar's ``CustomerSession`` and the customer-facing resources
(``CustomerPortalCustomer``, ``CustomerSubscription``, ``CustomerOrder``, ``CustomerBenefitGrant``...).

They reuse the merchant shapes and leave out what is the merchant's own: the ``metadata`` of orders,
subscriptions, products and benefits, platform fees, and the embedded merchant-side customer."""

from billing.benefits.payloads import BenefitGrantOutput
from billing.catalog.payloads import ProductOutput
from billing.license_keys.payloads import LicenseKeyOutput, LicenseKeyWithActivationsOutput
from billing.orders.payloads import OrderOutput, address_output, order_subscription_output
from billing.portal.sessions import customer_portal_url
from billing.subscriptions.payloads import SubscriptionOutput
from customers.payloads import CustomerOutput
from polar.api.formatting import dt, sid

_MERCHANT_ONLY = (
    "metadata",
    "customer",
    "platform_fee_amount",
    "platform_fee_currency",
    "attached_custom_fields",
    "is_deletable",
)


def _without_merchant_fields(data: dict) -> dict:
    return {key: value for key, value in data.items() if key not in _MERCHANT_ONLY}


def customer_session_output(session, *, token: str) -> dict:
    """Polar's ``CustomerSession``: the raw token is part of it, so it is only ever rendered at creation."""
    return {
        "id": str(session.id),
        "created_at": dt(session.created_at),
        "modified_at": dt(session.modified_at),
        "token": token,
        "expires_at": dt(session.expires_at),
        "return_url": session.return_url,
        "customer_portal_url": customer_portal_url(token=token),
        "customer_id": str(session.customer_id),
        "customer": CustomerOutput(session.customer).data,
    }


def portal_customer_output(customer) -> dict:
    """Polar's ``CustomerPortalCustomer``."""
    return {
        "id": str(customer.id),
        "created_at": dt(customer.created_at),
        "modified_at": dt(customer.modified_at),
        "email": customer.email,
        "email_verified": customer.email_verified,
        "name": customer.name,
        "billing_name": customer.billing_name or customer.name,
        "billing_address": address_output(customer.billing_address),
        "tax_id": customer.tax_id,
        "oauth_accounts": {},
        "default_payment_method_id": sid(customer.default_payment_method_id),
        "type": customer.type,
        "locale": customer.locale,
    }


def customer_organization_output(organization) -> dict:
    """Polar's ``CustomerOrganization``: what a customer may know of the merchant."""
    return {
        "id": str(organization.id),
        "created_at": dt(organization.created_at),
        "modified_at": dt(organization.modified_at),
        "name": organization.name,
        "slug": organization.slug,
        "avatar_url": None,
        "proration_behavior": organization.proration_behavior,
        "allow_customer_updates": organization.allow_customer_updates,
        "customer_portal_settings": {
            "usage": {"show": True},
            "subscription": {"update_seats": True, "update_plan": organization.allow_customer_updates},
            "customer": {"allow_email_change": True},  # billing.portal.email_update
        },
        "organization_features": {"member_model_enabled": False, "checkout_localization_enabled": False},
    }


def customer_product_output(product) -> dict:
    """Polar's ``CustomerProduct`` (prices and public benefits, no metadata)."""
    data = _without_merchant_fields(ProductOutput(product).data)
    data["benefits"] = [_without_merchant_fields(benefit) for benefit in data["benefits"]]
    return data


def _product_with_organization(product, organization, cache: dict) -> dict:
    if product.pk not in cache:
        data = customer_product_output(product)
        data["organization"] = customer_organization_output(organization)
        cache[product.pk] = data
    return cache[product.pk]


def customer_subscription_output(subscription, *, cache: dict | None = None) -> dict:
    """Polar's ``CustomerSubscription``."""
    cache = {} if cache is None else cache
    data = _without_merchant_fields(SubscriptionOutput(subscription).data)
    data.pop("discount", None)
    data["product"] = _product_with_organization(subscription.product, subscription.customer.organization, cache)
    return data


def customer_order_output(order, *, cache: dict | None = None) -> dict:
    """Polar's ``CustomerOrder``."""
    cache = {} if cache is None else cache
    data = _without_merchant_fields(OrderOutput(order).data)
    data.pop("discount", None)
    data["product"] = _product_with_organization(order.product, order.customer.organization, cache) if order.product_id else None
    data["subscription"] = order_subscription_output(order.subscription) if order.subscription_id else None
    if data["subscription"] is not None:
        data["subscription"].pop("metadata", None)
    return data


def customer_benefit_grant_output(grant) -> dict:
    """Polar's ``CustomerBenefitGrant`` (one per benefit type): the benefit as its subscriber sees it,
    with the organization, and the customer in the portal's shape."""
    data = BenefitGrantOutput(grant).data
    data.pop("member", None)
    data.pop("previous_properties", None)
    data["customer"] = portal_customer_output(grant.customer)
    benefit = _without_merchant_fields(data["benefit"])
    organization = customer_organization_output(grant.benefit.organization)
    benefit["organization"] = {key: organization[key] for key in _SUBSCRIBER_ORGANIZATION_FIELDS}
    data["benefit"] = benefit
    return data


_SUBSCRIBER_ORGANIZATION_FIELDS = (
    "id",
    "created_at",
    "modified_at",
    "name",
    "slug",
    "avatar_url",
    "proration_behavior",
    "allow_customer_updates",
)


def customer_license_key_output(key, *, activations: bool = False) -> dict:
    """Polar's ``LicenseKeyRead`` / ``LicenseKeyWithActivations`` for the key's own customer."""
    return (LicenseKeyWithActivationsOutput if activations else LicenseKeyOutput)(key).data


def customer_meter_output(row) -> dict:
    """Polar's ``CustomerCustomerMeter``."""
    units = row.units
    return {
        "id": str(row.id),
        "created_at": dt(row.created_at),
        "modified_at": dt(row.modified_at),
        "customer_id": str(row.customer_id),
        "meter_id": str(row.meter_id),
        "consumed_units": float(units.consumed),
        "credited_units": int(units.credited),
        "balance": float(units.balance),
        # Extra keys, as on /v1/customer-meters/: the running amount of the period so far, in minor units.
        "amount": getattr(row, "amount", None),
        "currency": getattr(row, "currency", None),
        "meter": {
            "id": str(row.meter.id),
            "created_at": dt(row.meter.created_at),
            "modified_at": dt(row.meter.modified_at),
            "name": row.meter.name,
        },
    }


def customer_portal_member_output(member) -> dict:
    """Polar's ``CustomerPortalMember``."""
    return {
        "id": str(member.id),
        "created_at": dt(member.created_at),
        "modified_at": dt(member.modified_at),
        "email": member.email,
        "name": member.name,
        "role": member.role,
    }
