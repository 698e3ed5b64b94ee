"""Subscription calls test_subscriptions.py does not cover, through both SDKs: subscriptions.create
(free plan, by customer_id and by external_customer_id, with metadata; a foreign product → 422 on
product_id), subscriptions.update with a product change and with a discount, and the benefit grants
a subscription creates (benefits.grants). Assertions are on the models the SDKs parsed."""

import pytest
from polar_sdk import models as m032

from billing.models import SandboxSettings
from tests.factories.customers import CustomerFactory
from tests.factories.subscriptions import custom_benefit, monthly_product, percentage_discount

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


@pytest.fixture
def sandbox_ok(settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})


@pytest.fixture
def free_plan(contract_organization, sandbox_ok):
    benefit = custom_benefit(contract_organization, description="Community")
    return monthly_product(contract_organization, name="Free", amount=0, benefits=[benefit])


def _subscribe_paid(sdk032, product, email):
    checkout = sdk032.checkouts.create(request={"products": [str(product.id)]})
    sdk032.checkouts.client_confirm(
        client_secret=checkout.client_secret,
        checkout_confirm_stripe={"customer_email": email, "confirmation_token_id": "pm_card_visa"},
    )
    return sdk032.subscriptions.list().result.items[0]


# --- 0.32.x ---------------------------------------------------------------------------------------


def test_032_create_free_subscription_and_its_grants(sdk032, contract_organization, free_plan):
    customer = CustomerFactory(organization=contract_organization, external_id="sub-ext")
    created = sdk032.subscriptions.create(
        request={"product_id": str(free_plan.id), "customer_id": str(customer.id), "metadata": {"source": "sdk"}}
    )
    assert isinstance(created, m032.Subscription)
    assert (created.status, created.amount, created.currency) == ("active", 0, "usd")
    assert created.customer_id == str(customer.id) and created.product.id == str(free_plan.id)
    assert created.metadata == {"source": "sdk"} and created.recurring_interval == "month"
    assert created.current_period_end is not None and created.cancel_at_period_end is False

    [benefit] = free_plan.benefits.all()
    grants = sdk032.benefits.grants(id=str(benefit.id)).result
    assert grants.pagination.total_count == 1
    [grant] = grants.items
    assert isinstance(grant, m032.BenefitGrant)
    assert grant.customer_id == str(customer.id) and grant.subscription_id == created.id
    assert grant.is_granted is True and grant.is_revoked is False and grant.benefit_id == str(benefit.id)
    assert sdk032.benefits.grants(id=str(benefit.id), is_granted=False).result.pagination.total_count == 0


def test_032_create_by_external_customer_id(sdk032, contract_organization, free_plan):
    customer = CustomerFactory(organization=contract_organization, external_id="sub-ext-2")
    created = sdk032.subscriptions.create(request={"product_id": str(free_plan.id), "external_customer_id": "sub-ext-2"})
    assert created.customer_id == str(customer.id) and created.customer.external_id == "sub-ext-2"
    assert sdk032.subscriptions.get(id=created.id).status == "active"


def test_032_create_with_foreign_product_is_422_on_product_id(sdk032, contract_organization, contract_other_organization):
    customer = CustomerFactory(organization=contract_organization)
    foreign = monthly_product(contract_other_organization, name="Theirs", amount=0)
    with pytest.raises(m032.HTTPValidationError) as raised:
        sdk032.subscriptions.create(request={"product_id": str(foreign.id), "customer_id": str(customer.id)})
    assert [tuple(d.loc) for d in raised.value.data.detail] == [("body", "product_id")]
    assert sdk032.subscriptions.list().result.pagination.total_count == 0


def test_032_update_product_and_discount(sdk032, contract_organization, sandbox_ok):
    monthly = monthly_product(contract_organization, name="Monthly", amount=1000)
    bigger = monthly_product(contract_organization, name="Bigger", amount=3000)
    discount = percentage_discount(contract_organization, basis_points=2500, duration="forever")
    subscription = _subscribe_paid(sdk032, monthly, "upgrade@example.com")

    changed = sdk032.subscriptions.update(
        id=subscription.id,
        subscription_update={"product_id": str(bigger.id), "proration_behavior": "prorate"},
    )
    assert isinstance(changed, m032.Subscription)
    assert changed.product_id == str(bigger.id) and changed.product.name == "Bigger" and changed.amount == 3000

    discounted = sdk032.subscriptions.update(id=subscription.id, subscription_update={"discount_id": str(discount.id)})
    assert discounted.discount_id == str(discount.id)
    assert discounted.discount.name == discount.name

    with pytest.raises(m032.HTTPValidationError) as raised:
        sdk032.subscriptions.update(
            id=subscription.id, subscription_update={"discount_id": "00000000-0000-0000-0000-000000000000"}
        )
    assert [tuple(d.loc) for d in raised.value.data.detail] == [("body", "discount_id")]


# --- 1.0.x ----------------------------------------------------------------------------------------


def test_10_create_update_and_grants(sdk10, sdk032, contract_organization, contract_other_token, free_plan):
    customer = CustomerFactory(organization=contract_organization, external_id="sub-10")
    monthly = monthly_product(contract_organization, name="Monthly", amount=1000)
    bigger = monthly_product(contract_organization, name="Bigger", amount=3000)
    discount = percentage_discount(contract_organization, basis_points=2500, duration="forever")
    paid = _subscribe_paid(sdk032, monthly, "paid10@example.com")
    [benefit] = free_plan.benefits.all()
    results = sdk10.run(
        op("subscriptions.create", product_id=str(free_plan.id), customer_id=str(customer.id), metadata={"k": "v"}),
        op("subscriptions.create", product_id=str(free_plan.id), external_customer_id="nobody"),
        op("benefits.grants", str(benefit.id)),
        op("subscriptions.update", paid.id, product_id=str(bigger.id), proration_behavior="prorate"),
        op("subscriptions.update", paid.id, discount_id=str(discount.id)),
        op("benefits.grants", str(benefit.id), access_token=contract_other_token),
        op("benefits.get", str(benefit.id)),
    )
    created = ok(results[0])
    assert created["__class__"] == "Subscription"
    assert (created["status"], created["amount"], created["customer_id"]) == ("active", 0, str(customer.id))
    assert created["metadata"] == {"k": "v"} and created["product"]["id"] == str(free_plan.id)
    error = failed(results[1], "HTTPValidationError", 422)
    assert [d["loc"] for d in error["body"]["detail"]] == [["body", "external_customer_id"]]

    grants = ok(results[2])
    assert grants["pagination"]["total_count"] == 1
    grant = grants["items"][0]
    assert grant["__class__"] == "BenefitGrant"
    assert (grant["customer_id"], grant["subscription_id"], grant["is_granted"]) == (str(customer.id), created["id"], True)

    changed = ok(results[3])
    assert changed["product_id"] == str(bigger.id) and changed["amount"] == 3000
    assert ok(results[4])["discount_id"] == str(discount.id)
    failed(results[5], "ResourceNotFound", 404)
    assert ok(results[6])["__class__"] == "BenefitCustom" and ok(results[6])["description"] == "Community"
