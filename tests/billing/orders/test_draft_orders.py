"""Draft orders: POST /v1/orders/ writes a draft (nothing charged, no webhook), POST /v1/orders/{id}/finalize
charges the customer's saved card off-session, grants the benefits, and refuses a second finalize."""

import pytest

from billing.models import BenefitGrant, Order, Payment
from polar.webhooks.models import WebhookEvent
from tests.factories.payments import attach_card
from tests.factories.subscriptions import custom_benefit, monthly_product, one_time_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def ebook(organization):
    return one_time_product(organization, name="E-book", amount=2500, benefits=[custom_benefit(organization)])


def _draft(api_client, customer, product, **body):
    response = api_client.post(
        "/v1/orders/", {"customer_id": str(customer.id), "product_id": str(product.id), **body}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_draft_then_finalize_charges_and_grants(api_client, customer, card, ebook):
    draft = _draft(api_client, customer, ebook, metadata={"ref": "A-1"})
    assert (draft["status"], draft["total_amount"], draft["paid"], draft["metadata"]) == ("draft", 2500, False, {"ref": "A-1"})
    assert Payment.objects.count() == 0 and not WebhookEvent.objects.filter(type="order.created").exists()

    response = api_client.post(f"/v1/orders/{draft['id']}/finalize", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["paid"]) == ("paid", True)
    payment = Payment.objects.get()
    assert (payment.amount, payment.status, payment.payment_method_id) == (2500, "succeeded", card.id)
    assert BenefitGrant.objects.filter(customer=customer, order_id=draft["id"]).count() == 1
    assert WebhookEvent.objects.filter(type="order.created").count() == 1
    assert WebhookEvent.objects.filter(type="order.paid").count() == 1
    assert not Order.objects.get(pk=draft["id"]).awaiting_fulfilment

    again = api_client.post(f"/v1/orders/{draft['id']}/finalize", {}, format="json")
    assert again.status_code == 412 and again.json()["error"] == "OrderNotDraft"
    assert Payment.objects.count() == 1


def test_custom_amount_and_description(api_client, customer, card, ebook):
    draft = _draft(api_client, customer, ebook, amount=700, description="5,000 tokens")
    assert (draft["subtotal_amount"], draft["description"], draft["items"][0]["label"]) == (700, "5,000 tokens", "5,000 tokens")


def test_declined_card_leaves_the_draft_chargeable(api_client, customer, ebook):
    attach_card(customer, "pm_card_chargeCustomerFail")
    draft = _draft(api_client, customer, ebook)
    declined = api_client.post(f"/v1/orders/{draft['id']}/finalize", {}, format="json")
    assert declined.status_code == 402 and declined.json()["error"] == "PaymentFailed"
    order = Order.objects.get(pk=draft["id"])
    assert order.status == "draft" and not order.awaiting_fulfilment
    assert BenefitGrant.objects.count() == 0
    good = attach_card(customer, "pm_card_visa", set_default=False)
    paid = api_client.post(f"/v1/orders/{draft['id']}/finalize", {"payment_method_id": str(good.id)}, format="json")
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert list(Payment.objects.order_by("created_at").values_list("status", flat=True)) == ["failed", "succeeded"]


def test_finalize_needs_a_card_of_the_customer(api_client, other_organization, customer, ebook):
    draft = _draft(api_client, customer, ebook)
    response = api_client.post(f"/v1/orders/{draft['id']}/finalize", {}, format="json")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "payment_method_id"]
    stranger = attach_card(None, organization=other_organization)
    response = api_client.post(f"/v1/orders/{draft['id']}/finalize", {"payment_method_id": str(stranger.id)}, format="json")
    assert response.status_code == 422
    assert Order.objects.get(pk=draft["id"]).status == "draft" and Payment.objects.count() == 0


def test_create_refuses_what_cannot_be_charged_off_session(api_client, organization, other_organization, customer, ebook):
    plan = monthly_product(organization)
    foreign = one_time_product(other_organization)

    def post(**body):
        return api_client.post(
            "/v1/orders/", {"customer_id": str(customer.id), "product_id": str(ebook.id), **body}, format="json"
        )

    for body, loc in (
        ({"product_id": str(plan.id)}, ["body", "product_id"]),
        ({"product_id": str(foreign.id)}, ["body", "product_id"]),
        ({"currency": "eur"}, ["body", "currency"]),
        ({"units": 3}, ["body", "units"]),
        ({"amount": -1}, ["body", "amount"]),
        ({"customer_id": "nope"}, ["body", "customer_id"]),
    ):
        response = post(**body)
        assert response.status_code == 422, (body, response.content)
        assert response.json()["detail"][0]["loc"] == loc
    assert Order.objects.count() == 0


def test_other_organization_cannot_finalize(api_client, other_api_client, customer, card, ebook):
    draft = _draft(api_client, customer, ebook)
    assert other_api_client.post(f"/v1/orders/{draft['id']}/finalize", {}, format="json").status_code == 404
    assert (
        other_api_client.post(
            "/v1/orders/", {"customer_id": str(customer.id), "product_id": str(ebook.id)}, format="json"
        ).status_code
        == 422
    )
    assert Payment.objects.count() == 0


def test_drafts_are_listed_by_status(api_client, customer, ebook):
    draft = _draft(api_client, customer, ebook)
    assert [o["id"] for o in api_client.get("/v1/orders/", {"status": "draft"}).json()["items"]] == [draft["id"]]
