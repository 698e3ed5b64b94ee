"""Customer payment methods and payments through both SDKs. A card is attached with a plain HTTP
call (``POST /v1/customers/{id}/payment-methods``: neither SDK has that operation for organization
tokens), then listed through the SDKs; a checkout confirmed through the SDK leaves one succeeded
payment, read back with payments.list / payments.get. Assertions are on the models the SDKs parsed."""

import httpx
import pytest
from polar_sdk import models as m032

from billing.models import SandboxSettings
from tests.factories.customers import CustomerFactory
from tests.factories.subscriptions import one_time_product

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


@pytest.fixture
def ebook(contract_organization, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})
    return one_time_product(contract_organization, name="E-book", amount=2500)


def _attach(live_server, token, customer_id, card="pm_card_visa", set_default=True) -> dict:
    response = httpx.post(
        f"{live_server.url}/v1/customers/{customer_id}/payment-methods",
        json={"token": card, "set_default": set_default},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _buy(sdk032, product, email):
    checkout = sdk032.checkouts.create(request={"products": [str(product.id)]})
    sdk032.checkouts.client_confirm(
        client_secret=checkout.client_secret,
        checkout_confirm_stripe={"customer_email": email, "confirmation_token_id": "pm_card_visa"},
    )
    return checkout


# --- 0.32.x ---------------------------------------------------------------------------------------


def test_032_customer_payment_methods(sdk032, live_server, contract_token, contract_organization, sdk032_other):
    customer = CustomerFactory(organization=contract_organization)
    attached = _attach(live_server, contract_token, customer.id)
    _attach(live_server, contract_token, customer.id, card="pm_card_mastercard", set_default=False)

    page = sdk032.customers.list_payment_methods(id=str(customer.id)).result
    assert page.pagination.total_count == 2
    methods = {pm.id: pm for pm in page.items}
    visa = methods[attached["id"]]
    assert isinstance(visa, m032.CustomerPaymentMethodCard)
    assert visa.TYPE == "card" and visa.customer_id == str(customer.id) and visa.is_default is True
    assert (visa.method_metadata.brand, visa.method_metadata.last4) == ("visa", "4242")
    assert sorted((pm.method_metadata.brand, pm.is_default) for pm in page.items) == [("mastercard", False), ("visa", True)]

    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.customers.list_payment_methods(id=str(customer.id))


def test_032_payments_list_get_after_checkout(sdk032, sdk032_other, ebook, contract_organization):
    checkout = _buy(sdk032, ebook, "payer@example.com")
    order = sdk032.orders.list().result.items[0]

    page = sdk032.payments.list().result
    assert page.pagination.total_count == 1
    [payment] = page.items
    assert isinstance(payment, m032.CardPayment)
    assert (payment.status, payment.amount, payment.currency, payment.METHOD) == ("succeeded", 2500, "usd", "card")
    assert payment.checkout_id == checkout.id and payment.order_id == order.id
    assert payment.organization_id == str(contract_organization.id)
    assert (payment.method_metadata.brand, payment.method_metadata.last4) == ("visa", "4242")

    fetched = sdk032.payments.get(id=payment.id)
    assert fetched.id == payment.id and fetched.amount == 2500
    assert [p.id for p in sdk032.payments.list(order_id=order.id).result.items] == [payment.id]
    assert sdk032.payments.list(status=m032.PaymentStatus.FAILED).result.pagination.total_count == 0

    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.payments.get(id=payment.id)
    assert sdk032_other.payments.list().result.pagination.total_count == 0


# --- 1.0.x ----------------------------------------------------------------------------------------


def test_10_payment_methods_and_payments(
    sdk10, sdk032, live_server, contract_token, contract_other_token, contract_organization, ebook
):
    customer = CustomerFactory(organization=contract_organization)
    attached = _attach(live_server, contract_token, customer.id)
    checkout = _buy(sdk032, ebook, "payer10@example.com")
    results = sdk10.run(
        op("customers.list_payment_methods", str(customer.id)),
        op("payments.list"),
        op("payments.get", "${1.items.0.id}"),
        op("payments.get", "${1.items.0.id}", access_token=contract_other_token),
        op("customers.list_payment_methods", str(customer.id), access_token=contract_other_token),
        op("payments.list", checkout_id=checkout.id),
    )
    methods = ok(results[0])
    assert methods["pagination"]["total_count"] == 1
    [method] = methods["items"]
    assert method["__class__"] == "CustomerPaymentMethodCard"
    assert method["id"] == attached["id"] and method["customer_id"] == str(customer.id)
    assert (method["method_metadata"]["brand"], method["method_metadata"]["last4"]) == ("visa", "4242")

    payments = ok(results[1])
    assert payments["pagination"]["total_count"] == 1
    payment = payments["items"][0]
    assert payment["__class__"] == "CardPayment"
    assert (payment["status"], payment["amount"], payment["currency"]) == ("succeeded", 2500, "usd")
    assert payment["checkout_id"] == checkout.id
    fetched = ok(results[2])
    assert fetched["id"] == payment["id"] and fetched["order_id"] == payment["order_id"]
    failed(results[3], "ResourceNotFound", 404)
    failed(results[4], "ResourceNotFound", 404)
    assert [p["id"] for p in ok(results[5])["items"]] == [payment["id"]]


def test_032_payment_methods_by_external_id(sdk032, sdk032_other, live_server, contract_token, contract_organization):
    customer = CustomerFactory(organization=contract_organization, external_id="user:42")
    attached = _attach(live_server, contract_token, customer.id)
    page = sdk032.customers.list_payment_methods_external(external_id="user:42").result
    assert [method.id for method in page.items] == [attached["id"]]
    assert isinstance(page.items[0], m032.CustomerPaymentMethodCard) and page.items[0].is_default is True
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.customers.list_payment_methods_external(external_id="user:42")


def test_10_payment_methods_by_external_id(sdk10, live_server, contract_token, contract_other_token, contract_organization):
    customer = CustomerFactory(organization=contract_organization, external_id="user:42")
    attached = _attach(live_server, contract_token, customer.id)
    results = sdk10.run(
        op("customers.list_payment_methods_external", "user:42"),
        op("customers.list_payment_methods_external", "user:42", access_token=contract_other_token),
        op("customers.list_payment_methods_external", "nobody"),
    )
    [method] = ok(results[0])["items"]
    assert method["__class__"] == "CustomerPaymentMethodCard" and method["id"] == attached["id"]
    failed(results[1], "ResourceNotFound", 404)
    failed(results[2], "ResourceNotFound", 404)
