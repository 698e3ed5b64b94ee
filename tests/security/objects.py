"""The rows every endpoint of the API can be called on: one organization seeded with every kind
(tests/factories/world.py), a customer session for the portal, and the path parameters of each operation.

``path_parameters`` names a real row for each path parameter it knows (by the path before it), so that
generated requests reach the rows and not only their 404s; the parameters it does not know are generated.
"""

from __future__ import annotations

import re

from billing.models import (
    BenefitGrant,
    CustomerMeter,
    LicenseKey,
    LicenseKeyActivation,
    MetricDashboard,
    Order,
    Payment,
    PaymentMethod,
    Subscription,
    event_type_id,
)
from billing.portal.sessions import customer_session_create
from customers.models import Customer, Member
from polar.webhooks.models import WebhookEvent
from tests.factories.world import seed_every_kind

# The path before a parameter -> the key of the row it names.
PREFIXES = {
    "/v1/benefits/": "benefit",
    "/v1/checkout-links/": "checkout_link",
    "/v1/checkouts/": "checkout",
    "/v1/checkouts/client/": "client_secret",
    "/v1/custom-fields/": "custom_field",
    "/v1/customer-meters/": "customer_meter",
    "/v1/customers/": "customer",
    "/v1/customers/external/": "external_id",
    "/v1/customers/{id}/members/": "member",
    "/v1/customers/{id}/payment-methods/": "payment_method",
    "/v1/discounts/": "discount",
    "/v1/disputes/": "dispute",
    "/v1/event-types/": "event_type",
    "/v1/events/": "event",
    "/v1/license-keys/": "license_key",
    "/v1/license-keys/{id}/activations/": "activation",
    "/v1/meters/": "meter",
    "/v1/metrics/dashboards/": "dashboard",
    "/v1/orders/": "order",
    "/v1/organizations/": "organization",
    "/v1/payments/": "payment",
    "/v1/payouts/": "payout",
    "/v1/products/": "product",
    "/v1/subscriptions/": "subscription",
    "/v1/webhooks/endpoints/": "endpoint",
    "/v1/webhooks/events/": "webhook_event",
    "/v1/customer-seats/": "seat",
    "/v1/customers/external/{id}/members/": "member_external_id",
    "/v1/customer-portal/benefit-grants/": "portal_grant",
    "/v1/customer-portal/customers/me/payment-methods/": "portal_payment_method",
    "/v1/customer-portal/license-keys/": "portal_license_key",
    "/v1/customer-portal/members/": "member",
    "/v1/customer-portal/meters/": "portal_customer_meter",
    "/v1/customer-portal/orders/": "portal_order",
    "/v1/customer-portal/organizations/": "organization_slug",
    "/v1/customer-portal/subscriptions/": "portal_subscription",
    # A seat of another buyer's subscription: the portal's seat routes answer its buyer only (404 otherwise).
    "/v1/customer-portal/seats/": "seat",
}
# Team routes name the team customer (members live there).
TEAM_PREFIXES = {"/v1/customers/": "team", "/v1/customers/external/": "team_external_id"}


def path_parameters(path: str, ids: dict) -> dict:
    """The parameters of ``path`` (an OpenAPI template) that name a seeded row."""
    values = {}
    for name in re.findall(r"{(\w+)}", path):
        prefix = path.split("{" + name + "}")[0]
        template = re.sub(r"{\w+}", "{id}", prefix)
        key = PREFIXES.get(template)
        if "/members" in path and template in TEAM_PREFIXES:
            key = TEAM_PREFIXES[template]
        if key is not None and ids.get(key) is not None:
            values[name] = str(ids[key])
    return values


def seed_world(api_client, organization, settings, *, n: int = 2) -> dict:
    """Every kind of row for ``organization`` plus a customer session of one of its paying customers;
    returns the ids by ``PREFIXES`` key and ``portal_token``."""
    ids = seed_every_kind(api_client, organization, settings, n=n)
    customer = Customer.objects.get(pk=ids["customer"])
    team = Customer.objects.get(pk=ids["team"])
    _session, portal_token = customer_session_create(customer=customer)
    api_client.post(
        "/v1/license-keys/activate",
        {"key": LicenseKey.objects.get(pk=ids["license_key"]).key, "organization_id": str(organization.id), "label": "fuzz"},
        format="json",
    )
    member = api_client.post(
        f"/v1/customers/{team.id}/members", {"email": "ext-member@example.com", "external_id": "member-ext-1"}, format="json"
    ).json()
    seat = _seat(api_client, organization)
    dashboard = api_client.post("/v1/metrics/dashboards", {"name": "Board", "metrics": []}, format="json").json()
    first = lambda queryset: queryset.order_by("created_at", "id").values_list("id", flat=True).first()  # noqa: E731
    ids.update(
        portal_token=portal_token,
        client_secret=api_client.get(f"/v1/checkouts/{ids['checkout']}").json()["client_secret"],
        team_external_id=team.external_id,
        member=member.get("id") or first(Member.objects.filter(customer=team)),
        member_external_id="member-ext-1",
        seat=seat,
        portal_team_token=customer_session_create(customer=team)[1],
        payment_method=first(PaymentMethod.objects.filter(customer=customer)),
        event_type=event_type_id(organization.id, "api_call"),  # a type the seeded events have
        activation=first(LicenseKeyActivation.objects.filter(license_key_id=ids["license_key"])),
        dashboard=dashboard.get("id") or first(MetricDashboard.objects.filter(organization=organization)),
        organization=organization.id,
        organization_slug=organization.slug,
        payment=first(Payment.objects.filter(organization=organization)),
        webhook_event=first(WebhookEvent.objects.filter(organization=organization)),
        portal_grant=first(BenefitGrant.objects.filter(customer=customer)),
        portal_payment_method=first(PaymentMethod.objects.filter(customer=customer)),
        portal_license_key=first(LicenseKey.objects.filter(customer=customer)),
        portal_customer_meter=first(CustomerMeter.objects.filter(customer=customer)),
        portal_order=first(Order.objects.filter(customer=customer)),
        portal_subscription=first(Subscription.objects.filter(customer=customer)),
    )
    return ids


def _seat(api_client, organization):
    """A seat of a seat-based subscription, assigned through the API."""
    from billing.subscriptions.lifecycle import subscription_create
    from tests.factories.payments import attach_card
    from tests.factories.subscriptions import seat_product

    card = attach_card(organization=organization, email="seats-buyer@example.com")
    subscription = subscription_create(
        organization=organization, customer=card.customer, product=seat_product(organization), payment_method=card, seats=2
    )
    response = api_client.post(
        "/v1/customer-seats", {"subscription_id": str(subscription.id), "email": "seat@example.com"}, format="json"
    )
    return response.json().get("id")
