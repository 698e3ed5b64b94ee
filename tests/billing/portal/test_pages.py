"""The customer portal pages (/portal/) with Django's test client: signing in with a customer session
token (valid, expired, unknown), the overview, cancel/uncancel, adding a card, invoices, 404 for another
customer's ids, CSRF, the sign-in link by e-mail. ``customer``/``other_customer`` come from conftest.py."""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from auditlog.models import LogEntry
from django.test import Client

from billing.checkouts import services as checkout_services
from billing.models import Order, PaymentMethod, Subscription
from billing.portal.sessions import customer_session_create
from polar import clock
from tests.factories.subscriptions import monthly_product

pytestmark = pytest.mark.django_db


def subscribe(organization, customer, *, name="Pro plan", amount=5000, card="pm_card_visa"):
    """``customer`` buys a monthly product through a checkout: one subscription, one paid order, one card."""
    product = monthly_product(organization, name=name, amount=amount)
    checkout = checkout_services.checkout_create(organization=organization, products=[product.id])
    checkout_services.checkout_confirm(
        checkout=checkout, customer_email=customer.email, customer_name=customer.name, confirmation_token_id=card
    )
    return Subscription.objects.get(customer=customer, product=product)


def sign_in(client, customer):
    _session, token = customer_session_create(customer=customer)
    response = client.get(f"/portal/?customer_session_token={token}")
    assert response.status_code == 302 and response["Location"] == "/portal/"
    return response


@pytest.fixture
def subscription(organization, customer):
    return subscribe(organization, customer)


@pytest.fixture
def other_subscription(organization, other_customer):
    return subscribe(organization, other_customer, name="Team plan", amount=9000)


@pytest.fixture
def signed_in(client, customer, subscription):
    sign_in(client, customer)
    return client


# --- signing in -----------------------------------------------------------------------------------------------


def test_a_valid_token_signs_in_and_the_overview_shows_the_customers_rows(signed_in, subscription):
    response = signed_in.get("/portal/")
    html = response.content.decode()
    assert response.status_code == 200
    order = Order.objects.get(subscription=subscription)
    assert "Pro plan" in html and "$50.00 / month" in html and order.invoice_number in html
    assert "Visa •••• 4242" in html and 'name="viewport"' in html
    # The Django session ends with the customer session (an hour), not at the browser's default.
    assert 3500 < signed_in.session.get_expiry_age() <= 3600


def test_the_token_is_dropped_from_the_address_after_sign_in(client, customer, subscription):
    response = sign_in(client, customer)
    assert "customer_session_token" not in response["Location"]
    assert client.get(response["Location"]).status_code == 200


def test_an_expired_token_shows_the_link_expired_page(client, customer, subscription):
    with clock.freeze(clock.now() - dt.timedelta(hours=2)):
        _session, token = customer_session_create(customer=customer)
    response = client.get(f"/portal/?customer_session_token={token}")
    assert response.status_code == 403
    html = response.content.decode()
    assert "This link has expired" in html
    # The session's merchant is known: the page offers its form for a new link.
    assert f'action="/portal/{customer.organization.slug}/"' in html
    assert client.get("/portal/").status_code == 403  # not signed in


@pytest.mark.parametrize("token", ["polar_cst_not-a-token", "polar_oat_abc", "x"])
def test_an_unknown_or_foreign_token_signs_nobody_in(client, token):
    response = client.get(f"/portal/?customer_session_token={token}")
    assert response.status_code == 403 and "This link has expired" in response.content.decode()


def test_an_organization_token_is_not_a_customer_session(client, token, customer):
    # The merchant's API token (conftest's ``token``) opens no customer's portal.
    response = client.get(f"/portal/?customer_session_token={token}")
    assert response.status_code == 403


def test_the_portal_signs_out_when_the_customer_session_expires(signed_in, organization):
    with clock.freeze(clock.now() + dt.timedelta(hours=1, minutes=1)):
        response = signed_in.get("/portal/")
    html = response.content.decode()
    assert response.status_code == 403 and "This link has expired" in html
    # The expired page offers a new link for the same merchant.
    assert f'action="/portal/{organization.slug}/"' in html


def test_without_a_session_the_portal_asks_for_a_link(client, db):
    response = client.get("/portal/")
    assert response.status_code == 403 and "Sign in to your customer portal" in response.content.decode()


def test_a_second_token_signs_in_as_its_own_customer(client, customer, other_customer, subscription, other_subscription):
    sign_in(client, customer)
    sign_in(client, other_customer)
    html = client.get("/portal/").content.decode()
    assert "Team plan" in html and "Pro plan" not in html


def test_sign_out(signed_in):
    assert signed_in.post("/portal/sign-out").status_code == 200
    assert signed_in.get("/portal/").status_code == 403


# --- another customer's rows ---------------------------------------------------------------------------------


def test_another_customers_ids_answer_404_and_change_nothing(signed_in, other_subscription, other_customer):
    other_order = Order.objects.get(subscription=other_subscription)
    other_card = PaymentMethod.objects.get(customer=other_customer)
    assert signed_in.get(f"/portal/subscriptions/{other_subscription.id}").status_code == 404
    assert signed_in.post(f"/portal/subscriptions/{other_subscription.id}/cancel").status_code == 404
    assert signed_in.post(f"/portal/subscriptions/{other_subscription.id}/uncancel").status_code == 404
    assert signed_in.get(f"/portal/invoices/{other_order.id}").status_code == 404
    assert signed_in.get(f"/portal/invoices/{other_order.id}?download=1").status_code == 404
    assert signed_in.post(f"/portal/cards/{other_card.id}/delete").status_code == 404
    other_subscription.refresh_from_db()
    other_card.refresh_from_db()
    assert other_subscription.cancel_at_period_end is False and other_card.deleted_at is None
    assert "Team plan" not in signed_in.get("/portal/").content.decode()


# --- cancel / uncancel -----------------------------------------------------------------------------------------


def test_cancel_then_uncancel_through_the_services_with_the_customer_as_actor(signed_in, subscription, customer):
    page = signed_in.get(f"/portal/subscriptions/{subscription.id}").content.decode()
    assert "Cancel subscription" in page
    response = signed_in.post(f"/portal/subscriptions/{subscription.id}/cancel", {"reason": "too_expensive", "comment": "pricey"})
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end and subscription.status == "active"
    assert subscription.customer_cancellation_reason == "too_expensive"
    assert subscription.customer_cancellation_comment == "pricey"
    page = signed_in.get(response["Location"]).content.decode()
    assert "stays active until" in page and "Keep my subscription" in page
    entry = LogEntry.objects.get_for_object(subscription).order_by("-timestamp").first()
    assert entry.actor_email.startswith(f"customer:{customer.id} ")

    assert signed_in.post(f"/portal/subscriptions/{subscription.id}/uncancel").status_code == 302
    subscription.refresh_from_db()
    assert not subscription.cancel_at_period_end and subscription.ends_at is None
    assert "continues" in signed_in.get(f"/portal/subscriptions/{subscription.id}").content.decode()


def test_cancel_emits_the_same_webhooks_as_the_api(signed_in, subscription):
    from polar.webhooks.models import WebhookEvent

    signed_in.post(f"/portal/subscriptions/{subscription.id}/cancel")
    types = set(WebhookEvent.objects.filter(organization=subscription.organization).values_list("type", flat=True))
    assert {"subscription.updated", "subscription.canceled"} <= types


def test_canceling_twice_says_so_and_keeps_the_first_cancellation(signed_in, subscription):
    signed_in.post(f"/portal/subscriptions/{subscription.id}/cancel", {"reason": "unused"})
    response = signed_in.post(f"/portal/subscriptions/{subscription.id}/cancel", {"reason": "other"}, follow=True)
    assert "already canceled" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.customer_cancellation_reason == "unused"


def test_a_bad_cancellation_reason_is_a_422_and_nothing_changes(signed_in, subscription):
    response = signed_in.post(f"/portal/subscriptions/{subscription.id}/cancel", {"reason": "spite"})
    assert response.status_code == 422
    subscription.refresh_from_db()
    assert not subscription.cancel_at_period_end


# --- cards ---------------------------------------------------------------------------------------------------


def test_adding_a_card_makes_it_the_default(signed_in, customer):
    assert "Sandbox test cards" in signed_in.get("/portal/cards/new").content.decode()
    response = signed_in.post("/portal/cards/new", {"card_number": "5555 5555 5555 4444"})
    assert response.status_code == 302
    customer.refresh_from_db()
    card = PaymentMethod.objects.get(pk=customer.default_payment_method_id)
    assert (card.brand, card.last4) == ("mastercard", "4444")
    html = signed_in.get("/portal/").content.decode()
    assert "Mastercard •••• 4444 is now your default card" in html
    entry = LogEntry.objects.get_for_object(card).first()
    assert entry.actor_email.startswith(f"customer:{customer.id} ")


def test_a_declined_card_shows_the_decline_and_saves_nothing(signed_in, customer):
    before = PaymentMethod.objects.filter(customer=customer).count()
    response = signed_in.post("/portal/cards/new", {"card_number": "4000 0000 0000 0002"})
    assert response.status_code == 402
    assert "declined (card_declined)" in response.content.decode()
    assert PaymentMethod.objects.filter(customer=customer).count() == before


def test_a_number_that_is_not_a_card_is_refused_before_the_processor(signed_in, customer):
    before = PaymentMethod.objects.filter(customer=customer).count()
    response = signed_in.post("/portal/cards/new", {"card_number": "1234 1234 1234 1234"})
    assert response.status_code == 422 and "Invalid card number" in response.content.decode()
    assert PaymentMethod.objects.filter(customer=customer).count() == before


def test_the_only_card_of_a_live_subscription_is_not_removed(signed_in, customer):
    card = PaymentMethod.objects.get(customer=customer)
    assert signed_in.post(f"/portal/cards/{card.id}/delete").status_code == 302
    card.refresh_from_db()
    assert card.deleted_at is None
    assert "add another card first" in signed_in.get("/portal/").content.decode()


def test_removing_a_card_hands_its_place_to_the_other(signed_in, customer, subscription):
    old = PaymentMethod.objects.get(customer=customer)
    signed_in.post("/portal/cards/new", {"card_number": "5555 5555 5555 4444"})
    new = PaymentMethod.objects.get(customer=customer, last4="4444")
    assert signed_in.post(f"/portal/cards/{old.id}/delete").status_code == 302
    old.refresh_from_db()
    subscription.refresh_from_db()
    assert old.deleted_at is not None and subscription.payment_method_id == new.id
    html = signed_in.get("/portal/").content.decode()
    assert "Visa •••• 4242 is removed." in html and "Visa •••• 4242</strong>" not in html


# --- invoices ------------------------------------------------------------------------------------------------


def test_the_invoice_opens_and_downloads(signed_in, subscription):
    order = Order.objects.get(subscription=subscription)
    response = signed_in.get(f"/portal/invoices/{order.id}")
    html = response.content.decode()
    assert response.status_code == 200 and f"Invoice {order.invoice_number}" in html
    assert "Amount paid: $50.00 · Amount due: $0.00" in html and 'href="/portal/"' in html
    download = signed_in.get(f"/portal/invoices/{order.id}?download=1")
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="invoice-{order.invoice_number}.html"'
    assert "<style>" in download.content.decode() and "--accent" in download.content.decode()  # opens offline


def test_the_invoice_needs_a_session(client, subscription):
    order = Order.objects.get(subscription=subscription)
    assert client.get(f"/portal/invoices/{order.id}").status_code == 403


# --- CSRF ----------------------------------------------------------------------------------------------------


def test_every_form_needs_the_csrf_token(customer, subscription):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, customer)
    card = PaymentMethod.objects.get(customer=customer)
    for path, data in [
        (f"/portal/subscriptions/{subscription.id}/cancel", {}),
        (f"/portal/subscriptions/{subscription.id}/uncancel", {}),
        ("/portal/cards/new", {"card_number": "4242424242424242"}),
        (f"/portal/cards/{card.id}/delete", {}),
        ("/portal/sign-out", {}),
    ]:
        assert client.post(path, data).status_code == 403, path
    subscription.refresh_from_db()
    assert not subscription.cancel_at_period_end
    # With the token the page carries, the same form works.
    page = client.get(f"/portal/subscriptions/{subscription.id}").content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert client.post(f"/portal/subscriptions/{subscription.id}/cancel", {"csrfmiddlewaretoken": csrf}).status_code == 302
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end


# --- a new link by e-mail --------------------------------------------------------------------------------------


def test_a_new_link_by_email_signs_in(client, organization, customer, subscription, mailoutbox):
    page = client.get(f"/portal/{organization.slug}/")
    assert page.status_code == 200 and "Email me a sign-in link" in page.content.decode()
    response = client.post(f"/portal/{organization.slug}/", {"email": customer.email.upper()})
    assert response.status_code == 200 and "a sign-in link is on its way" in response.content.decode()
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [customer.email]
    link = urlsplit(re.search(r"(http\S+/portal/\?customer_session_token=\S+)", mailoutbox[0].body).group(1))
    assert client.get(f"{link.path}?{link.query}").status_code == 302
    assert "Pro plan" in client.get("/portal/").content.decode()
    # Again at once: the same answer, no second e-mail (one a minute per address).
    client.post(f"/portal/{organization.slug}/", {"email": customer.email})
    assert len(mailoutbox) == 1


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, organization, mailoutbox, customer):
    response = client.post(f"/portal/{organization.slug}/", {"email": "nobody@example.com"})
    assert response.status_code == 200 and "a sign-in link is on its way" in response.content.decode()
    assert mailoutbox == []


def test_another_organizations_customer_gets_no_link(client, other_organization, customer, mailoutbox):
    client.post(f"/portal/{other_organization.slug}/", {"email": customer.email})
    assert mailoutbox == []


def test_an_unknown_organization_is_404(client, db):
    assert client.get("/portal/no-such-merchant/").status_code == 404


def test_the_checkout_success_page_links_to_the_merchants_portal_sign_in(client, organization, customer, subscription):
    checkout = subscription.checkout
    html = client.get(f"/checkout/{checkout.client_secret}").content.decode()
    assert "Thank you!" in html and f'href="/portal/{organization.slug}/"' in html


def test_the_receipt_links_into_the_portal_with_a_fresh_session(
    organization, customer, client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the receipt task runs eagerly on commit
        subscribe(organization, customer)
    body = mailoutbox[-1].body
    link = urlsplit(re.search(r"Customer portal \(subscriptions, cards, invoices\): (\S+)", body).group(1))
    assert link.path == "/portal/" and link.query.startswith("customer_session_token=polar_cst_")
    assert client.get(f"{link.path}?{link.query}").status_code == 302
    assert "Pro plan" in client.get("/portal/").content.decode()
    assert 'href="http' in mailoutbox[-1].alternatives[0][0] and "your customer portal</a>" in mailoutbox[-1].alternatives[0][0]


def test_a_new_card_pays_what_is_past_due_at_once(organization, customer, client):
    from django.core.management import call_command

    from tests.factories.payments import attach_card

    start = dt.datetime(2026, 1, 31, 12, 0, tzinfo=dt.UTC)
    with clock.freeze(start):
        subscription = subscribe(organization, customer, amount=2000)
        # The card on file starts failing before the renewal (as tests/billing/dunning).
        failing = attach_card(customer, "pm_card_chargeCustomerFail")
        subscription.payment_method = failing
        subscription.save(update_fields=["payment_method"])
    call_command("run_billing", now="2026-02-28T13:00:00+00:00")
    subscription.refresh_from_db()
    assert subscription.status == "past_due"
    renewal = Order.objects.get(subscription=subscription, billing_reason="subscription_cycle")
    assert renewal.status == "pending"
    with clock.freeze(dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)):
        sign_in(client, customer)
        home = client.get("/portal/").content.decode()
        assert 'data-testid="payment-due"' in home and "A payment failed" in home
        client.post("/portal/cards/new", {"card_number": "4242 4242 4242 4242"})
        home = client.get("/portal/").content.decode()
    renewal.refresh_from_db()
    subscription.refresh_from_db()
    assert renewal.status == "paid" and subscription.status == "active"
    assert "Paid 1 overdue invoice with it." in home and 'data-testid="payment-due"' not in home


def test_a_new_card_that_declines_the_past_due_payment_says_so(organization, customer, client):
    from django.core.management import call_command

    from tests.factories.payments import attach_card

    with clock.freeze(dt.datetime(2026, 1, 31, 12, 0, tzinfo=dt.UTC)):
        subscription = subscribe(organization, customer, amount=2000)
        subscription.payment_method = attach_card(customer, "pm_card_chargeCustomerFail")
        subscription.save(update_fields=["payment_method"])
    call_command("run_billing", now="2026-02-28T13:00:00+00:00")
    with clock.freeze(dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)):
        sign_in(client, customer)
        client.post("/portal/cards/new", {"card_number": "4000 0000 0000 9995"})  # saves, then declines charges
        home = client.get("/portal/").content.decode()
    assert "declined with this card too" in home
    assert Order.objects.get(subscription=subscription, billing_reason="subscription_cycle").status == "pending"


# --- the demo's link -------------------------------------------------------------------------------------------


def test_demo_portal_signs_in_as_the_demo_customer_with_a_past_due_subscription_first(client, db):
    from tests.factories import CustomerFactory, OrganizationFactory

    demo = OrganizationFactory(slug="demo", name="Demo merchant")
    assert client.get("/demo/portal").status_code == 404  # not seeded yet
    happy = CustomerFactory(organization=demo, email="happy@demo.example", name="Happy")
    late = CustomerFactory(organization=demo, email="late@demo.example", name="Late")
    subscribe(demo, late, name="Late plan")
    subscribe(demo, happy, name="Happy plan")
    response = client.get("/demo/portal")
    assert response.status_code == 302 and response["Location"].startswith("/portal/?customer_session_token=polar_cst_")
    client.get(response["Location"])
    assert "Happy plan" in client.get("/portal/").content.decode()  # the newest subscriber
    Subscription.objects.filter(customer=late).update(status="past_due")  # test setup: as the dunning demo leaves it
    client.get(client.get("/demo/portal")["Location"])
    assert "Late plan" in client.get("/portal/").content.decode()


def test_demo_portal_is_404_outside_development(client, settings, db):
    settings.DEVELOPMENT = False
    settings.DEBUG = False
    assert client.get("/demo/portal").status_code == 404


def test_the_landing_page_links_to_the_demo_portal(client, db):
    assert 'href="/demo/portal"' in client.get("/").content.decode()


def test_the_merchants_return_url_is_linked_only_as_a_web_address(client, customer, subscription):
    for return_url, shown in [("https://acme.example/account", True), ("javascript:alert(1)", False)]:
        _session, token = customer_session_create(customer=customer, return_url=return_url)
        client.get(f"/portal/?customer_session_token={token}")
        html = client.get("/portal/").content.decode()
        assert (f'href="{return_url}"' in html) is shown and "javascript:" not in html
