"""Order operations through both SDKs: update (billing name and address), generate_invoice (202, or the
typed 422 without billing details), receipt; another organization's order is 404; an address whose
country changes is a validation error."""

import pytest
from polar_sdk import models as m032

from billing.models import Order, SandboxSettings
from tests.factories.subscriptions import one_time_product

from .harness import failed, ok, op

pytestmark = pytest.mark.contract

ADDRESS = {"line1": "1 Rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"}


@pytest.fixture
def order_id(contract_organization, settings, live_server):
    """A paid one-time purchase (2500) through a confirmed checkout; its order has no billing address."""
    from polar_sdk import Polar

    from polar.organizations.services import access_token_create

    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})
    ebook = one_time_product(contract_organization, name="E-book", amount=2500)
    _row, token = access_token_create(organization=contract_organization, comment="fixture")
    client = Polar(access_token=token, server_url=live_server.url)
    checkout = client.checkouts.create(request={"products": [str(ebook.id)]})
    client.checkouts.client_confirm(
        client_secret=checkout.client_secret,
        checkout_confirm_stripe={"customer_email": "reader@example.com", "confirmation_token_id": "pm_card_visa"},
    )
    order = Order.objects.get(organization=contract_organization)
    Order.objects.filter(pk=order.pk).update(billing_address=None)
    return str(order.id)


def test_032_update_invoice_receipt(sdk032, sdk032_other, order_id):
    with pytest.raises(m032.MissingInvoiceBillingDetails):
        sdk032.orders.generate_invoice(id=order_id)
    order = sdk032.orders.update(id=order_id, order_update={"billing_name": "Reader Ltd", "billing_address": ADDRESS})
    assert isinstance(order, m032.Order) and order.billing_name == "Reader Ltd" and order.billing_address.city == "Paris"
    sdk032.orders.generate_invoice(id=order_id)
    receipt = sdk032.orders.receipt(id=order_id)
    assert isinstance(receipt, m032.OrderReceipt) and "/invoices/" in receipt.url
    with pytest.raises(m032.HTTPValidationError) as error:
        sdk032.orders.update(id=order_id, order_update={"billing_address": {**ADDRESS, "country": "DE"}})
    assert error.value.data.detail[0].loc == ["body", "billing_address", "country"]
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.orders.update(id=order_id, order_update={"billing_name": "Mine"})
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.orders.receipt(id=order_id)


def test_10_update_invoice_receipt(sdk10, order_id, contract_other_token):
    results = sdk10.run(
        op("orders.generate_invoice", order_id),
        op("orders.update", order_id, billing_name="Reader Ltd", billing_address=ADDRESS),
        op("orders.generate_invoice", order_id),
        op("orders.receipt", order_id),
        op("orders.update", order_id, billing_address={**ADDRESS, "country": "DE"}),
        op("orders.generate_invoice", order_id, access_token=contract_other_token),
        op("orders.receipt", order_id, access_token=contract_other_token),
    )
    failed(results[0], "MissingInvoiceBillingDetails", 422)
    order = ok(results[1])
    assert order["__class__"] == "Order" and order["billing_name"] == "Reader Ltd"
    assert order["billing_address"]["country"] == "FR"
    assert ok(results[2]) is None
    assert ok(results[3])["__class__"] == "OrderReceipt" and "/invoices/" in ok(results[3])["url"]
    error = failed(results[4], "HTTPValidationError", 422)
    assert error["body"]["detail"][0]["loc"] == ["body", "billing_address", "country"]
    failed(results[5], "ResourceNotFound", 404)
    failed(results[6], "ResourceNotFound", 404)
