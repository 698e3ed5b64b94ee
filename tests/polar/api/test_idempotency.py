import datetime as dt
import threading

import pytest
from django.db import connections
from rest_framework.test import APIClient

from customers.models import Customer
from polar import clock
from polar.api import idempotency
from polar.api.models import IdempotencyKey
from tests.polar.api import urls as test_urls

pytestmark = pytest.mark.urls("tests.polar.api.urls")


@pytest.mark.django_db
def test_retry_with_same_key_replays_first_answer(api_client, organization):
    first = api_client.post("/v1/things/", {"email": "a@x.co"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    second = api_client.post("/v1/things/", {"email": "a@x.co"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Customer.objects.filter(organization=organization).count() == 1


@pytest.mark.django_db
def test_validation_errors_are_replayed_too(api_client):
    first = api_client.post("/v1/things/", {"email": "bad"}, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    second = api_client.post("/v1/things/", {"email": "bad"}, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert first.status_code == second.status_code == 422
    assert first.json() == second.json()


@pytest.mark.django_db
def test_same_key_with_another_request_is_refused(api_client, organization):
    api_client.post("/v1/things/", {"email": "a@x.co"}, format="json", HTTP_IDEMPOTENCY_KEY="k3")
    response = api_client.post("/v1/things/", {"email": "b@x.co"}, format="json", HTTP_IDEMPOTENCY_KEY="k3")
    assert response.status_code == 400
    assert response.json()["error"] == "IdempotencyKeyMismatch"
    assert Customer.objects.filter(organization=organization).count() == 1


@pytest.mark.django_db
def test_keys_are_scoped_per_organization(api_client, other_api_client):
    first = api_client.post("/v1/things/", {"email": "a@x.co"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    second = other_api_client.post("/v1/things/", {"email": "a@x.co"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


@pytest.mark.django_db
def test_server_error_releases_the_key(api_client, organization):
    import uuid

    path = f"/v1/things/{uuid.uuid4()}"
    assert api_client.post(path, {}, format="json", HTTP_IDEMPOTENCY_KEY="k5").status_code == 500
    assert not IdempotencyKey.objects.filter(key="k5").exists()


@pytest.mark.django_db
def test_keys_expire_after_ttl_and_are_pruned(api_client, organization):
    api_client.post("/v1/things/", {"email": "a@x.co"}, format="json", HTTP_IDEMPOTENCY_KEY="old")
    later = clock.now() + dt.timedelta(hours=25)
    with clock.freeze(later):
        assert idempotency.prune() == 1
        response = api_client.post("/v1/things/", {"email": "b@x.co"}, format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert response.status_code == 201
    assert Customer.objects.filter(organization=organization).count() == 2


@pytest.mark.django_db
def test_overlong_key_is_refused(api_client):
    response = api_client.post("/v1/things/", {"email": "a@x.co"}, format="json", HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidIdempotencyKey"


@pytest.mark.django_db(transaction=True)
def test_concurrent_request_with_key_in_flight_gets_409(organization, token):
    """Two threads, two real PostgreSQL connections: the second request arrives while the first holds the key."""
    test_urls.hold_request.clear()
    test_urls.release_request.clear()
    results = {}

    def first_request():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        results["first"] = client.post(
            "/v1/things/", {"email": "a@x.co", "hold": True}, format="json", HTTP_IDEMPOTENCY_KEY="race"
        )
        connections.close_all()

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        assert test_urls.hold_request.wait(10)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        second = client.post("/v1/things/", {"email": "a@x.co", "hold": True}, format="json", HTTP_IDEMPOTENCY_KEY="race")
        assert second.status_code == 409
        assert second.json()["error"] == "IdempotencyKeyInFlight"
    finally:
        test_urls.release_request.set()
        thread.join(10)
    assert results["first"].status_code == 201
    third = APIClient()
    third.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    replay = third.post("/v1/things/", {"email": "a@x.co", "hold": True}, format="json", HTTP_IDEMPOTENCY_KEY="race")
    assert replay.status_code == 201 and replay.json() == results["first"].json()
    assert Customer.objects.filter(organization=organization).count() == 1
