"""Payment-method factories go through the service, so the sandbox holds the card as it would in real use."""

from billing.payments.services import payment_method_attach
from tests.factories import CustomerFactory


def attach_card(customer=None, token="pm_card_visa", set_default=True, **customer_kwargs):
    """Attach a sandbox test card to ``customer`` (a new one if None) and return the PaymentMethod."""
    customer = customer or CustomerFactory(**customer_kwargs)
    return payment_method_attach(customer=customer, token=token, set_default=set_default)
