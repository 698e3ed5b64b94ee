"""Staff admin: pages render, attempts are read-only, the redeliver action calls the service."""

import pytest

from polar.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt

pytestmark = pytest.mark.django_db


def test_admin_pages_render_and_attempts_cannot_be_changed(admin_client, organization, make_endpoint, emit):
    endpoint = make_endpoint()
    emit(organization)
    delivery = WebhookDelivery.objects.get()
    attempt = WebhookDeliveryAttempt.objects.get()
    for url in (
        "/admin/webhooks/webhookendpoint/",
        f"/admin/webhooks/webhookendpoint/{endpoint.id}/change/",
        "/admin/webhooks/webhookevent/",
        "/admin/webhooks/webhookdelivery/",
        f"/admin/webhooks/webhookdelivery/{delivery.id}/change/",
        "/admin/webhooks/webhookdeliveryattempt/",
    ):
        assert admin_client.get(url).status_code == 200, url
    response = admin_client.post(
        f"/admin/webhooks/webhookdeliveryattempt/{attempt.id}/change/", {"http_code": 200, "succeeded": "on"}
    )
    assert response.status_code == 403


def test_admin_redeliver_action_sends_the_event_again(
    admin_client, organization, receiver, make_endpoint, emit, django_capture_on_commit_callbacks
):
    make_endpoint()
    event = emit(organization)
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/webhooks/webhookdelivery/", {"action": "redeliver", "_selected_action": [str(delivery.id)]}
        )
    assert response.status_code == 302
    assert [request["headers"]["webhook-id"] for request in receiver.requests] == [str(event.id)] * 2


def test_admin_refuses_a_bad_url_on_an_endpoint(admin_client, make_endpoint, settings):
    endpoint = make_endpoint()
    response = admin_client.post(
        f"/admin/webhooks/webhookendpoint/{endpoint.id}/change/",
        {"url": "http://169.254.169.254/latest", "name": "", "format": "raw", "events": "subscription.created"},
    )
    assert response.status_code == 200
    assert "cloud metadata address" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.url.startswith("http://127.0.0.1:")
