"""customer_portal.customers' e-mail change through polar-sdk 1.0.2 (each API version) and 0.32: request
with the customer session, check and verify with the token from the e-mail (a new session token comes
back), a used or forged token is the typed 401."""

import re
from urllib.parse import unquote

import pytest
from django.core import mail
from polar_sdk import models as m032

from billing.portal.sessions import customer_session_create
from customers.models import Customer
from tests.factories import CustomerFactory

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


@pytest.fixture
def jane(contract_organization):
    return CustomerFactory(organization=contract_organization, email="jane@example.com", name="Jane")


def _mailed_token() -> str:
    [message] = mail.outbox
    return unquote(re.search(r"/portal/email/verify\?token=(\S+)", message.body).group(1))


def test_10_email_change(sdk10, jane):
    session_token = customer_session_create(customer=jane)[1]
    [requested] = sdk10.run(
        op("customer_portal.customers.request_email_update", email="jane@new.example", access_token=session_token)
    )
    assert ok(requested) is None  # 202, JSON null
    token = _mailed_token()
    checked, verified, reused, forged = sdk10.run(
        op("customer_portal.customers.check_email_update", token=token, access_token=session_token),
        op("customer_portal.customers.verify_email_update", token=token, access_token=session_token),
        op("customer_portal.customers.verify_email_update", token=token, access_token=session_token),
        op("customer_portal.customers.check_email_update", token=token + "x", access_token=session_token),
    )
    assert ok(checked) is None
    assert ok(verified)["__class__"] == "CustomerEmailUpdateVerifyResponse"
    failed(reused, "CustomerPortalCustomersVerifyEmailUpdate401Error", 401)
    failed(forged, "CustomerPortalCustomersCheckEmailUpdate401Error", 401)
    assert Customer.objects.get(pk=jane.pk).email == "jane@new.example"
    [me] = sdk10.run(op("customer_portal.customers.get", access_token=ok(verified)["token"]))
    assert ok(me)["email"] == "jane@new.example" and ok(me)["email_verified"] is True


def test_032_email_change(sdk032, jane):
    security = {"customer_session": customer_session_create(customer=jane)[1]}
    sdk032.customer_portal.customers.request_email_update(security=security, request={"email": "jane@new.example"})
    token = _mailed_token()
    verified = sdk032.customer_portal.customers.verify_email_update(request={"token": token})
    assert isinstance(verified, m032.CustomerEmailUpdateVerifyResponse) and verified.token.startswith("polar_cst_")
    assert Customer.objects.get(pk=jane.pk).email == "jane@new.example"
