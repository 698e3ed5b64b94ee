"""Two merchants, each with one row in every admin list (acme = ``organization``, globex =
``other_organization``), and staff members of each role on acme, for the back-office permission matrix."""

import dataclasses
import datetime as dt

import pytest
from django.test import Client

from billing.checkouts.services import checkout_create
from billing.disputes.services import dispute_open
from billing.models import ApprovalKind, ApprovalRequest, Payment
from billing.refunds.services import refund_create
from billing.subscriptions.lifecycle import subscription_create
from billing.usage.services import events_ingest
from payouts.models import LedgerEntry, LedgerTransaction
from payouts.postings import HOLDING_PERIOD, payments_release_due
from payouts.services import payout_create
from polar import clock
from polar.webhooks.models import WebhookDelivery, WebhookEvent
from polar.webhooks.services import webhook_endpoint_create
from tests.factories.payments import attach_card
from tests.factories.staff import make_staff, make_superuser
from tests.factories.subscriptions import monthly_product
from tests.payouts.conftest import bank_account

ROLES = ("support", "risk", "finance")


@dataclasses.dataclass
class Merchant:
    """One row of each admin list, by admin (``app_label.model``)."""

    organization: object
    rows: dict


def build_merchant(organization, requester) -> Merchant:
    endpoint = webhook_endpoint_create(organization=organization, url="http://127.0.0.1:9/hook", events=["order.paid"])
    product = monthly_product(organization, name="Pro", amount=5000)
    card = attach_card(organization=organization, email=f"buyer@{organization.slug}.example", external_id="buyer-1")
    subscription = subscription_create(organization=organization, customer=card.customer, product=product, payment_method=card)
    order = subscription.orders.get()
    payment = Payment.objects.get(order=order)
    refund = refund_create(organization=organization, order_id=order.pk, amount=100, reason="customer_request")
    dispute = dispute_open(
        payment=payment, processor_dispute_ref=f"dp_{organization.slug}", amount=500, reason="fraudulent", opened_at=clock.now()
    )
    bank_account(organization)
    payments_release_due(now=clock.now() + HOLDING_PERIOD + dt.timedelta(seconds=1))
    payout = payout_create(organization=organization)
    checkout = checkout_create(organization=organization, products=[product.pk])
    events_ingest(organization=organization, events=[{"name": "api_call", "external_customer_id": "buyer-1"}])
    from billing.models import Event

    event = Event.objects.filter(organization=organization).get()
    webhook_event = WebhookEvent.objects.filter(organization=organization).order_by("created_at").first()
    delivery = WebhookDelivery.objects.create(
        organization=organization,
        event=webhook_event,
        endpoint=endpoint,
        event_created_at=webhook_event.created_at,
        event_type=webhook_event.type,
    )
    approval = ApprovalRequest.objects.create(
        organization=organization,
        kind=ApprovalKind.REFUND,
        target_id=order.pk,
        amount=4000,
        currency="usd",
        reason="goodwill",
        refund_reason="customer_request",
        requested_by=requester,
    )
    transaction = LedgerTransaction.objects.filter(organization=organization).order_by("created_at").first()
    entry = LedgerEntry.objects.filter(account__organization=organization).order_by("id").first()
    rows = {
        "organizations.organization": organization,
        "customers.customer": card.customer,
        "billing.product": product,
        "billing.subscription": subscription,
        "billing.order": order,
        "billing.payment": payment,
        "billing.paymentmethod": card,
        "billing.refund": refund,
        "billing.dispute": dispute,
        "billing.checkout": checkout,
        "billing.event": event,
        "billing.approvalrequest": approval,
        "payouts.payout": payout,
        "payouts.payoutaccount": payout.payout_account,
        "payouts.ledgertransaction": transaction,
        "payouts.ledgerentry": entry,
        "payouts.ledgeraccount": entry.account,
        "webhooks.webhookendpoint": endpoint,
        "webhooks.webhookevent": webhook_event,
        "webhooks.webhookdelivery": delivery,
    }
    return Merchant(organization=organization, rows=rows)


@pytest.fixture
def world(organization, other_organization, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    root = make_superuser()
    return {
        "acme": build_merchant(organization, root),
        "globex": build_merchant(other_organization, root),
        "root": root,
    }


@pytest.fixture
def staff_client():
    """A logged-in Django test client for ``role`` on ``organization`` (role "none": a staff member without
    any organization; "superuser")."""

    def make(role, organization=None):
        if role == "superuser":
            user = make_superuser(email="super@staff.example")
        elif role == "none":
            user = make_staff("support", None, email="nobody@staff.example")
        else:
            user = make_staff(role, organization)
        client = Client()
        client.force_login(user)
        client.user = user
        return client

    return make
