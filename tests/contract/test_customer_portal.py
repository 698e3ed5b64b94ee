"""The customer portal through polar-sdk 1.0.2's ``customer_portal`` (each API version) and 0.32's, with a
customer session token: the customer's own data answers, another customer's ids answer 404."""

import datetime as dt
import uuid

import pytest
from django.core.management import call_command
from polar_sdk import models as m032

from billing.benefits.services import benefit_grants_create_for
from billing.catalog.services import product_benefits_set
from billing.models import LicenseKey, Order, OrderStatus, SandboxSettings, Subscription, SubscriptionStatus
from billing.portal.sessions import customer_session_create
from billing.subscriptions.lifecycle import subscription_create
from polar import clock
from tests.factories import CustomerFactory
from tests.factories.catalog import make_license_keys_benefit
from tests.factories.payments import attach_card
from tests.factories.subscriptions import monthly_product, pending_order

from .harness import failed, ok, op

pytestmark = pytest.mark.contract

T0 = dt.datetime(2026, 1, 31, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def sandbox_normal(transactional_db, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})


@pytest.fixture
def jane(contract_organization):
    return CustomerFactory(organization=contract_organization, email="jane@example.com", name="Jane")


@pytest.fixture
def bob(contract_organization):
    return CustomerFactory(organization=contract_organization, email="bob@example.com", name="Bob")


@pytest.fixture
def token(jane):
    return customer_session_create(customer=jane)[1]


def subscribe(customer, product, card=None):
    card = card or attach_card(customer, "pm_card_visa")
    return subscription_create(organization=customer.organization, customer=customer, product=product, payment_method=card)


# --- polar-sdk 1.0.2 ----------------------------------------------------------------------------------


def test_10_customer_and_payment_methods(sdk10, jane, bob, token):
    foreign_card = attach_card(bob, "pm_card_visa")
    me, updated, added, listed, foreign_delete = sdk10.run(
        op("customer_portal.customers.get", access_token=token),
        op("customer_portal.customers.update", billing_name="Jane GmbH", access_token=token),
        op(
            "customer_portal.customers.add_payment_method",
            confirmation_token_id="pm_card_visa",
            set_default=True,
            return_url="https://acme.test/",
            access_token=token,
        ),
        op("customer_portal.customers.list_payment_methods", access_token=token),
        op("customer_portal.customers.delete_payment_method", str(foreign_card.id), access_token=token),
    )
    assert ok(me)["__class__"] == "CustomerPortalCustomer" and ok(me)["id"] == str(jane.id)
    assert ok(updated)["billing_name"] == "Jane GmbH"
    added = ok(added)
    assert added["__class__"] == "CustomerPaymentMethodCreateSucceededResponse"
    method_id = added["payment_method"]["id"]
    assert [item["id"] for item in ok(listed)["items"]] == [method_id]
    failed(foreign_delete, "ResourceNotFound", 404)
    [deleted] = sdk10.run(op("customer_portal.customers.delete_payment_method", method_id, access_token=token))
    assert ok(deleted) is None


def test_10_subscriptions(sdk10, contract_organization, jane, bob, token):
    product = monthly_product(contract_organization, name="Pro", amount=1000)
    premium = monthly_product(contract_organization, name="Premium", amount=3000)
    own = subscribe(jane, product)
    foreign = subscribe(bob, product)
    listed, got, changed, canceled, uncanceled, other_get, other_cancel = sdk10.run(
        op("customer_portal.subscriptions.list", access_token=token),
        op("customer_portal.subscriptions.get", str(own.id), access_token=token),
        op("customer_portal.subscriptions.update", str(own.id), product_id=str(premium.id), access_token=token),
        op("customer_portal.subscriptions.cancel", str(own.id), access_token=token),
        op("customer_portal.subscriptions.update", str(own.id), cancel_at_period_end=False, access_token=token),
        op("customer_portal.subscriptions.get", str(foreign.id), access_token=token),
        op("customer_portal.subscriptions.cancel", str(foreign.id), access_token=token),
    )
    assert [item["id"] for item in ok(listed)["items"]] == [str(own.id)]
    got = ok(got)
    assert got["__class__"] == "CustomerSubscription" and got["product"]["organization"]["slug"] == "contract-acme"
    assert ok(changed)["product_id"] == str(premium.id)
    assert ok(canceled)["cancel_at_period_end"] is True
    assert ok(uncanceled)["cancel_at_period_end"] is False
    failed(other_get, "ResourceNotFound", 404)
    failed(other_cancel, "ResourceNotFound", 404)
    assert Subscription.objects.get(pk=foreign.pk).cancel_at_period_end is False


def test_10_orders(sdk10, jane, bob, token):
    order = pending_order(jane, amount=2000)
    foreign = pending_order(bob, amount=500)
    card = attach_card(jane, "pm_card_visa")
    listed, got, invoice, status, paid, status_after, receipt, other_get, other_pay = sdk10.run(
        op("customer_portal.orders.list", access_token=token),
        op("customer_portal.orders.get", str(order.id), access_token=token),
        op("customer_portal.orders.invoice", str(order.id), access_token=token),
        op("customer_portal.orders.get_payment_status", str(order.id), access_token=token),
        op("customer_portal.orders.confirm_retry_payment", str(order.id), payment_method_id=str(card.id), access_token=token),
        op("customer_portal.orders.get_payment_status", str(order.id), access_token=token),
        op("customer_portal.orders.receipt", str(order.id), access_token=token),
        op("customer_portal.orders.get", str(foreign.id), access_token=token),
        op("customer_portal.orders.confirm_retry_payment", str(foreign.id), payment_method_id=str(card.id), access_token=token),
    )
    assert [item["id"] for item in ok(listed)["items"]] == [str(order.id)]
    assert ok(got)["__class__"] == "CustomerOrder" and ok(got)["total_amount"] == 2000
    assert "/invoices/" in ok(invoice)["url"]
    assert ok(status) == {"__class__": "CustomerOrderPaymentStatus", "status": "no_payment", "error": None}
    assert ok(paid)["status"] == "succeeded"
    assert ok(status_after)["status"] == "succeeded"
    assert ok(receipt)["url"]
    failed(other_get, "ResourceNotFound", 404)
    failed(other_pay, "ResourceNotFound", 404)
    assert Order.objects.get(pk=foreign.pk).status == OrderStatus.PENDING

    address = {"line1": "1 Main St", "postal_code": "10115", "city": "Berlin", "country": "DE"}
    updated, generated, other_update = sdk10.run(
        op("customer_portal.orders.update", str(order.id), billing_name="Jane GmbH", billing_address=address, access_token=token),
        op("customer_portal.orders.generate_invoice", str(order.id), access_token=token),
        op("customer_portal.orders.update", str(foreign.id), billing_name="X", access_token=token),
    )
    assert ok(updated)["billing_name"] == "Jane GmbH"
    assert ok(generated) is None
    failed(other_update, "ResourceNotFound", 404)


def test_10_grants_license_keys_meters_downloadables_organization(sdk10, contract_organization, jane, bob, token):
    benefit = make_license_keys_benefit(organization=contract_organization)
    product = monthly_product(contract_organization, name="Pro", amount=1000)
    product_benefits_set(product=product, benefits=[benefit.pk])
    for customer in (jane, bob):
        benefit_grants_create_for(customer=customer, product=product, subscription_id=uuid.uuid4())
    own_key = LicenseKey.objects.get(customer=jane)
    foreign_key = LicenseKey.objects.get(customer=bob)
    grants, keys, key, rotated, other_key, meters, downloadables, organization = sdk10.run(
        op("customer_portal.benefit_grants.list", access_token=token),
        op("customer_portal.license_keys.list", access_token=token),
        op("customer_portal.license_keys.get", str(own_key.id), access_token=token),
        op("customer_portal.license_keys.rotate", str(own_key.id), access_token=token),
        op("customer_portal.license_keys.get", str(foreign_key.id), access_token=token),
        op("customer_portal.customer_meters.list", access_token=token),
        op("customer_portal.downloadables.list", access_token=token),
        op("customer_portal.organizations.get", "contract-acme", access_token=token),
    )
    grant = ok(grants)["items"][0]
    assert grant["__class__"] == "CustomerBenefitGrantLicenseKeys" and grant["customer_id"] == str(jane.id)
    assert len(ok(grants)["items"]) == 1
    assert [item["id"] for item in ok(keys)["items"]] == [str(own_key.id)]
    assert ok(key)["__class__"] == "LicenseKeyWithActivations"
    assert ok(rotated)["key"] != own_key.key
    failed(other_key, "ResourceNotFound", 404)
    assert ok(meters)["items"] == [] and ok(downloadables)["items"] == []
    organization = ok(organization)
    assert organization["organization"]["slug"] == "contract-acme"
    assert [product["name"] for product in organization["products"]] == ["Pro"]


def test_10_recovering_a_past_due_renewal(sdk10, contract_organization, jane, token):
    product = monthly_product(contract_organization, name="Pro", amount=1000)
    with clock.freeze(T0):
        subscription = subscribe(jane, product)
    declining = attach_card(jane, "pm_card_chargeCustomerFail", set_default=False)
    Subscription.objects.filter(pk=subscription.pk).update(payment_method=declining)
    call_command("run_billing", now=dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC).isoformat())
    order = Order.objects.get(subscription=subscription, billing_reason="subscription_cycle")
    assert Subscription.objects.get(pk=subscription.pk).status == SubscriptionStatus.PAST_DUE
    [paid] = sdk10.run(
        op(
            "customer_portal.orders.confirm_retry_payment",
            str(order.id),
            confirmation_token_id="pm_card_visa",
            access_token=token,
        )
    )
    assert ok(paid)["status"] == "succeeded"
    assert Subscription.objects.get(pk=subscription.pk).status == SubscriptionStatus.ACTIVE


def test_10_expired_session_is_401(sdk10, jane, token):
    from billing.models import CustomerSession

    CustomerSession.objects.filter(customer=jane).update(expires_at=clock.now() - dt.timedelta(seconds=1))
    [expired] = sdk10.run(op("customer_portal.customers.get", access_token=token))
    assert not expired["ok"] and expired["error"]["status_code"] == 401


# --- polar-sdk 0.32 -----------------------------------------------------------------------------------


def test_032_customer_subscriptions_orders(sdk032, contract_organization, jane, bob, token):
    security = {"customer_session": token}
    product = monthly_product(contract_organization, name="Pro", amount=1000)
    own = subscribe(jane, product)
    foreign = subscribe(bob, product)
    me = sdk032.customer_portal.customers.get(security=security)
    assert isinstance(me, m032.CustomerPortalCustomer) and me.id == str(jane.id)
    page = sdk032.customer_portal.subscriptions.list(security=security)
    assert [item.id for item in page.result.items] == [str(own.id)]
    assert isinstance(page.result.items[0], m032.CustomerSubscription)
    canceled = sdk032.customer_portal.subscriptions.cancel(security=security, id=str(own.id))
    assert canceled.cancel_at_period_end is True
    with pytest.raises(m032.ResourceNotFound):
        sdk032.customer_portal.subscriptions.get(security=security, id=str(foreign.id))
    orders = sdk032.customer_portal.orders.list(security=security)
    assert {item.subscription_id for item in orders.result.items} == {str(own.id)}
    with pytest.raises(m032.ResourceNotFound):
        sdk032.customer_portal.orders.get(security=security, id=str(Order.objects.get(subscription=foreign).id))
    methods = sdk032.customer_portal.customers.list_payment_methods(security=security)
    assert len(methods.result.items) == 1
    grants = sdk032.customer_portal.benefit_grants.list(security=security)
    assert grants.result.items == []
    organization = sdk032.customer_portal.organizations.get(slug="contract-acme")
    assert organization.organization.slug == "contract-acme"


def test_032_expired_session_is_401(sdk032, jane, token):
    from billing.models import CustomerSession

    CustomerSession.objects.filter(customer=jane).update(expires_at=clock.now() - dt.timedelta(seconds=1))
    with pytest.raises(m032.SDKError) as raised:
        sdk032.customer_portal.customers.get(security={"customer_session": token})
    assert raised.value.status_code == 401


def test_10_license_key_actions_with_a_customer_session(sdk10, contract_organization, contract_other_organization, jane, token):
    benefit = make_license_keys_benefit(organization=contract_organization)
    product = monthly_product(contract_organization, name="Pro", amount=1000)
    product_benefits_set(product=product, benefits=[benefit.pk])
    benefit_grants_create_for(customer=jane, product=product, subscription_id=uuid.uuid4())
    key = LicenseKey.objects.get(customer=jane)
    body = {"key": key.key, "organization_id": str(contract_organization.id)}
    activated, validated, deactivated, elsewhere = sdk10.run(
        op("customer_portal.license_keys.activate", label="laptop", access_token=token, **body),
        op("customer_portal.license_keys.validate", activation_id="${0.id}", access_token=token, **body),
        op("customer_portal.license_keys.deactivate", activation_id="${0.id}", access_token=token, **body),
        op(
            "customer_portal.license_keys.validate",
            key=key.key,
            organization_id=str(contract_other_organization.id),
            access_token=token,
        ),
    )
    assert ok(activated)["label"] == "laptop"
    assert ok(validated)["id"] == str(key.id)
    assert ok(deactivated) is None
    failed(elsewhere, "ResourceNotFound", 404)
