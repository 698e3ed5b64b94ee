"""Reads of the customer portal. The merchant-side read (minting a session) is scoped to the organization;
every read a customer session makes is scoped to its ``customer``, so another customer's rows (and another
organization's) do not exist: their ids answer 404."""

from django.db.models import Q

from billing.benefits import selectors as benefit_selectors
from billing.license_keys import selectors as license_key_selectors
from billing.models import CustomerSession, Product, ProductVisibility
from billing.orders import selectors as order_selectors
from billing.payments import selectors as payment_selectors
from billing.subscriptions import selectors as subscription_selectors
from billing.usage import selectors as usage_selectors
from customers import selectors as customer_selectors
from customers.models import Customer
from polar import clock


def portal_customer_get(*, organization, id=None, external_id: str | None = None):
    """The organization's (not deleted) customer by id or by external id, for minting a session."""
    if id is not None:
        return customer_selectors.customer_get(organization=organization, id=id)
    return customer_selectors.customer_get_by_external_id(organization=organization, external_id=external_id)


# --- the session's own rows ---------------------------------------------------------------------------


def portal_subscription_list(*, customer, product_id=None, active: bool | None = None, query: str | None = None):
    queryset = subscription_selectors.subscription_list(
        organization=customer.organization_id, customer_id=[customer.id], product_id=product_id, active=active
    )
    if query:
        queryset = queryset.filter(product__name__icontains=query)
    return queryset


def portal_subscription_get(*, customer, id):
    return portal_subscription_list(customer=customer).filter(pk=id).first()


def portal_order_list(*, customer, product_id=None, subscription_id=None, product_billing_type=None, query: str | None = None):
    queryset = order_selectors.order_list(
        organization=customer.organization_id,
        customer_id=[customer.id],
        product_id=product_id,
        subscription_id=subscription_id,
        product_billing_type=product_billing_type,
    )
    if query:
        queryset = queryset.filter(Q(product__name__icontains=query) | Q(invoice_number__icontains=query))
    return queryset


def portal_order_get(*, customer, id):
    return portal_order_list(customer=customer).filter(pk=id).first()


def portal_payment_method_list(*, customer):
    return payment_selectors.payment_method_list(organization=customer.organization_id, customer=customer)


def portal_payment_method_get(*, customer, id):
    return payment_selectors.payment_method_get(organization=customer.organization_id, customer=customer, id=id)


def portal_benefit_grant_list(*, customer, type=None, benefit_id=None, order_id=None, subscription_id=None, query=None):
    queryset = benefit_selectors.benefit_grant_list(organization=customer.organization_id, customer=customer)
    if type:
        queryset = queryset.filter(benefit__type__in=type)
    if benefit_id:
        queryset = queryset.filter(benefit_id__in=benefit_id)
    if order_id:
        queryset = queryset.filter(order_id__in=order_id)
    if subscription_id:
        queryset = queryset.filter(subscription_id__in=subscription_id)
    if query:
        queryset = queryset.filter(benefit__description__icontains=query)
    return queryset


def portal_benefit_grant_get(*, customer, id):
    return portal_benefit_grant_list(customer=customer).filter(pk=id).first()


def portal_license_key_list(*, customer, benefit_id=None):
    queryset = license_key_selectors.license_key_list(organization=customer.organization_id, benefit_id=benefit_id)
    return queryset.filter(customer=customer)


def portal_license_key_get(*, customer, id):
    return portal_license_key_list(customer=customer).prefetch_related("activations").filter(pk=id).first()


def portal_customer_meter_list(*, customer, meter_id=None, query: str | None = None, now=None):
    rows = usage_selectors.customer_meter_list(
        organization=customer.organization, customer_ids=[customer.id], meter_ids=meter_id, now=now
    )
    if query:
        rows = [row for row in rows if query.lower() in row.meter.name.lower()]
    return rows


def portal_customer_meter_get(*, customer, id, now=None):
    row = usage_selectors.customer_meter_get(organization=customer.organization, id=id, now=now)
    return row if row is not None and row.customer_id == customer.id else None


def portal_products(*, organization):
    """The products a customer may see of the organization (public, not archived), for the portal's plan
    switcher."""
    return Product.objects.filter(organization=organization, is_archived=False, visibility=ProductVisibility.PUBLIC).order_by(
        "created_at", "id"
    )


def portal_organization_by_slug(*, slug: str):
    """An organization by slug for the public portal landing (Polar's ``customer_portal.organizations.get``):
    what any visitor of the portal may read. A denied organization is not shown."""
    from polar.organizations.models import Organization

    return Organization.objects.filter(slug=slug).exclude(status=Organization.Status.DENIED).first()


# --- the /portal/ pages' sign-in ---------------------------------------------------------------------------


def portal_session_get(*, id):
    """The live customer session ``id`` (the pages keep its id in the Django session): None once expired,
    when its customer is deleted or its organization may not use the API (as ``customer_session_authenticate``)."""
    session = (
        CustomerSession.objects.select_related("customer", "organization")
        .filter(pk=id, expires_at__gt=clock.now(), customer__deleted_at__isnull=True)
        .first()
    )
    if session is None or not session.organization.can_use_api():
        return None
    return session


def portal_session_organization(*, id):
    """The organization of session ``id`` even once expired (the expired page links to its sign-in page)."""
    session = CustomerSession.objects.select_related("organization").filter(pk=id).first()
    return session.organization if session else None


def portal_customer_by_email(*, organization, email: str):
    """The organization's (not deleted) customer with this e-mail address, case-insensitively."""
    return (
        Customer.objects.filter(organization=organization, email__iexact=email, deleted_at__isnull=True)
        .order_by("created_at", "id")
        .first()
    )


def portal_organization_by_id(*, id):
    """An organization named by id in a public license-key call (no credential): a denied one is not found."""
    from polar.organizations.models import Organization

    return Organization.objects.filter(pk=id).exclude(status=Organization.Status.DENIED).first()


def portal_demo_customer(*, organization_slug: str):
    """The demo's customer to open the portal as (``/demo/portal``, development only): one with a past-due
    subscription (the dunning demo) if any, else the newest subscriber of the organization."""
    from billing.models import Subscription

    subscriptions = Subscription.objects.filter(
        organization__slug=organization_slug, customer__deleted_at__isnull=True
    ).select_related("customer")
    subscription = (
        subscriptions.filter(status="past_due").order_by("-created_at", "-id").first()
        or subscriptions.order_by("-created_at", "-id").first()
    )
    return subscription.customer if subscription is not None else None


def portal_member_list(*, customer):
    return customer_selectors.member_list(customer=customer).order_by("created_at", "id")


def portal_member_get(*, customer, id):
    return customer_selectors.member_get(customer=customer, id=id)


def portal_claimed_subscription_list(*, customer, claimed_ids):
    """The organization's subscriptions whose ids are in ``claimed_ids`` (a subquery of the subscriptions in
    which ``customer`` holds a claimed seat; ``billing.seats.selectors.claimed_subscription_ids``)."""
    return subscription_selectors.subscription_list(organization=customer.organization_id).filter(pk__in=claimed_ids)


def portal_customer_for_email_update(*, id):
    """The (not deleted) customer an address-change e-mail is for, with its organization."""
    return Customer.objects.select_related("organization").filter(pk=id, deleted_at__isnull=True).first()
