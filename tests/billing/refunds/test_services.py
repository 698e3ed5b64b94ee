"""Refunds through the service and the API: partial then full, never beyond the order, the processor
refund made once with our key, the ledger postings and the webhooks. A 2000 usd order: platform fee
120 (4 % + 40), merchant pending 1880."""

import pytest

from billing.models import OrderStatus, Refund, SandboxRefund
from billing.refunds.services import RefundedAlready, refund_create
from payouts.models import LedgerTransaction
from payouts.selectors import account_balance, merchant_balances
from polar.errors import PolarRequestValidationError, ResourceNotFound
from polar.webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def test_partial_refunds_then_full_update_the_order_and_the_ledger(order, organization):
    first = refund_create(organization=organization, order_id=order.id, amount=500, reason="customer_request")
    assert (first.status, first.amount, first.currency) == ("succeeded", 500, "usd")
    order.refresh_from_db()
    assert (order.status, order.refunded_amount, order.refundable_amount) == (OrderStatus.PARTIALLY_REFUNDED, 500, 1500)
    # The merchant gives back 500 less the share of the platform fee returned (120 * 500/2000 = 30).
    assert merchant_balances(organization_id=organization.id)["usd"]["pending"] == 1880 - 470
    assert account_balance(key="platform:fees", currency="usd") == 90

    refund_create(organization=organization, order_id=order.id, amount=1500, reason="other")
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, 2000)
    assert merchant_balances(organization_id=organization.id)["usd"]["pending"] == 0
    assert account_balance(key="platform:fees", currency="usd") == 0
    # The processor keeps its fee (88): the platform bears it.
    assert account_balance(key="processor:sandbox:clearing", currency="usd") == -88
    assert LedgerTransaction.objects.filter(kind="refund").count() == 2
    assert SandboxRefund.objects.filter(idempotency_key=f"refund:{first.id}", amount=500).count() == 1

    with pytest.raises(RefundedAlready):
        refund_create(organization=organization, order_id=order.id, amount=1, reason="other")


def test_a_refund_above_what_is_left_is_refused(order, organization):
    refund_create(organization=organization, order_id=order.id, amount=1500, reason="other")
    with pytest.raises(PolarRequestValidationError):
        refund_create(organization=organization, order_id=order.id, amount=501, reason="other")
    assert Refund.objects.count() == 1


def test_another_organizations_order_is_not_found(order, other_organization):
    with pytest.raises(ResourceNotFound):
        refund_create(organization=other_organization, order_id=order.id, amount=100, reason="other")


def test_webhooks_are_emitted(order, organization):
    refund_create(organization=organization, order_id=order.id, amount=2000, reason="duplicate")
    types = list(WebhookEvent.objects.filter(organization=organization).order_by("created_at").values_list("type", flat=True))
    for expected in ("refund.created", "refund.updated", "order.refunded"):
        assert expected in types


def test_processor_error_fails_the_refund_and_frees_the_amount(order, organization, settings):
    from billing.refunds.services import RefundProcessorError

    settings.SANDBOX_PROCESSOR_FAULT = "error"
    with pytest.raises(RefundProcessorError):
        refund_create(organization=organization, order_id=order.id, amount=2000, reason="other")
    assert Refund.objects.get().status == "failed"
    settings.SANDBOX_PROCESSOR_FAULT = ""
    assert refund_create(organization=organization, order_id=order.id, amount=2000, reason="other").status == "succeeded"


def test_timeout_leaves_the_refund_pending_and_the_sweep_settles_it_once(order, organization, settings):
    import datetime as dt

    from billing.refunds.services import refunds_reconcile_pending
    from polar import clock

    settings.SANDBOX_PROCESSOR_FAULT = "timeout_after_charge"
    refund = refund_create(organization=organization, order_id=order.id, amount=700, reason="other")
    assert refund.status == "pending"
    with pytest.raises(RefundedAlready):  # the pending refund reserves its amount
        refund_create(organization=organization, order_id=order.id, amount=1300, reason="other")
        refund_create(organization=organization, order_id=order.id, amount=1, reason="other")
    settings.SANDBOX_PROCESSOR_FAULT = ""
    counts = refunds_reconcile_pending(created_before=clock.now() + dt.timedelta(seconds=1))
    assert counts["succeeded"] >= 1
    assert SandboxRefund.objects.filter(idempotency_key=f"refund:{refund.id}").count() == 1
    order.refresh_from_db()
    assert order.refunded_amount == 2000


# --- API ----------------------------------------------------------------------------------------


def test_api_create_and_list(order, api_client, other_api_client):
    response = api_client.post(
        "/v1/refunds/",
        {"order_id": str(order.id), "amount": 300, "reason": "customer_request", "revoke_benefits": False},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount"], body["status"], body["order_id"], body["dispute"], body["tax_amount"]) == (
        300,
        "succeeded",
        str(order.id),
        None,
        0,
    )
    listed = api_client.get("/v1/refunds/").json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    assert other_api_client.get("/v1/refunds/").json()["items"] == []
    assert (
        other_api_client.post(
            "/v1/refunds/", {"order_id": str(order.id), "amount": 1, "reason": "other"}, format="json"
        ).status_code
        == 404
    )


def test_api_refunded_already_is_403(order, api_client):
    assert (
        api_client.post("/v1/refunds/", {"order_id": str(order.id), "amount": 2000, "reason": "other"}, format="json").status_code
        == 201
    )
    response = api_client.post("/v1/refunds/", {"order_id": str(order.id), "amount": 1, "reason": "other"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "RefundedAlready"


def test_api_invalid_input_is_422(order, api_client):
    response = api_client.post("/v1/refunds/", {"order_id": str(order.id), "amount": 0, "reason": "nope"}, format="json")
    assert response.status_code == 422
