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
