"""POST /v1/customer-sessions/ and customer session authentication of the portal API."""

import datetime as dt

import pytest

from billing.models import CustomerSession
from billing.portal.sessions import customer_portal_url, customer_session_authenticate, customer_session_create
from customers.services import customer_delete
from polar import clock
from polar.organizations.services import access_token_create
from tests.billing.portal.conftest import portal_client
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_create_by_customer_id_returns_a_token_that_authenticates(api_client, customer, settings):
    settings.PUBLIC_BASE_URL = "https://billing.example.com"
    response = api_client.post(
        "/v1/customer-sessions/", {"customer_id": str(customer.id), "return_url": "https://acme.test/account"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["token"].startswith("polar_cst_")
    assert body["customer_id"] == str(customer.id)
    assert body["customer"]["email"] == "jane@example.com"
    assert body["return_url"] == "https://acme.test/account"
    assert body["customer_portal_url"] == f"https://billing.example.com/portal/?customer_session_token={body['token']}"
    session = CustomerSession.objects.get()
    assert session.token_hash != body["token"]  # only the hash is stored
    assert session.expires_at - session.created_at == pytest.approx(dt.timedelta(hours=1), abs=dt.timedelta(seconds=5))
    assert customer_session_authenticate(body["token"]) == session


def test_create_by_external_id_and_polar_alias(api_client, organization):
    customer = CustomerFactory(organization=organization, external_id="user:42")
    for key in ("external_customer_id", "customer_external_id"):
        response = api_client.post("/v1/customer-sessions/", {key: "user:42"}, format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["customer_id"] == str(customer.id)


def test_create_for_another_organizations_customer_is_422(api_client, other_organization):
    foreign = CustomerFactory(organization=other_organization)
    response = api_client.post("/v1/customer-sessions/", {"customer_id": str(foreign.id)}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "customer_id"]
    assert not CustomerSession.objects.exists()


def test_create_without_a_customer_is_422(api_client):
    response = api_client.post("/v1/customer-sessions/", {"return_url": "https://acme.test"}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "customer_id"]


def test_create_needs_the_customer_sessions_scope(organization, customer):
    _row, raw = access_token_create(organization=organization, scopes=["customers:write"])
    response = portal_client(raw).post("/v1/customer-sessions/", {"customer_id": str(customer.id)}, format="json")
    assert response.status_code == 403


def test_create_honours_idempotency_key(api_client, customer):
    headers = {"HTTP_IDEMPOTENCY_KEY": "session-1"}
    first = api_client.post("/v1/customer-sessions/", {"customer_id": str(customer.id)}, format="json", **headers)
    second = api_client.post("/v1/customer-sessions/", {"customer_id": str(customer.id)}, format="json", **headers)
    assert first.json()["token"] == second.json()["token"]
    assert CustomerSession.objects.count() == 1


def test_portal_answers_the_session_and_its_user(portal, customer):
    body = portal.get("/v1/customer-portal/customer-session/introspect").json()
    assert set(body) == {"expires_at", "return_url"}
    user = portal.get("/v1/customer-portal/customer-session/user").json()
    assert (user["type"], user["email"], user["customer_id"]) == ("customer", "jane@example.com", str(customer.id))


def test_expired_session_is_401(customer):
    session, raw = customer_session_create(customer=customer)
    with clock.freeze(session.expires_at):
        assert customer_session_authenticate(raw) is None
    CustomerSession.objects.filter(pk=session.pk).update(expires_at=clock.now() - dt.timedelta(seconds=1))
    response = portal_client(raw).get("/v1/customer-portal/customer-session/introspect")
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"


def test_deleted_customer_session_is_401(organization, customer, session_token):
    customer_delete(customer=customer, anonymize=False)
    assert portal_client(session_token).get("/v1/customer-portal/customer-session/introspect").status_code == 401


def test_organization_token_is_401_in_the_portal_and_session_token_outside(api_client, portal):
    assert api_client.get("/v1/customer-portal/customer-session/introspect").status_code == 401
    assert portal.get("/v1/products/").status_code == 401


def test_wrong_or_missing_token_is_401(anonymous_client):
    assert anonymous_client.get("/v1/customer-portal/customer-session/introspect").status_code == 401
    response = portal_client("polar_cst_nope").get("/v1/customer-portal/customer-session/introspect")
    assert response.status_code == 401


def test_portal_url_is_absolute_on_the_public_base_url(settings):
    settings.PUBLIC_BASE_URL = "https://billing.example.com/"
    assert (
        customer_portal_url(token="polar_cst_a b") == "https://billing.example.com/portal/?customer_session_token=polar_cst_a+b"
    )


def test_sessions_expired_over_a_week_ago_are_pruned(customer):
    from billing.portal.sessions import customer_sessions_prune
    from billing.tasks import customer_sessions_prune_task

    old, old_raw = customer_session_create(customer=customer)
    recent, _ = customer_session_create(customer=customer)
    live, live_raw = customer_session_create(customer=customer)
    CustomerSession.objects.filter(pk=old.pk).update(expires_at=clock.now() - dt.timedelta(days=8))
    CustomerSession.objects.filter(pk=recent.pk).update(expires_at=clock.now() - dt.timedelta(days=6))
    assert customer_sessions_prune_task.apply().get() == 1
    assert set(CustomerSession.objects.values_list("pk", flat=True)) == {recent.pk, live.pk}
    assert customer_sessions_prune() == 0
    assert customer_session_authenticate(live_raw) == live


@pytest.fixture
def fresh_counters():
    from polar import ratelimit

    ratelimit.flush_all()
    yield
    ratelimit.flush_all()


def test_wrong_session_tokens_count_towards_the_lockout_and_other_credentials_do_not(
    settings, fresh_counters, api_client, session_token
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "auth_failures": "3/10m"}
    for _ in range(5):  # an organization token on the portal: refused, but not a guess
        assert api_client.get("/v1/customer-portal/customer-session/introspect").status_code == 401
    guesser = portal_client("polar_cst_guess")
    for _ in range(3):
        assert guesser.get("/v1/customer-portal/customer-session/introspect").status_code == 401
    assert guesser.get("/v1/customer-portal/customer-session/introspect").status_code == 429
    # Past the limit, the address is locked out: a right token too.
    assert portal_client(session_token).get("/v1/customer-portal/customer-session/introspect").status_code == 429
