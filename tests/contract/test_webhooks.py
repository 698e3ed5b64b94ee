"""Webhook endpoints and deliveries through both SDKs: create, get, list, update, reset the secret,
deliveries recorded after the API emits an event (a customer created through the SDK emits
customer.created; delivery runs eagerly in tests, to a receiver thread here), redeliver, delete.
Assertions are on the models the SDKs parsed."""

import http.server
import threading

import pytest
from polar_sdk import models as m032

from polar.webhooks.models import WebhookEndpoint

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


class _Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        self.server.received.append((self.headers.get("webhook-id"), self.rfile.read(length)))
        body = b"ok" if self.server.status == 200 else b"boom"
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    """A local HTTP server answering 200 to every delivery; ``received`` lists (webhook-id, body)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []
    server.status = 200  # a test may set another answer
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield server
    server.shutdown()
    server.server_close()


# --- 0.32.x ---------------------------------------------------------------------------------------


def test_032_endpoint_create_get_list_update_reset_delete(sdk032, contract_organization, receiver):
    created = sdk032.webhooks.create_webhook_endpoint(
        request={"url": receiver.url, "format_": "raw", "events": ["customer.created", "order.paid"], "name": "Main"}
    )
    assert isinstance(created, m032.WebhookEndpoint)
    assert created.url == receiver.url and created.format_ == "raw" and created.name == "Main"
    assert created.events == ["customer.created", "order.paid"] and created.enabled is True
    assert created.organization_id == str(contract_organization.id)
    assert created.secret.startswith("polar_whs_") or created.secret.startswith("whsec_")

    fetched = sdk032.webhooks.get_webhook_endpoint(id=created.id)
    assert fetched.id == created.id and fetched.secret == created.secret

    listed = sdk032.webhooks.list_webhook_endpoints().result
    assert [e.id for e in listed.items] == [created.id] and listed.pagination.total_count == 1

    updated = sdk032.webhooks.update_webhook_endpoint(
        id=created.id, webhook_endpoint_update={"events": ["customer.updated"], "enabled": False, "name": "Renamed"}
    )
    assert updated.events == ["customer.updated"] and updated.enabled is False and updated.name == "Renamed"
    assert updated.url == receiver.url and updated.modified_at is not None

    reset = sdk032.webhooks.reset_webhook_endpoint_secret(id=created.id)
    assert isinstance(reset, m032.WebhookEndpoint)
    assert reset.id == created.id and reset.secret != created.secret

    assert sdk032.webhooks.delete_webhook_endpoint(id=created.id) is None
    with pytest.raises(m032.ResourceNotFound):
        sdk032.webhooks.get_webhook_endpoint(id=created.id)
    assert sdk032.webhooks.list_webhook_endpoints().result.pagination.total_count == 0


def test_032_deliveries_after_customer_created(sdk032, receiver):
    endpoint = sdk032.webhooks.create_webhook_endpoint(
        request={"url": receiver.url, "format_": "raw", "events": ["customer.created"]}
    )
    customer = sdk032.customers.create(request={"email": "hooked@example.com"})

    page = sdk032.webhooks.list_webhook_deliveries(endpoint_id=endpoint.id).result
    assert page.pagination.total_count == 1
    [delivery] = page.items
    assert isinstance(delivery, m032.WebhookDelivery)
    assert delivery.succeeded is True and delivery.http_code == 200 and delivery.response == "ok"
    event = delivery.webhook_event
    assert isinstance(event, m032.WebhookEvent)
    assert event.type == "customer.created" and event.skipped is False and event.is_archived is False
    assert f'"{customer.id}"' in event.payload and "hooked@example.com" in event.payload
    assert len(receiver.received) == 1

    assert sdk032.webhooks.list_webhook_deliveries(event_type="order.paid").result.pagination.total_count == 0
    assert sdk032.webhooks.list_webhook_deliveries(succeeded=True).result.pagination.total_count == 1

    sdk032.webhooks.redeliver_webhook_event(id=event.id)
    assert sdk032.webhooks.list_webhook_deliveries(endpoint_id=endpoint.id).result.pagination.total_count == 2
    assert len(receiver.received) == 2


def test_10_failed_delivery_is_recorded(sdk10, receiver):
    receiver.status = 500
    results = sdk10.run(
        op("webhooks.create_webhook_endpoint", url=receiver.url, format="raw", events=["customer.created"]),
        op("customers.create", email="failing10@example.com"),
        op("webhooks.list_webhook_deliveries", endpoint_id="${0.id}", succeeded=False),
        op("webhooks.list_webhook_deliveries", http_code_class="2xx"),
    )
    page = ok(results[2])
    assert page["pagination"]["total_count"] == 1
    delivery = page["items"][0]
    assert (delivery["succeeded"], delivery["http_code"]) == (False, 500)
    assert delivery["webhook_event"]["type"] == "customer.created"
    assert ok(results[3])["pagination"]["total_count"] == 0


def test_032_bad_url_is_422_with_loc(sdk032):
    with pytest.raises(m032.HTTPValidationError) as raised:
        sdk032.webhooks.create_webhook_endpoint(request={"url": "not a url", "format_": "raw", "events": []})
    assert ("body", "url") in [tuple(d.loc) for d in raised.value.data.detail]
    assert WebhookEndpoint.objects.count() == 0


def test_032_other_organizations_endpoint_is_not_found(sdk032, sdk032_other, receiver):
    endpoint = sdk032.webhooks.create_webhook_endpoint(
        request={"url": receiver.url, "format_": "raw", "events": ["customer.created"]}
    )
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.webhooks.get_webhook_endpoint(id=endpoint.id)
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.webhooks.update_webhook_endpoint(id=endpoint.id, webhook_endpoint_update={"enabled": False})
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.webhooks.reset_webhook_endpoint_secret(id=endpoint.id)
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.webhooks.delete_webhook_endpoint(id=endpoint.id)
    assert sdk032_other.webhooks.list_webhook_endpoints().result.pagination.total_count == 0
    assert sdk032.webhooks.get_webhook_endpoint(id=endpoint.id).enabled is True


def test_032_failed_delivery_is_recorded(sdk032, receiver):
    receiver.status = 500
    endpoint = sdk032.webhooks.create_webhook_endpoint(
        request={"url": receiver.url, "format_": "raw", "events": ["customer.created"]}
    )
    sdk032.customers.create(request={"email": "failing@example.com"})
    page = sdk032.webhooks.list_webhook_deliveries(endpoint_id=endpoint.id, succeeded=False).result
    assert page.pagination.total_count == 1  # retries are scheduled, not run inline
    delivery = page.items[0]
    assert (delivery.succeeded, delivery.http_code) == (False, 500)
    assert delivery.webhook_event.type == "customer.created" and delivery.webhook_event.succeeded is not True
    assert (
        sdk032.webhooks.list_webhook_deliveries(http_code_class="5xx").result.pagination.total_count
        == page.pagination.total_count
    )
    assert sdk032.webhooks.list_webhook_deliveries(http_code_class="2xx").result.pagination.total_count == 0


# --- 1.0.x ----------------------------------------------------------------------------------------


def test_10_endpoints_and_deliveries(sdk10, receiver, contract_other_token):
    results = sdk10.run(
        op("webhooks.create_webhook_endpoint", url=receiver.url, format="raw", events=["customer.created"], name="Ten"),
        op("webhooks.get_webhook_endpoint", "${0.id}"),
        op("webhooks.list_webhook_endpoints"),
        op("customers.create", email="ten@example.com"),
        op("webhooks.list_webhook_deliveries", endpoint_id="${0.id}"),
        op("webhooks.update_webhook_endpoint", "${0.id}", name="Ten v2", events=["customer.created", "customer.updated"]),
        op("webhooks.reset_webhook_endpoint_secret", "${0.id}"),
        op("webhooks.get_webhook_endpoint", "${0.id}", access_token=contract_other_token),
        op("webhooks.create_webhook_endpoint", url="not a url", format="raw", events=[]),
        op("webhooks.redeliver_webhook_event", "${4.items.0.webhook_event.id}"),
        op("webhooks.list_webhook_deliveries", endpoint_id="${0.id}"),
        op("webhooks.delete_webhook_endpoint", "${0.id}"),
        op("webhooks.get_webhook_endpoint", "${0.id}"),
    )
    created = ok(results[0])
    assert created["__class__"] == "WebhookEndpoint"
    assert (created["url"], created["format"], created["name"]) == (receiver.url, "raw", "Ten")
    assert created["events"] == ["customer.created"] and created["enabled"] is True and created["secret"]
    assert ok(results[1])["id"] == created["id"]
    assert [e["id"] for e in ok(results[2])["items"]] == [created["id"]]

    customer = ok(results[3])
    deliveries = ok(results[4])
    assert deliveries["pagination"]["total_count"] == 1
    delivery = deliveries["items"][0]
    assert delivery["__class__"] == "WebhookDelivery"
    assert (delivery["succeeded"], delivery["http_code"]) == (True, 200)
    assert delivery["webhook_event"]["type"] == "customer.created"
    assert customer["id"] in delivery["webhook_event"]["payload"]

    updated = ok(results[5])
    assert updated["name"] == "Ten v2" and updated["events"] == ["customer.created", "customer.updated"]
    reset = ok(results[6])
    assert reset["id"] == created["id"] and reset["secret"] != created["secret"]
    failed(results[7], "ResourceNotFound", 404)
    error = failed(results[8], "HTTPValidationError", 422)
    assert ["body", "url"] in [d["loc"] for d in error["body"]["detail"]]
    assert results[9]["ok"], results[9]
    assert ok(results[10])["pagination"]["total_count"] == 2
    assert ok(results[11]) is None
    failed(results[12], "ResourceNotFound", 404)
    assert len(receiver.received) == 2
