"""Customer sessions through both SDKs: the merchant mints one (``customer_sessions.create``), and its token
authenticates the customer portal (``customer_portal.customer_session``); an expired one answers 401."""

import datetime as dt

import pytest
from polar_sdk import models as m032

from billing.models import CustomerSession
from polar import clock
from tests.factories.customers import CustomerFactory

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


def test_032_create_session_and_introspect(sdk032, contract_organization):
    customer = CustomerFactory(organization=contract_organization, email="jane@example.com", external_id="user:42")
    session = sdk032.customer_sessions.create(request={"customer_id": str(customer.id), "return_url": "https://acme.test/"})
    assert isinstance(session, m032.CustomerSession)
    assert session.token.startswith("polar_cst_")
    assert session.customer_id == str(customer.id) and session.customer.email == "jane@example.com"
    assert session.customer_portal_url.endswith(f"/portal/?customer_session_token={session.token}")
    by_external = sdk032.customer_sessions.create(request={"external_customer_id": "user:42"})
    assert by_external.customer_id == str(customer.id)

    introspected = sdk032.customer_portal.customer_session.introspect(security={"customer_session": session.token})
    assert introspected.return_url == "https://acme.test/"
    user = sdk032.customer_portal.customer_session.get_authenticated_user(security={"customer_session": session.token})
    assert (user.type, user.email, user.customer_id) == ("customer", "jane@example.com", str(customer.id))

    with pytest.raises(m032.HTTPValidationError):
        sdk032.customer_sessions.create(request={"customer_id": "00000000-0000-0000-0000-000000000001"})


def test_10_create_session_and_introspect(sdk10, contract_organization, contract_other_organization):
    customer = CustomerFactory(organization=contract_organization, email="jane@example.com", external_id="user:42")
    foreign = CustomerFactory(organization=contract_other_organization)
    created, by_external, missing = sdk10.run(
        op("customer_sessions.create", customer_id=str(customer.id), return_url="https://acme.test/"),
        op("customer_sessions.create", external_customer_id="user:42"),
        op("customer_sessions.create", customer_id=str(foreign.id)),
    )
    session = ok(created)
    assert session["__class__"] == "CustomerSession"
    assert session["token"].startswith("polar_cst_") and session["customer"]["email"] == "jane@example.com"
    assert ok(by_external)["customer_id"] == str(customer.id)
    error = failed(missing, "HTTPValidationError", 422)
    assert error["body"]["detail"][0]["loc"] == ["body", "customer_id"]

    token = session["token"]
    introspected, user = sdk10.run(
        op("customer_portal.customer_session.introspect", access_token=token),
        op("customer_portal.customer_session.get_authenticated_user", access_token=token),
    )
    assert ok(introspected)["return_url"] == "https://acme.test/"
    assert ok(user)["customer_id"] == str(customer.id)

    CustomerSession.objects.all().update(expires_at=clock.now() - dt.timedelta(seconds=1))
    [expired] = sdk10.run(op("customer_portal.customer_session.introspect", access_token=token))
    assert not expired["ok"] and expired["error"]["status_code"] == 401
