"""``custom_field_data`` through both SDKs: answers given when creating, updating and confirming a
checkout come back on the checkout, the subscription, its order and the customer state; a wrong or
missing answer is the SDK's typed validation error with the field's slug in ``loc``."""

import pytest
from polar_sdk import models as m032

from billing.custom_fields.services import custom_field_create, product_custom_fields_set
from billing.models import SandboxSettings
from tests.factories.subscriptions import monthly_product

from .harness import failed, ok, op

pytestmark = pytest.mark.contract

ANSWERS = {"company": "Acme", "employees": 12, "tos": True}


@pytest.fixture
def plan(contract_organization, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})
    product = monthly_product(contract_organization, name="Team", amount=2000)
    organization = contract_organization
    fields = [
        custom_field_create(organization=organization, type="text", slug="company", name="Company", properties={}),
        custom_field_create(organization=organization, type="number", slug="employees", name="Staff", properties={"ge": 1}),
        custom_field_create(organization=organization, type="checkbox", slug="tos", name="Terms", properties={}),
    ]
    product_custom_fields_set(
        product=product, attached=[{"custom_field_id": f.id, "required": f.slug != "company"} for f in fields]
    )
    return product


def test_032_answers_travel_from_checkout_to_subscription_and_order(sdk032, plan):
    checkout = sdk032.checkouts.create(request={"products": [str(plan.id)], "custom_field_data": {"company": "Acme"}})
    assert isinstance(checkout, m032.Checkout)
    assert checkout.custom_field_data == {"company": "Acme", "employees": None, "tos": False}
    assert [a.custom_field.slug for a in checkout.attached_custom_fields] == ["company", "employees", "tos"]
    updated = sdk032.checkouts.update(id=checkout.id, checkout_update={"custom_field_data": {"company": "Acme", "employees": 12}})
    assert updated.custom_field_data["employees"] == 12

    with pytest.raises(m032.HTTPValidationError) as error:
        sdk032.checkouts.client_confirm(
            client_secret=checkout.client_secret,
            checkout_confirm_stripe={"customer_email": "cf@example.com", "confirmation_token_id": "pm_card_visa"},
        )
    assert [(e.loc, e.type) for e in error.value.data.detail] == [(["body", "custom_field_data", "tos"], "literal_error")]
    with pytest.raises(m032.HTTPValidationError) as error:
        sdk032.checkouts.update(id=checkout.id, checkout_update={"custom_field_data": {"employees": "lots"}})
    assert error.value.data.detail[0].loc == ["body", "custom_field_data", "employees"]

    confirmed = sdk032.checkouts.client_confirm(
        client_secret=checkout.client_secret,
        checkout_confirm_stripe={
            "customer_email": "cf@example.com",
            "confirmation_token_id": "pm_card_visa",
            "custom_field_data": ANSWERS,
        },
    )
    assert isinstance(confirmed, m032.CheckoutPublicConfirmed) and confirmed.custom_field_data == ANSWERS
    [subscription] = sdk032.subscriptions.list().result.items
    assert isinstance(subscription, m032.Subscription) and subscription.custom_field_data == ANSWERS
    [order] = sdk032.orders.list().result.items
    assert isinstance(order, m032.Order) and order.custom_field_data == ANSWERS
    state = sdk032.customers.get_state(id=subscription.customer_id)
    assert state.active_subscriptions[0].custom_field_data == ANSWERS


def test_10_answers_travel_from_checkout_to_subscription_and_order(sdk10, plan):
    results = sdk10.run(
        op("checkouts.create", products=[str(plan.id)], custom_field_data={"employees": 3}),
        op("checkouts.client_update", "${0.client_secret}", custom_field_data={"employees": 0}),
        op("checkouts.client_confirm", "${0.client_secret}", customer_email="cf10@example.com", confirmation_token_id="pm_card_visa"),
        op("checkouts.client_confirm", "${0.client_secret}", customer_email="cf10@example.com",
           confirmation_token_id="pm_card_visa", custom_field_data=ANSWERS),
        op("subscriptions.list"),
        op("orders.list"),
        op("checkouts.get", "${0.id}"),
    )  # fmt: skip
    created = ok(results[0])
    assert created["custom_field_data"] == {"company": None, "employees": 3, "tos": False}
    assert [a["custom_field"]["slug"] for a in created["attached_custom_fields"]] == ["company", "employees", "tos"]
    bad = failed(results[1], "HTTPValidationError", 422)
    assert [(e["loc"], e["type"]) for e in bad["body"]["detail"]] == [
        (["body", "custom_field_data", "employees"], "greater_than_equal")
    ]
    missing = failed(results[2], "HTTPValidationError", 422)
    assert [e["loc"][-1] for e in missing["body"]["detail"]] == ["tos"]
    assert ok(results[3])["custom_field_data"] == ANSWERS
    [subscription] = ok(results[4])["items"]
    assert subscription["__class__"] == "Subscription" and subscription["custom_field_data"] == ANSWERS
    [order] = ok(results[5])["items"]
    assert order["__class__"] == "Order" and order["custom_field_data"] == ANSWERS
    assert ok(results[6])["custom_field_data"] == ANSWERS
