"""CSV exports through both SDKs: customers.export, orders.export, subscriptions.export answer the CSV
text (parsed by nothing: both SDKs hand back the string), scoped to the token's organization, and a bad
parameter is the SDK's validation error."""

import csv
import io

import pytest
from polar_sdk import models as m032

from billing.models import SandboxSettings
from tests.factories import CustomerFactory
from tests.factories.subscriptions import monthly_product

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


def _rows(text):
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def shop(contract_organization, contract_other_organization, settings, live_server):
    """One subscriber (via a confirmed checkout) in the merchant's shop; one customer at the other merchant."""
    from polar_sdk import Polar

    from polar.organizations.services import access_token_create

    settings.SANDBOX_PROCESSOR_FAULT = ""
    SandboxSettings.objects.update_or_create(pk=1, defaults={"fault": "none"})
    plan = monthly_product(contract_organization, name="Monthly", amount=1200)
    CustomerFactory(organization=contract_other_organization, email="someone@globex.com")
    _row, token = access_token_create(organization=contract_organization, comment="shop fixture")
    client = Polar(access_token=token, server_url=live_server.url)
    checkout = client.checkouts.create(request={"products": [str(plan.id)]})
    client.checkouts.client_confirm(
        client_secret=checkout.client_secret,
        checkout_confirm_stripe={"customer_email": "member@example.com", "confirmation_token_id": "pm_card_visa"},
    )
    return plan


def test_032_exports(sdk032, sdk032_other, shop):
    customers = _rows(sdk032.customers.export())
    assert customers[0][:4] == ["ID", "External ID", "Created At", "Email"] and [r[3] for r in customers[1:]] == [
        "member@example.com"
    ]
    assert [r[3] for r in _rows(sdk032_other.customers.export())[1:]] == ["someone@globex.com"]
    # 0.32's exports take the organization and product filters only: the default columns.
    orders = _rows(sdk032.orders.export(product_id=str(shop.id)))
    assert orders[0] == ["Email", "Created At", "Product", "Net Amount", "Currency", "Status", "Invoice number"]
    assert [orders[1][0], *orders[1][3:6]] == ["member@example.com", "12.0", "usd", "paid"]
    subscriptions = _rows(sdk032.subscriptions.export())
    assert subscriptions[1][0] == "member@example.com" and subscriptions[1][2:7] == ["Monthly", "12.0", "usd", "active", "month"]
    assert _rows(sdk032_other.orders.export()) == [orders[0]]
    with pytest.raises(m032.HTTPValidationError):
        sdk032.orders.export(product_id="not-a-uuid")


def test_10_exports(sdk10, shop, contract_other_token):
    results = sdk10.run(
        op("customers.export"),
        op("orders.export", columns=["email", "net_amount", "status"], timezone="Europe/Paris"),
        op("subscriptions.export", status="active", columns=["email", "product", "recurring_interval"]),
        op("subscriptions.export", access_token=contract_other_token),
        op("orders.export", created_after="2026-01-01T00:00:00"),
    )
    customers = _rows(ok(results[0]))
    assert [r[3] for r in customers[1:]] == ["member@example.com"]
    assert _rows(ok(results[1])) == [["Email", "Net Amount", "Status"], ["member@example.com", "12.0", "paid"]]
    assert _rows(ok(results[2])) == [["Email", "Product", "Billing Interval"], ["member@example.com", "Monthly", "month"]]
    assert len(_rows(ok(results[3]))) == 1
    error = failed(results[4], "HTTPValidationError", 422)
    assert error["body"]["detail"][0]["loc"] == ["query", "created_after"]
