"""Paying an order emails one receipt (HTML + text, money as money, the invoice link), after the commit."""

import pytest

from billing import tasks
from billing.checkouts import services as checkout_services
from billing.models import Order
from billing.orders import services as order_services
from tests.factories.subscriptions import monthly_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def pay(organization, django_capture_on_commit_callbacks):
    product = monthly_product(organization, name="Pro plan", amount=5000)

    def pay_checkout(email="jane@example.com"):
        checkout = checkout_services.checkout_create(organization=organization, products=[product.id])
        with django_capture_on_commit_callbacks(execute=True):
            checkout_services.checkout_confirm(checkout=checkout, customer_email=email, confirmation_token_id="pm_card_visa")
        return Order.objects.get(customer__email=email)

    return pay_checkout


def test_paying_a_checkout_sends_one_receipt(pay, mailoutbox):
    order = pay()
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["jane@example.com"]
    assert f"order {order.invoice_number}" in mail.subject and "Acme" in mail.subject
    assert "Total: $50.00" in mail.body and f"/invoices/{order.id}/" in mail.body
    html, mimetype = mail.alternatives[0]
    assert mimetype == "text/html"
    assert "$50.00" in html and f"Receipt for order {order.invoice_number}" in html and f"/invoices/{order.id}/" in html
    assert ">5000<" not in html


def test_paying_again_or_rerunning_the_task_sends_no_second_receipt(pay, mailoutbox, django_capture_on_commit_callbacks):
    order = pay()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        order_services.order_mark_paid(order=order)
    assert callbacks == []  # already paid: nothing enqueued
    assert tasks.order_receipt_send(str(order.id)) is False
    assert tasks.order_receipt_send.delay(str(order.id)).get() is False
    assert len(mailoutbox) == 1


def test_no_receipt_when_the_payment_rolls_back(organization, mailoutbox, django_capture_on_commit_callbacks):
    from django.db import transaction

    product = monthly_product(organization, name="Pro plan", amount=5000)
    checkout = checkout_services.checkout_create(organization=organization, products=[product.id])
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                checkout_services.checkout_confirm(
                    checkout=checkout, customer_email="jo@example.com", confirmation_token_id="pm_card_visa"
                )
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert mailoutbox == []


def test_a_failed_send_can_be_retried(pay, mailoutbox, monkeypatch, organization):
    from django.core.mail import EmailMultiAlternatives

    calls = []
    original = EmailMultiAlternatives.send

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("smtp down")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", flaky)
    order = pay()  # the first send fails: the task asks Celery for a retry; the committed payment stands
    assert mailoutbox == []
    assert tasks.order_receipt_send(str(order.id)) is True
    assert len(mailoutbox) == 1


def _free_product(organization):
    from billing.catalog.services import product_create

    return product_create(
        organization=organization,
        name="Community plan",
        recurring_interval="month",
        recurring_interval_count=1,
        prices=[{"amount_type": "free", "price_currency": "usd"}],
    )


def test_a_free_order_gets_a_confirmation_receipt(organization, mailoutbox, django_capture_on_commit_callbacks):
    checkout = checkout_services.checkout_create(organization=organization, products=[_free_product(organization).id])
    with django_capture_on_commit_callbacks(execute=True):
        checkout_services.checkout_confirm(checkout=checkout, customer_email="free@example.com")
    order = Order.objects.get(customer__email="free@example.com")
    assert (order.status, order.total_amount) == ("paid", 0)
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["free@example.com"] and "order confirmation" in mail.subject
    assert "nothing to pay" in mail.body and "Total: $0.00" in mail.body
    assert "We received your payment" not in mail.body
    assert tasks.order_receipt_send(str(order.id)) is False  # still once


def test_the_receipts_invoice_link_lasts_thirty_days_not_an_hour(pay, mailoutbox, client, monkeypatch):
    import re
    import time
    import types

    from django.core import signing

    from billing.orders.pages import invoice_signed_path

    order = pay()
    email_path = re.search(r"(/invoices/\S+)", mailoutbox[0].body).group(1)
    api_path = invoice_signed_path(order)
    assert client.get(email_path).status_code == 200
    assert order.invoice_number in client.get(email_path).content.decode()

    def later(days):  # signatures are checked against the signing module's clock
        monkeypatch.setattr(signing, "time", types.SimpleNamespace(time=lambda: time.time() + days * 86400))

    later(2)
    assert client.get(api_path).status_code == 404  # the API's link: one hour
    assert client.get(email_path).status_code == 200
    later(29)
    assert client.get(email_path).status_code == 200
    later(31)
    assert client.get(email_path).status_code == 404
    # The two links are signed apart: the e-mail's signature is not the API's one.
    assert email_path != api_path


def test_the_receipt_links_to_the_portal_when_given_a_link(pay, mailoutbox):
    from django.core.cache import cache

    from billing.orders.emails import order_receipt_send

    order = pay()
    assert "/portal/?customer_session_token=polar_cst_" in mailoutbox[0].body  # the task's link: a fresh session
    cache.delete(f"billing:receipt:{order.id}")
    seen = []

    def portal_url_for(customer):
        seen.append(customer.id)
        return "http://testserver/portal/entry"

    assert order_receipt_send(order.id, portal_url_for=portal_url_for) is True
    assert seen == [order.customer_id]
    mail = mailoutbox[-1]
    assert "Customer portal (subscriptions, cards, invoices): http://testserver/portal/entry" in mail.body
    assert 'href="http://testserver/portal/entry"' in mail.alternatives[0][0]


@pytest.mark.parametrize("path", ["single", "batch"])
def test_a_free_renewal_gets_a_receipt_on_both_renewal_paths(organization, mailoutbox, django_capture_on_commit_callbacks, path):
    import datetime as dt

    from billing.renewals import batch as renewals_batch
    from billing.renewals.cycle import subscription_cycle
    from billing.subscriptions.lifecycle import subscription_create
    from polar import clock
    from tests.factories import CustomerFactory

    start = dt.datetime(2026, 1, 31, 12, 0, tzinfo=dt.UTC)
    customer = CustomerFactory(organization=organization, email="free@example.com")
    with clock.freeze(start), django_capture_on_commit_callbacks(execute=True):
        subscription = subscription_create(organization=organization, customer=customer, product=_free_product(organization))
    assert len(mailoutbox) == 1  # the first (free) order
    with clock.freeze(dt.datetime(2026, 2, 28, 12, 1, tzinfo=dt.UTC)), django_capture_on_commit_callbacks(execute=True):
        if path == "batch":
            renewals_batch.subscription_cycles_run(subscription_ids=[subscription.id])
        else:
            subscription_cycle(subscription_id=subscription.id)
    renewal = Order.objects.get(subscription=subscription, billing_reason="subscription_cycle")
    assert (renewal.status, renewal.total_amount) == ("paid", 0)
    assert len(mailoutbox) == 2 and renewal.invoice_number in mailoutbox[1].subject
