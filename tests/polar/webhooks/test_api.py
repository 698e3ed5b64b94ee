"""The webhooks API: endpoints CRUD, secret rotation, deliveries list, redelivery. Tenant isolation and bad
input for every endpoint."""

import datetime as dt

import pytest
from standardwebhooks import Webhook

from polar.organizations.services import access_token_create
from polar.webhooks.models import WebhookDelivery, WebhookEndpoint

from .conftest import T0

pytestmark = pytest.mark.django_db

ENDPOINT_KEYS = {
    "id",
    "created_at",
    "modified_at",
    "url",
    "name",
    "api_version",
    "format",
    "secret",
    "organization_id",
    "events",
    "enabled",
    "uses_standard_webhook_signature",
}


def _create(client, **overrides):
    body = {"url": "https://hooks.merchant.test/polar", "format": "raw", "events": ["order.paid"], **overrides}
    return client.post("/v1/webhooks/endpoints", body, format="json")


def test_create_returns_the_endpoint_with_a_standard_webhooks_secret(api_client, organization):
    response = _create(api_client, name="Orders", events=["order.paid", "subscription.created"])
    assert response.status_code == 201
    body = response.json()
    assert set(body) == ENDPOINT_KEYS
    assert body["url"] == "https://hooks.merchant.test/polar"
    assert (body["name"], body["format"], body["enabled"], body["api_version"]) == ("Orders", "raw", True, "2026-10")
    assert body["events"] == ["order.paid", "subscription.created"]
    assert body["organization_id"] == str(organization.id)
    assert body["uses_standard_webhook_signature"] is True
    assert body["modified_at"] is None
    assert body["secret"].startswith("whsec_")
    Webhook(body["secret"])  # a valid Standard Webhooks key
    assert len(Webhook(body["secret"])._whsecret) == 32


def test_create_accepts_polar_types_not_emitted_yet(api_client):
    response = _create(api_client, events=["refund.created", "checkout.expired"])
    assert response.status_code == 201
    assert response.json()["events"] == ["refund.created", "checkout.expired"]


@pytest.mark.parametrize(
    "overrides,loc",
    [
        ({"url": "ftp://hooks.merchant.test/x"}, ["body", "url"]),
        ({"url": "not a url"}, ["body", "url"]),
        ({"url": "https:///nohost"}, ["body", "url"]),
        ({"url": "http://169.254.169.254/latest/meta-data"}, ["body", "url"]),
        ({"url": "http://10.0.0.5/hook"}, ["body", "url"]),
        ({"format": "xml"}, ["body", "format"]),
        ({"format": "discord"}, ["body", "format"]),
        ({"events": ["order.exploded"]}, ["body", "events", 0]),
        ({"events": "order.paid"}, ["body", "events"]),
        ({"url": None}, ["body", "url"]),
    ],
)
def test_create_with_bad_input_is_422_and_writes_nothing(api_client, overrides, loc):
    response = _create(api_client, **overrides)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc
    assert WebhookEndpoint.objects.count() == 0


def test_create_for_another_organization_is_422(api_client, other_organization):
    response = _create(api_client, organization_id=str(other_organization.id))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "organization_id"]
    assert WebhookEndpoint.objects.count() == 0


def test_loopback_urls_are_refused_at_creation_when_not_allowed(api_client, settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    for url in ("http://127.0.0.1:8000/hook", "http://localhost/hook", "http://[::1]/hook"):
        response = _create(api_client, url=url)
        assert response.status_code == 422, url
        assert response.json()["detail"][0]["msg"] == "Webhook URLs cannot point to a loopback address."


def test_list_shows_only_the_tokens_organization(api_client, other_api_client):
    _create(api_client)
    _create(other_api_client, url="https://globex.test/hook")
    body = api_client.get("/v1/webhooks/endpoints").json()
    assert body["pagination"] == {"total_count": 1, "max_page": 1}
    assert [item["url"] for item in body["items"]] == ["https://hooks.merchant.test/polar"]


def test_get_patch_delete_of_another_organizations_endpoint_is_404(api_client, other_api_client):
    foreign = _create(other_api_client).json()["id"]
    for response in (
        api_client.get(f"/v1/webhooks/endpoints/{foreign}"),
        api_client.patch(f"/v1/webhooks/endpoints/{foreign}", {"enabled": False}, format="json"),
        api_client.patch(f"/v1/webhooks/endpoints/{foreign}/secret"),
        api_client.delete(f"/v1/webhooks/endpoints/{foreign}"),
    ):
        assert response.status_code == 404
        assert response.json() == {"error": "ResourceNotFound", "detail": "Not found"}
    assert WebhookEndpoint.objects.get(pk=foreign).enabled is True


def test_get_with_a_malformed_id_is_422(api_client):
    response = api_client.get("/v1/webhooks/endpoints/not-a-uuid")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "id"]


def test_patch_updates_fields_and_disabling_is_reported(api_client):
    endpoint_id = _create(api_client).json()["id"]
    response = api_client.patch(
        f"/v1/webhooks/endpoints/{endpoint_id}",
        {"url": "https://other.merchant.test/x", "events": ["product.created"], "enabled": False, "name": "N"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["url"], body["events"], body["enabled"], body["name"]) == (
        "https://other.merchant.test/x",
        ["product.created"],
        False,
        "N",
    )
    assert body["modified_at"] is not None
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    assert endpoint.disabled_reason == WebhookEndpoint.DisabledReason.USER


def test_patch_with_bad_input_is_422_and_changes_nothing(api_client):
    endpoint_id = _create(api_client).json()["id"]
    response = api_client.patch(f"/v1/webhooks/endpoints/{endpoint_id}", {"url": "gopher://x", "enabled": False}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "url"]
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    assert (endpoint.url, endpoint.enabled) == ("https://hooks.merchant.test/polar", True)


def test_rotating_the_secret_replaces_it(api_client):
    created = _create(api_client).json()
    response = api_client.patch(f"/v1/webhooks/endpoints/{created['id']}/secret")
    assert response.status_code == 200
    assert response.json()["secret"].startswith("whsec_")
    assert response.json()["secret"] != created["secret"]
    assert api_client.post(f"/v1/webhooks/endpoints/{created['id']}/secret").json()["secret"] != response.json()["secret"]


def test_delete_hides_the_endpoint_and_stops_deliveries(api_client):
    endpoint_id = _create(api_client).json()["id"]
    response = api_client.delete(f"/v1/webhooks/endpoints/{endpoint_id}")
    assert response.status_code == 204
    assert api_client.get(f"/v1/webhooks/endpoints/{endpoint_id}").status_code == 404
    assert api_client.delete(f"/v1/webhooks/endpoints/{endpoint_id}").status_code == 404
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, WebhookEndpoint.DisabledReason.DELETED)


def test_webhooks_scope_is_required(organization):
    from rest_framework.test import APIClient

    _row, raw = access_token_create(organization=organization, scopes=["webhooks:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/v1/webhooks/endpoints").status_code == 200
    assert _create(client).status_code == 403
    _row, raw = access_token_create(organization=organization, scopes=["orders:read"])
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/v1/webhooks/deliveries").status_code == 403


def test_a_read_only_token_does_not_see_the_signing_secret(api_client, organization):
    """The secret lets its holder forge webhooks the merchant trusts: only webhooks:write shows it. The key
    stays (a required string in both SDKs) with a value that is not a key."""
    from polar_sdk import models as sdk032_models
    from rest_framework.test import APIClient

    from polar.webhooks.api.serializers import REDACTED_SECRET

    created = _create(api_client).json()
    secret = WebhookEndpoint.objects.get(pk=created["id"]).secret
    _row, raw = access_token_create(organization=organization, scopes=["webhooks:read"])
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    listed = reader.get("/v1/webhooks/endpoints").json()["items"]
    fetched = reader.get(f"/v1/webhooks/endpoints/{created['id']}").json()
    assert [item["secret"] for item in listed] == [REDACTED_SECRET]
    assert fetched["secret"] == REDACTED_SECRET
    assert secret not in str(listed) + str(fetched)
    assert set(fetched) == ENDPOINT_KEYS
    sdk032_models.WebhookEndpoint.model_validate(fetched)  # polar-sdk 0.32 still parses it

    _row, raw = access_token_create(organization=organization, scopes=["webhooks:write"])
    writer = APIClient()
    writer.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert writer.get(f"/v1/webhooks/endpoints/{created['id']}").json()["secret"] == secret
    assert writer.get("/v1/webhooks/endpoints").json()["items"][0]["secret"] == secret


# --- deliveries and redelivery ------------------------------------------------------------------------
@pytest.fixture
def delivered(organization, receiver, make_endpoint, emit, sweep):
    """Two endpoints; one event delivered at once to /ok, and to /flaky after a 500."""
    ok = make_endpoint("/ok", events=["subscription.created", "order.paid"])
    flaky = make_endpoint("/flaky", events=["subscription.created"])
    receiver.statuses["/flaky"].extend([500])
    event = emit(organization, "subscription.created", {"id": "sub_1"})
    retry_at = WebhookDelivery.objects.get(endpoint=flaky).next_attempt_at
    sweep(retry_at)
    order_event = emit(organization, "order.paid", {"id": "ord_1"}, at=T0 + dt.timedelta(hours=1))
    return {"ok": ok, "flaky": flaky, "event": event, "order_event": order_event, "retry_at": retry_at}


def test_deliveries_list_every_attempt_in_polar_shape(api_client, delivered):
    body = api_client.get("/v1/webhooks/deliveries", {"sorting": "created_at", "limit": 100}).json()
    assert body["pagination"]["total_count"] == 4
    first = body["items"][0]
    assert set(first) >= {"id", "created_at", "modified_at", "succeeded", "http_code", "response", "webhook_event"}
    assert set(first["webhook_event"]) == {
        "id",
        "created_at",
        "modified_at",
        "type",
        "api_version",
        "payload",
        "last_http_code",
        "succeeded",
        "skipped",
        "is_archived",
    }
    flaky = [item for item in body["items"] if item["webhook_endpoint_id"] == str(delivered["flaky"].id)]
    assert [(item["attempt_number"], item["http_code"], item["succeeded"]) for item in flaky] == [(1, 500, False), (2, 200, True)]
    assert flaky[0]["response"] == '{"received": 500}'
    assert flaky[0]["webhook_event"]["id"] == str(delivered["event"].id)
    assert flaky[0]["webhook_event"]["succeeded"] is True
    assert flaky[0]["webhook_event"]["payload"].startswith('{"type":"subscription.created"')


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"succeeded": "false"}, [("/flaky", 500)]),
        ({"http_code_class": "5xx"}, [("/flaky", 500)]),
        ({"event_type": "order.paid"}, [("/ok", 200)]),
        ({"query": "500"}, [("/flaky", 500)]),
    ],
)
def test_deliveries_filters(api_client, delivered, params, expected):
    items = api_client.get("/v1/webhooks/deliveries", params).json()["items"]
    by_id = {str(delivered["ok"].id): "/ok", str(delivered["flaky"].id): "/flaky"}
    assert [(by_id[item["webhook_endpoint_id"]], item["http_code"]) for item in items] == expected


def test_deliveries_filter_by_endpoint_and_time_range(api_client, delivered):
    flaky_id = str(delivered["flaky"].id)
    items = api_client.get("/v1/webhooks/deliveries", {"endpoint_id": flaky_id}).json()["items"]
    assert {item["webhook_endpoint_id"] for item in items} == {flaky_id} and len(items) == 2
    items = api_client.get(
        "/v1/webhooks/deliveries",
        {
            "start_timestamp": (T0 + dt.timedelta(seconds=1)).isoformat(),
            "end_timestamp": (T0 + dt.timedelta(minutes=1)).isoformat(),
        },
    ).json()["items"]
    assert [(item["attempt_number"], item["http_code"]) for item in items] == [(2, 200)]


@pytest.mark.parametrize(
    "params,loc",
    [
        ({"endpoint_id": "nope"}, ["query", "endpoint_id", 0]),
        ({"succeeded": "maybe"}, ["query", "succeeded"]),
        ({"http_code_class": "6xx"}, ["query", "http_code_class"]),
        ({"start_timestamp": "yesterday"}, ["query", "start_timestamp"]),
        ({"event_type": "nope.nope"}, ["query", "event_type", 0]),
    ],
)
def test_deliveries_bad_query_is_422(api_client, params, loc):
    response = api_client.get("/v1/webhooks/deliveries", params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_deliveries_of_another_organization_are_not_listed(other_api_client, delivered):
    assert other_api_client.get("/v1/webhooks/deliveries").json()["pagination"]["total_count"] == 0


def test_redeliver_sends_the_event_again_to_its_endpoints(api_client, delivered, receiver, django_capture_on_commit_callbacks):
    event_id = delivered["event"].id
    before = len(receiver.requests)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"/v1/webhooks/events/{event_id}/redeliver")
    assert response.status_code == 202
    again = receiver.requests[before:]
    assert sorted(request["path"] for request in again) == ["/flaky", "/ok"]
    assert {request["headers"]["webhook-id"] for request in again} == {str(event_id)}
    assert all(request["error"] is None for request in again)


def test_redeliver_another_organizations_event_is_404(other_api_client, delivered, receiver):
    before = len(receiver.requests)
    response = other_api_client.post(f"/v1/webhooks/events/{delivered['event'].id}/redeliver")
    assert response.status_code == 404
    assert len(receiver.requests) == before
    assert WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).count() == 0


def test_redeliver_with_a_malformed_id_is_422(api_client):
    response = api_client.post("/v1/webhooks/events/123/redeliver")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "id"]


def test_every_type_we_accept_or_emit_is_known_to_both_sdks():
    """polar-sdk 0.32 has a closed enum of event types: an endpoint (or delivered event) carrying another
    value would make its client fail. Adding a type to events.py that Polar does not know fails here."""
    from polar_sdk.models import WebhookEventType as SdkWebhookEventType

    from polar.webhooks.events import SUBSCRIBABLE_EVENT_TYPES, WebhookEventType

    known = {member.value for member in SdkWebhookEventType}
    assert set(WebhookEventType.values) <= set(SUBSCRIBABLE_EVENT_TYPES) <= known
