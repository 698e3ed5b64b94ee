"""The payment-method and payment endpoints: shapes (checked against polar-sdk 0.32), errors, isolation."""

import pytest
from polar_sdk import models as sdk

from billing.models import Payment, PaymentMethod
from billing.payments.services import payment_charge
from polar.organizations.services import access_token_create
from tests.conftest import _client
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card
from tests.factories.subscriptions import pending_order

pytestmark = pytest.mark.django_db


def methods_url(customer_id):
    return f"/v1/customers/{customer_id}/payment-methods"


def make_payment(customer, method, key, amount=2000, **kwargs):
    return payment_charge(customer=customer, payment_method=method, amount=amount, currency="usd", idempotency_key=key, **kwargs)


# --- POST /v1/customers/{id}/payment-methods ----------------------------------------------------------


def test_attach_visa_answers_201_in_the_contract_shape(api_client, customer):
    response = api_client.post(methods_url(customer.id), {"token": "pm_card_visa", "set_default": True}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["method_metadata"] == {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034, "wallet": None}
    assert (body["type"], body["processor"], body["is_default"], body["customer_id"]) == (
        "card",
        "stripe",
        True,
        str(customer.id),
    )
    sdk.CustomerPaymentMethodCard.model_validate(body)
    sdk.PaymentMethodCard.model_validate(body)
    customer.refresh_from_db()
    assert str(customer.default_payment_method_id) == body["id"]


def test_attach_declined_card_answers_402_with_the_decline_code_and_writes_nothing(api_client, customer):
    response = api_client.post(methods_url(customer.id), {"token": "pm_card_visa_chargeDeclined"}, format="json")
    assert response.status_code == 402
    body = response.json()
    assert (body["error"], body["decline_code"]) == ("PaymentMethodSetupFailed", "card_declined")
    sdk.PaymentMethodSetupFailedData.model_validate(body)
    assert PaymentMethod.objects.count() == 0


def test_attach_without_token_answers_422_and_writes_nothing(api_client, customer):
    response = api_client.post(methods_url(customer.id), {"set_default": True}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "token"]
    assert PaymentMethod.objects.count() == 0


def test_attach_to_another_organizations_customer_is_404(api_client, other_customer):
    response = api_client.post(methods_url(other_customer.id), {"token": "pm_card_visa"}, format="json")
    assert response.status_code == 404
    assert PaymentMethod.objects.count() == 0


def test_attach_with_a_malformed_customer_id_is_422(api_client):
    response = api_client.post(methods_url("not-a-uuid"), {"token": "pm_card_visa"}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "id"]


@pytest.mark.parametrize(("fault", "status"), [("timeout", 503), ("error", 502)])
def test_processor_trouble_answers_5xx_payment_error_not_a_crash(api_client, customer, sandbox_fault, fault, status):
    sandbox_fault(fault)
    response = api_client.post(methods_url(customer.id), {"token": "pm_card_visa"}, format="json")
    assert response.status_code == status
    assert response.json()["error"] == "PaymentError"
    assert PaymentMethod.objects.count() == 0


# --- GET / DELETE ---------------------------------------------------------------------------------------


def test_list_shows_usable_methods_with_the_default_flag(api_client, customer):
    first = attach_card(customer)
    second = attach_card(customer, token="pm_card_mastercard", set_default=False)
    response = api_client.get(methods_url(customer.id))
    assert response.status_code == 200
    body = response.json()
    sdk.ListResourceCustomerPaymentMethod.model_validate(body)
    assert body["pagination"] == {"total_count": 2, "max_page": 1}
    flags = {item["id"]: item["is_default"] for item in body["items"]}
    assert flags == {str(first.id): True, str(second.id): False}


def test_list_of_another_organizations_customer_is_404(api_client, other_customer):
    attach_card(other_customer)
    assert api_client.get(methods_url(other_customer.id)).status_code == 404


def test_list_by_external_id(api_client, organization, other_api_client):
    customer = CustomerFactory(organization=organization, external_id="user:7")
    method = attach_card(customer)
    CustomerFactory(organization=organization, external_id="user:8")  # no methods
    response = api_client.get("/v1/customers/external/user:7/payment-methods")
    assert response.status_code == 200
    body = response.json()
    sdk.ListResourceCustomerPaymentMethod.model_validate(body)
    assert [(item["id"], item["is_default"]) for item in body["items"]] == [(str(method.id), True)]
    assert api_client.get("/v1/customers/external/user:8/payment-methods").json()["items"] == []
    assert api_client.get("/v1/customers/external/nobody/payment-methods").status_code == 404
    # Another organization's external id is not ours.
    assert other_api_client.get("/v1/customers/external/user:7/payment-methods").status_code == 404


def test_delete_answers_204_and_the_method_leaves_the_list(api_client, customer):
    method = attach_card(customer)
    response = api_client.delete(f"{methods_url(customer.id)}/{method.id}")
    assert response.status_code == 204
    assert api_client.get(methods_url(customer.id)).json()["items"] == []
    customer.refresh_from_db()
    assert customer.default_payment_method_id is None


def test_delete_another_organizations_method_is_404_and_keeps_it(api_client, other_api_client, customer, other_customer):
    theirs = attach_card(other_customer)
    assert api_client.delete(f"{methods_url(other_customer.id)}/{theirs.id}").status_code == 404
    # Nor through one of our own customers' URLs.
    assert api_client.delete(f"{methods_url(customer.id)}/{theirs.id}").status_code == 404
    theirs.refresh_from_db()
    assert theirs.deleted_at is None


def test_delete_twice_is_404(api_client, customer):
    method = attach_card(customer)
    api_client.delete(f"{methods_url(customer.id)}/{method.id}")
    assert api_client.delete(f"{methods_url(customer.id)}/{method.id}").status_code == 404


def test_payment_methods_need_the_customers_scope(organization, customer):
    _row, raw = access_token_create(organization=organization, scopes=["payments:read"])
    client = _client(raw)
    assert client.get(methods_url(customer.id)).status_code == 403
    assert client.post(methods_url(customer.id), {"token": "pm_card_visa"}, format="json").status_code == 403


# --- /v1/payments/ ----------------------------------------------------------------------------------------


def test_get_payment_in_the_card_payment_shape(api_client, customer):
    method = attach_card(customer)
    order_id = pending_order(customer).id  # Payment.order is a foreign key since billing 0006
    payment = make_payment(customer, method, "order:a:attempt:1", order_id=order_id, trigger="purchase")
    response = api_client.get(f"/v1/payments/{payment.id}")
    assert response.status_code == 200
    body = response.json()
    sdk.CardPayment.model_validate(body)
    assert {
        k: body[k] for k in ("status", "amount", "currency", "method", "trigger", "order_id", "decline_reason", "processor")
    } == {
        "status": "succeeded",
        "amount": 2000,
        "currency": "usd",
        "method": "card",
        "trigger": "purchase",
        "order_id": str(order_id),
        "decline_reason": None,
        "processor": "stripe",
    }
    assert body["method_metadata"] == {"brand": "visa", "last4": "4242"}
    assert body["processor_metadata"] == {"processor": "sandbox", "charge_id": payment.processor_charge_ref, "fee": 88}


def test_declined_payment_shows_the_decline(api_client, customer):
    method = attach_card(customer, token="pm_card_visa_chargeDeclinedInsufficientFunds")
    payment = make_payment(customer, method, "order:b:attempt:1")
    body = api_client.get(f"/v1/payments/{payment.id}").json()
    assert (body["status"], body["decline_reason"], body["decline_message"]) == (
        "failed",
        "insufficient_funds",
        "Your card has insufficient funds.",
    )


def test_list_filters_by_customer_order_and_status(api_client, organization, customer):
    good = attach_card(customer)
    other = CustomerFactory(organization=organization)
    bad = attach_card(other, token="pm_card_chargeCustomerFail")
    order_id = pending_order(customer).id  # Payment.order is a foreign key since billing 0006
    p1 = make_payment(customer, good, "k1", order_id=order_id)
    p2 = make_payment(other, bad, "k2")
    p3 = make_payment(customer, good, "k3", amount=500)

    def ids(query):
        response = api_client.get("/v1/payments/", query)
        assert response.status_code == 200
        sdk.ListResourcePayment.model_validate(response.json())
        return {item["id"] for item in response.json()["items"]}

    assert ids({}) == {str(p1.id), str(p2.id), str(p3.id)}
    assert ids({"customer_id": str(customer.id)}) == {str(p1.id), str(p3.id)}
    assert ids({"order_id": str(order_id)}) == {str(p1.id)}
    assert ids({"status": "failed"}) == {str(p2.id)}
    assert ids({"method": "card", "status": ["succeeded"]}) == {str(p1.id), str(p3.id)}
    assert ids({"customer_email": other.email.upper()}) == {str(p2.id)}


def test_list_sorts_by_amount(api_client, customer):
    method = attach_card(customer)
    make_payment(customer, method, "k1", amount=300)
    make_payment(customer, method, "k2", amount=100)
    body = api_client.get("/v1/payments/", {"sorting": "amount"}).json()
    assert [item["amount"] for item in body["items"]] == [100, 300]


def test_list_with_a_bad_status_is_422(api_client):
    response = api_client.get("/v1/payments/", {"status": "refunded"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["query", "status"]


def test_payments_of_another_organization_are_invisible(api_client, other_customer):
    theirs = make_payment(other_customer, attach_card(other_customer), "k-other")
    assert api_client.get(f"/v1/payments/{theirs.id}").status_code == 404
    assert api_client.get("/v1/payments/").json()["items"] == []
    assert api_client.get("/v1/payments/", {"customer_id": str(other_customer.id)}).json()["items"] == []


def test_payments_need_the_payments_scope(organization):
    _row, raw = access_token_create(organization=organization, scopes=["customers:read"])
    assert _client(raw).get("/v1/payments/").status_code == 403
    assert Payment.objects.count() == 0


def test_list_filtered_on_another_organization_id_is_empty(api_client, customer, other_organization):
    make_payment(customer, attach_card(customer), "k1")
    assert api_client.get("/v1/payments/", {"organization_id": str(other_organization.id)}).json()["items"] == []
    assert len(api_client.get("/v1/payments/", {"organization_id": str(customer.organization_id)}).json()["items"]) == 1


def test_attaching_through_the_api_is_audited_to_the_token(api_client, customer):
    from auditlog.models import LogEntry

    response = api_client.post(methods_url(customer.id), {"token": "pm_card_visa"}, format="json")
    method = PaymentMethod.objects.get(pk=response.json()["id"])
    entry = LogEntry.objects.get_for_object(method).get()
    assert entry.action == LogEntry.Action.CREATE
    assert entry.actor_email.endswith("org:acme")
