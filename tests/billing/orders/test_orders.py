"""Orders: API (list, get, invoice), tenant isolation, gapless invoice numbers under concurrency,
and the one-order-per-period constraint the renewals rely on."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from billing.models import Order
from billing.orders import services as order_services
from billing.pricing import Period, PricingInput
from billing.subscriptions import lifecycle as subscription_lifecycle
from tests.billing.subscription_fixtures import T0
from tests.factories import CustomerFactory, OrganizationFactory
from tests.factories.payments import attach_card
from tests.factories.subscriptions import monthly_product


@pytest.fixture
def subscription(organization, customer, product, card):
    return subscription_lifecycle.subscription_create(organization=organization, customer=customer, product=product)


def _order(organization, customer, *, subscription=None, period_start=T0, reason="purchase"):
    from billing.models import ProductPrice

    price = ProductPrice.objects.filter(product__organization=organization).first()
    line = order_services.line_for(price, product_name="Thing", tax_rate_bps=0)
    pricing_input = PricingInput(period=Period(period_start, period_start.replace(year=2027)), currency="usd", lines=[line])
    return order_services.order_create(
        organization=organization,
        customer=customer,
        billing_reason=reason,
        pricing_input=pricing_input,
        subscription=subscription,
    )


@pytest.mark.django_db
def test_list_and_get_orders_in_the_contract_shape(api_client, subscription, customer):
    body = api_client.get("/v1/orders/").json()
    assert body["pagination"]["total_count"] == 1
    item = body["items"][0]
    assert (item["billing_reason"], item["status"], item["paid"], item["total_amount"]) == (
        "subscription_create",
        "paid",
        True,
        1000,
    )
    assert item["invoice_number"] == "ACME-000001"
    assert item["subscription"]["id"] == str(subscription.id)
    assert [(i["label"], i["amount"], i["proration"]) for i in item["items"]] == [("Pro", 1000, False)]
    assert item["items"][0]["start_timestamp"] is not None
    response = api_client.get(f"/v1/orders/{item['id']}")
    assert response.status_code == 200 and response.json()["id"] == item["id"]
    assert api_client.get(f"/v1/orders/?customer_id={customer.id}").json()["pagination"]["total_count"] == 1
    assert api_client.get("/v1/orders/?billing_reason=purchase").json()["pagination"]["total_count"] == 0


@pytest.mark.django_db
def test_other_organizations_order_is_not_found(api_client, other_organization):
    customer = CustomerFactory(organization=other_organization)
    attach_card(customer)
    subscription_lifecycle.subscription_create(
        organization=other_organization, customer=customer, product=monthly_product(other_organization, name="Theirs")
    )
    order = Order.objects.get()
    assert api_client.get(f"/v1/orders/{order.id}").status_code == 404
    assert api_client.get(f"/v1/orders/{order.id}/invoice").status_code == 404
    assert api_client.get("/v1/orders/").json()["pagination"]["total_count"] == 0


@pytest.mark.django_db
def test_bad_order_id_and_filter_are_422(api_client):
    response = api_client.get("/v1/orders/not-a-uuid")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["path", "id"]
    response = api_client.get("/v1/orders/?billing_reason=gift")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][:2] == ["query", "billing_reason"]


@pytest.mark.django_db
def test_invoice_answers_a_signed_url_to_the_html_invoice(api_client, anonymous_client, subscription):
    order = Order.objects.get()
    response = api_client.get(f"/v1/orders/{order.id}/invoice")
    assert response.status_code == 200
    url = response.json()["url"]
    path = url.split("testserver", 1)[1]
    page = anonymous_client.get(path)
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert "ACME-000001" in html and "$10.00" in html
    assert anonymous_client.get(path[:-3] + "xyz").status_code == 404


@pytest.mark.django_db
def test_second_order_for_the_same_subscription_period_and_reason_is_refused(organization, customer, subscription):
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            _order(
                organization,
                customer,
                subscription=subscription,
                period_start=subscription.current_period_start,
                reason="subscription_create",
            )


@pytest.mark.django_db
def test_invoice_numbers_are_per_organization_and_a_rollback_gives_the_number_back(organization, customer, product):
    other = OrganizationFactory(slug="other")
    other_customer = CustomerFactory(organization=other)
    monthly_product(other, name="x")
    first = _order(organization, customer)
    try:
        with transaction.atomic():
            _order(organization, customer)
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    second = _order(organization, customer)
    theirs = _order(other, other_customer)
    assert (first.invoice_sequence, second.invoice_sequence, theirs.invoice_sequence) == (1, 2, 1)
    assert theirs.invoice_number == "OTHER-000001"


@pytest.mark.django_db(transaction=True)
def test_invoice_numbers_stay_gapless_under_concurrent_orders(organization, customer, product):
    errors = []
    barrier = threading.Barrier(8)

    def worker():
        try:
            barrier.wait()
            with transaction.atomic():
                _order(organization, customer)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(Order.objects.values_list("invoice_sequence", flat=True)) == list(range(1, 9))


@pytest.mark.django_db
def test_openapi_document_lists_subscription_order_and_checkout_operations(anonymous_client):
    text = anonymous_client.get("/openapi.json").content.decode()
    for operation in (
        "subscriptions:list",
        "subscriptions:update",
        "subscriptions:revoke",
        "orders:get",
        "orders:invoice",
        "checkouts:create",
        "checkouts:client_confirm",
    ):
        assert f'"{operation}"' in text or f"operationId: {operation}" in text, operation


def test_listing_orders_does_not_query_per_order(api_client, organization, django_assert_max_num_queries):
    from billing.subscriptions.lifecycle import subscription_create
    from tests.factories.payments import attach_card
    from tests.factories.subscriptions import monthly_product

    product = monthly_product(organization, name="Listed", amount=700)
    for index in range(6):
        card = attach_card(organization=organization, email=f"orders{index}@example.com")
        subscription_create(organization=organization, customer=card.customer, product=product, payment_method=card)
    api_client.get("/v1/orders/")  # warm the token's last-use stamp
    with django_assert_max_num_queries(20):
        body = api_client.get("/v1/orders/", {"limit": 100}).json()
    assert body["pagination"]["total_count"] == 6
