"""Checkouts: create/get through the API, confirm headless (client secret) and through the hosted page."""

import uuid

import pytest

from billing.models import BenefitGrant, Checkout, Order, Subscription
from customers.models import Customer
from polar.webhooks.models import WebhookEvent
from tests.factories.subscriptions import monthly_product, one_time_product, percentage_discount

pytestmark = pytest.mark.django_db


def _create(api_client, **body):
    response = api_client.post("/v1/checkouts/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _loc(response):
    assert response.status_code == 422, response.content
    return [error["loc"] for error in response.json()["detail"]]


def test_create_answers_201_with_url_and_preview(api_client, organization, product):
    discount = percentage_discount(organization, basis_points=2000)
    body = _create(
        api_client, products=[str(product.id)], discount_id=str(discount.id), success_url="https://shop.example/thanks"
    )
    checkout = Checkout.objects.get()
    assert body["url"].endswith(f"/checkout/{checkout.client_secret}")
    assert (body["amount"], body["discount_amount"], body["net_amount"], body["total_amount"]) == (1000, 200, 800, 800)
    assert body["status"] == "open" and body["product_id"] == str(product.id)
    for key in ("units", "min_units", "max_units", "payment_method_type"):
        assert key in body
    assert WebhookEvent.objects.filter(type="checkout.created").count() == 1


def test_get_and_tenant_isolation(api_client, other_api_client, product):
    body = _create(api_client, products=[str(product.id)])
    assert api_client.get(f"/v1/checkouts/{body['id']}").status_code == 200
    assert other_api_client.get(f"/v1/checkouts/{body['id']}").status_code == 404


def test_create_bad_input_is_422_and_writes_nothing(api_client, organization, other_organization, product):
    from billing.catalog.services import product_update

    archived = product_update(product=monthly_product(organization, name="Old"), is_archived=True)
    euro = monthly_product(organization, name="Euro", currency="eur")
    foreign = monthly_product(other_organization, name="Theirs")
    restricted = percentage_discount(organization, products=[euro.id])
    assert ["body", "products", 0] in _loc(api_client.post("/v1/checkouts/", {"products": [str(archived.id)]}, format="json"))
    assert ["body", "products", 0] in _loc(api_client.post("/v1/checkouts/", {"products": [str(foreign.id)]}, format="json"))
    assert ["body", "products", 0] in _loc(api_client.post("/v1/checkouts/", {"products": [str(uuid.uuid4())]}, format="json"))
    assert ["body", "products", 1] in _loc(
        api_client.post("/v1/checkouts/", {"products": [str(product.id), str(euro.id)]}, format="json")
    )
    assert ["body", "discount_id"] in _loc(
        api_client.post("/v1/checkouts/", {"products": [str(product.id)], "discount_id": str(restricted.id)}, format="json")
    )
    assert ["body", "products"] in _loc(api_client.post("/v1/checkouts/", {"products": []}, format="json"))
    assert not Checkout.objects.exists()


def test_client_confirm_creates_customer_subscription_paid_order_and_grants(api_client, anonymous_client, product):
    body = _create(api_client, products=[str(product.id)])
    response = anonymous_client.post(
        f"/v1/checkouts/client/{body['client_secret']}/confirm",
        {"customer_email": "new@example.com", "customer_name": "New Buyer", "confirmation_token_id": "pm_card_visa"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "confirmed"
    customer = Customer.objects.get(email="new@example.com")
    subscription = Subscription.objects.get(customer=customer)
    assert subscription.status == "active"
    assert Order.objects.get(subscription=subscription).status == "paid"
    assert BenefitGrant.objects.filter(subscription_id=subscription.id, revoked_at__isnull=True).count() == 1
    checkout = Checkout.objects.get()
    assert (checkout.status, checkout.subscription_id) == ("succeeded", subscription.id)
    assert api_client.get(f"/v1/checkouts/{checkout.id}").json()["status"] == "succeeded"


def test_client_confirm_decline_answers_402_with_code_and_can_be_retried(api_client, anonymous_client, product):
    body = _create(api_client, products=[str(product.id)])
    url = f"/v1/checkouts/client/{body['client_secret']}/confirm"
    response = anonymous_client.post(
        url, {"customer_email": "b@example.com", "confirmation_token_id": "pm_card_chargeCustomerFail"}, format="json"
    )
    assert response.status_code == 402
    assert response.json()["decline_code"] == "card_declined"
    assert Checkout.objects.get().status == "failed"
    assert not Subscription.objects.filter(status="active").exists() and not Order.objects.filter(status="paid").exists()

    response = anonymous_client.post(
        url, {"customer_email": "b@example.com", "confirmation_token_id": "pm_card_visa"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert Subscription.objects.get().status == "active"  # the same subscription, now paid
    assert Order.objects.get().status == "paid"


def test_client_confirm_card_refused_at_setup_is_402(api_client, anonymous_client, product):
    body = _create(api_client, products=[str(product.id)])
    response = anonymous_client.post(
        f"/v1/checkouts/client/{body['client_secret']}/confirm",
        {"customer_email": "c@example.com", "confirmation_token_id": "pm_card_visa_chargeDeclined"},
        format="json",
    )
    assert response.status_code == 402
    assert not Subscription.objects.exists()


def test_client_confirm_unknown_secret_is_404_and_missing_email_is_422(api_client, anonymous_client, product):
    assert anonymous_client.post("/v1/checkouts/client/nope/confirm", {}, format="json").status_code == 404
    body = _create(api_client, products=[str(product.id)])
    response = anonymous_client.post(
        f"/v1/checkouts/client/{body['client_secret']}/confirm", {"confirmation_token_id": "pm_card_visa"}, format="json"
    )
    assert ["body", "customer_email"] in _loc(response)
    assert not Customer.objects.exists()


def test_one_time_purchase_creates_a_paid_purchase_order_and_order_grants(api_client, anonymous_client, organization, benefit):
    ebook = one_time_product(organization, benefits=[benefit])
    body = _create(api_client, products=[str(ebook.id)])
    response = anonymous_client.post(
        f"/v1/checkouts/client/{body['client_secret']}/confirm",
        {"customer_email": "d@example.com", "confirmation_token_id": "pm_card_visa"},
        format="json",
    )
    assert response.status_code == 200, response.content
    order = Order.objects.get()
    assert (order.billing_reason, order.status, order.total_amount, order.subscription_id) == ("purchase", "paid", 2500, None)
    assert BenefitGrant.objects.filter(order_id=order.id, revoked_at__isnull=True).count() == 1


def test_trial_checkout_starts_trialing_without_charge(api_client, anonymous_client, organization):
    trial_product = monthly_product(organization, name="Trial", amount=1500, trial_interval="day", trial_interval_count=7)
    body = _create(api_client, products=[str(trial_product.id)])
    assert body["trial_end"] is not None and body["is_payment_required"] is False
    response = anonymous_client.post(
        f"/v1/checkouts/client/{body['client_secret']}/confirm",
        {"customer_email": "t@example.com", "confirmation_token_id": "pm_card_visa"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert Subscription.objects.get().status == "trialing"
    assert not Order.objects.exists()


def test_hosted_page_end_to_end(api_client, organization, product):
    from django.test import Client

    discount = percentage_discount(organization, basis_points=1000, code="WELCOME")
    body = _create(api_client, products=[str(product.id)], success_url="https://shop.example/thanks")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(f"/checkout/{body['client_secret']}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Pro" in html and "$10.00" in html and "csrfmiddlewaretoken" in html
    token = page.cookies["csrftoken"].value
    response = browser.post(
        f"/checkout/{body['client_secret']}",
        {
            "csrfmiddlewaretoken": token,
            "customer_email": "page@example.com",
            "customer_name": "Page Buyer",
            "card_number": "4242 4242 4242 4242",
            "product_id": str(product.id),
            "discount_code": "welcome",
        },
    )
    assert response.status_code == 302 and response["Location"] == "https://shop.example/thanks"
    subscription = Subscription.objects.get(customer__email="page@example.com")
    order = Order.objects.get(subscription=subscription)
    assert (subscription.status, subscription.discount_id) == ("active", discount.id)
    assert (order.status, order.total_amount) == ("paid", 900)
    assert BenefitGrant.objects.filter(subscription_id=subscription.id, revoked_at__isnull=True).count() == 1
    assert browser.get(f"/checkout/{body['client_secret']}").status_code == 200  # the confirmation page


def test_hosted_page_shows_a_decline(api_client, product):
    from django.test import Client

    body = _create(api_client, products=[str(product.id)])
    browser = Client()
    response = browser.post(
        f"/checkout/{body['client_secret']}",
        {"customer_email": "x@example.com", "card_number": "4000000000000341", "product_id": str(product.id)},
    )
    assert response.status_code == 402
    assert "declined (card_declined)" in response.content.decode()
    assert not Order.objects.filter(status="paid").exists()


def test_hosted_page_without_csrf_token_is_refused(api_client, product):
    from django.test import Client

    body = _create(api_client, products=[str(product.id)])
    response = Client(enforce_csrf_checks=True).post(f"/checkout/{body['client_secret']}", {"customer_email": "x@example.com"})
    assert response.status_code == 403
    assert not Customer.objects.exists()


def test_expired_checkout_reads_expired_and_cannot_be_confirmed(api_client, anonymous_client, product):
    import datetime as dt

    from polar import clock

    body = _create(api_client, products=[str(product.id)])
    later = Checkout.objects.get().expires_at + dt.timedelta(seconds=1)
    with clock.freeze(later):
        assert api_client.get(f"/v1/checkouts/{body['id']}").json()["status"] == "expired"
        response = anonymous_client.post(
            f"/v1/checkouts/client/{body['client_secret']}/confirm",
            {"customer_email": "late@example.com", "confirmation_token_id": "pm_card_visa"},
            format="json",
        )
    assert response.status_code == 403 and response.json()["error"] == "NotOpenCheckout"
    assert not Customer.objects.exists()


def test_a_confirmation_in_progress_refuses_a_second_one(api_client, anonymous_client, product):
    from polar import clock

    body = _create(api_client, products=[str(product.id)])
    Checkout.objects.filter(pk=body["id"]).update(status="confirmed", confirmed_at=clock.now())
    response = anonymous_client.post(
        f"/v1/checkouts/client/{body['client_secret']}/confirm",
        {"customer_email": "twice@example.com", "confirmation_token_id": "pm_card_visa"},
        format="json",
    )
    assert response.status_code == 409 and response.json()["error"] == "CheckoutLocked"
    assert not Subscription.objects.exists()


def test_confirming_a_succeeded_checkout_again_charges_once(api_client, anonymous_client, product):
    from billing.models import Payment

    body = _create(api_client, products=[str(product.id)])
    url = f"/v1/checkouts/client/{body['client_secret']}/confirm"
    payload = {"customer_email": "again@example.com", "confirmation_token_id": "pm_card_visa"}
    assert anonymous_client.post(url, payload, format="json").status_code == 200
    assert anonymous_client.post(url, payload, format="json").status_code == 200
    assert Subscription.objects.count() == 1 and Payment.objects.filter(status="succeeded").count() == 1


def test_create_with_a_discount_code_applies_it_and_an_unknown_code_is_422(api_client, organization, product):
    percentage_discount(organization, basis_points=5000, code="HALF")
    body = _create(api_client, products=[str(product.id)], discount_code="half")
    assert (body["discount_amount"], body["total_amount"]) == (500, 500)
    assert ["body", "discount_code"] in _loc(
        api_client.post("/v1/checkouts/", {"products": [str(product.id)], "discount_code": "NOPE"}, format="json")
    )
    assert Checkout.objects.count() == 1


def test_client_confirm_honours_idempotency_key(api_client, organization):
    """The public confirm is a POST like any other: a retried Idempotency-Key replays the first answer."""
    from rest_framework.test import APIClient

    from billing.models import Order, Subscription
    from tests.factories.subscriptions import monthly_product

    product = monthly_product(organization, amount=1200)
    checkout = api_client.post("/v1/checkouts/", {"products": [str(product.id)]}, format="json").json()
    public = APIClient()
    body = {"customer_email": "idem@example.com", "customer_name": "Idem", "confirmation_token_id": "pm_card_visa"}
    path = f"/v1/checkouts/client/{checkout['client_secret']}/confirm"
    first = public.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="confirm-1")
    second = public.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="confirm-1")
    assert first.status_code == 200
    assert second.json() == first.json() and second["Idempotent-Replayed"] == "true"
    assert Subscription.objects.filter(organization=organization).count() == 1
    assert Order.objects.filter(organization=organization, status="paid").count() == 1
