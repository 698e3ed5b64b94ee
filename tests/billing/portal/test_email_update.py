"""customer_portal.customers email update: request (a link to the NEW address), check, verify (the address
changes, verified, with a new customer session), the page the link opens; used, expired, forged and taken
cases answer 401/422 and change nothing."""

import re
from urllib.parse import unquote

import pytest
from django.core import mail

from billing.portal.email_update import EMAIL_UPDATE_MAX_AGE
from customers.models import Customer
from polar.webhooks.models import WebhookEvent
from tests.billing.portal.conftest import portal_client
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _request(portal, email):
    return portal.post("/v1/customer-portal/customers/me/email-update/request", {"email": email}, format="json")


def _token_and_link():
    [message] = mail.outbox
    link = re.search(r"(http\S+/portal/email/verify\?token=\S+)", message.body).group(1)
    return unquote(link.split("token=")[1]), message


def test_request_mails_the_new_address_and_verify_changes_it(portal, customer, anonymous_client):
    response = _request(portal, "jane.new@example.com")
    assert response.status_code == 202 and response.content == b"null"
    token, message = _token_and_link()
    assert message.to == ["jane.new@example.com"] and "Confirm" in message.subject
    customer.refresh_from_db()
    assert customer.email == "jane@example.com"  # nothing changes before the verify

    check = anonymous_client.get("/v1/customer-portal/customers/me/email-update/check", {"token": token})
    assert check.status_code == 204
    verified = anonymous_client.post("/v1/customer-portal/customers/me/email-update/verify", {"token": token}, format="json")
    assert verified.status_code == 200, verified.content
    customer.refresh_from_db()
    assert (customer.email, customer.email_verified) == ("jane.new@example.com", True)
    assert WebhookEvent.objects.filter(type="customer.updated").count() == 1
    # The answer is a new customer session of the same customer.
    me = portal_client(verified.json()["token"]).get("/v1/customer-portal/customers/me").json()
    assert (me["id"], me["email"], me["email_verified"]) == (str(customer.id), "jane.new@example.com", True)

    # The token worked once: the address it replaces is gone.
    again = anonymous_client.post("/v1/customer-portal/customers/me/email-update/verify", {"token": token}, format="json")
    assert again.status_code == 401 and again.json()["error"] == "InvalidCustomerEmailUpdate"
    assert anonymous_client.get("/v1/customer-portal/customers/me/email-update/check", {"token": token}).status_code == 401


def test_an_address_another_customer_has_is_422_at_verify(portal, customer, organization, anonymous_client):
    CustomerFactory(organization=organization, email="taken@example.com")
    assert _request(portal, "taken@example.com").status_code == 202  # the request says nothing of who is a customer
    token, _message = _token_and_link()
    response = anonymous_client.post("/v1/customer-portal/customers/me/email-update/verify", {"token": token}, format="json")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "email"]
    customer.refresh_from_db()
    assert customer.email == "jane@example.com"


def test_a_forged_token_is_401(portal, customer, anonymous_client):
    _request(portal, "jane.new@example.com")
    token, _message = _token_and_link()
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (forged, "nope"):
        response = anonymous_client.post("/v1/customer-portal/customers/me/email-update/verify", {"token": bad}, format="json")
        assert response.status_code == 401, bad
    customer.refresh_from_db()
    assert customer.email == "jane@example.com"


def test_an_old_token_is_401(customer, anonymous_client, monkeypatch):
    import time

    from billing.portal.email_update import email_update_token

    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - EMAIL_UPDATE_MAX_AGE.total_seconds() - 5)
    token = email_update_token(customer=customer, email="late@example.com")
    monkeypatch.undo()
    response = anonymous_client.get("/v1/customer-portal/customers/me/email-update/check", {"token": token})
    assert response.status_code == 401
    assert Customer.objects.get(pk=customer.pk).email == "jane@example.com"


def test_a_second_request_within_a_minute_sends_nothing_more(portal):
    assert _request(portal, "a@example.com").status_code == 202
    assert _request(portal, "b@example.com").status_code == 202
    assert [m.to for m in mail.outbox] == [["a@example.com"]]


def test_bad_input_is_422_and_the_request_needs_a_session(portal, anonymous_client):
    response = _request(portal, "not-an-email")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "email"]
    assert _request(anonymous_client, "a@example.com").status_code == 401
    assert mail.outbox == []


def test_the_link_opens_a_page_that_confirms_and_signs_in(portal, customer, client):
    _request(portal, "jane.new@example.com")
    token, _message = _token_and_link()
    page = client.get("/portal/email/verify", {"token": token})
    assert page.status_code == 200 and "jane.new@example.com" in page.content.decode()
    customer.refresh_from_db()
    assert customer.email == "jane@example.com"  # opening the link changes nothing
    response = client.post("/portal/email/verify", {"token": token})
    assert response.status_code == 302 and response["Location"] == "/portal/"
    customer.refresh_from_db()
    assert customer.email == "jane.new@example.com"
    assert "Your e-mail address is now jane.new@example.com." in client.get("/portal/").content.decode()
    used = client.get("/portal/email/verify", {"token": token})
    assert used.status_code == 403 and "no longer valid" in used.content.decode()


def test_the_overview_asks_for_a_change_by_email(client, customer):
    from tests.billing.portal.test_pages import sign_in

    sign_in(client, customer)
    assert "Change my e-mail address" in client.get("/portal/").content.decode()
    response = client.post("/portal/email/change", {"email": "jane.new@example.com"})
    assert response.status_code == 302
    token, message = _token_and_link()
    assert message.to == ["jane.new@example.com"]
    assert "We sent a link to jane.new@example.com" in client.get("/portal/").content.decode()
    assert client.post("/portal/email/change", {"email": "nope"}).status_code == 302  # refused, said on the page
    assert len(mail.outbox) == 1
    customer.refresh_from_db()
    assert customer.email == "jane@example.com"
