"""Risk tools in the admin (issue 17): each action asks for a reason on an intermediate page, runs through the
service the API uses, leaves an audit entry with the staff user and the reason, and reaches only the
organizations the staff member may access."""

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from billing.models import ApprovalRequest, Dispute, Refund
from payouts.models import Payout, PayoutAccount
from polar.organizations.models import Organization
from tests.factories.payments import attach_card
from tests.factories.subscriptions import monthly_product

pytestmark = pytest.mark.django_db


def _act(client, url, action, pks, **fields):
    return client.post(url, {"action": action, "_selected_action": [str(pk) for pk in pks], "apply": "1", **fields})


def _entries(obj, action):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(type(obj)),
        object_pk=str(obj.pk),
        additional_data__staff_action=action,
    )


def test_the_action_first_asks_for_a_reason_and_refuses_an_empty_one(world, staff_client, organization):
    client = staff_client("risk", organization)
    page = client.post(
        "/admin/organizations/organization/", {"action": "freeze_payouts", "_selected_action": [str(organization.pk)]}
    )
    assert page.status_code == 200
    assert b'name="reason"' in page.content and b"acme" in page.content
    empty = _act(client, "/admin/organizations/organization/", "freeze_payouts", [organization.pk], reason="  ")
    assert empty.status_code == 200  # the form again, with its error
    assert PayoutAccount.objects.get(organization=organization).payouts_frozen is False


def test_risk_freezes_payouts_the_payout_api_refuses_and_the_entry_names_the_analyst_and_reason(
    world, staff_client, organization, api_client
):
    client = staff_client("risk", organization)
    response = _act(client, "/admin/organizations/organization/", "freeze_payouts", [organization.pk], reason="Fraud review #7")
    assert response.status_code == 302
    account = PayoutAccount.objects.get(organization=organization)
    assert (account.payouts_frozen, account.frozen_reason) == (True, "Fraud review #7")
    entry = _entries(account, "freeze_payouts").get()
    assert (entry.actor, entry.additional_data["reason"]) == (client.user, "Fraud review #7")

    refused = api_client.post("/v1/payouts/", {}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"] == "PayoutsFrozen"

    _act(client, "/admin/payouts/payoutaccount/", "unfreeze_payouts", [account.pk], reason="Cleared")
    account.refresh_from_db()
    assert account.payouts_frozen is False


def test_an_action_on_another_organizations_row_changes_nothing(world, staff_client, organization, other_organization):
    client = staff_client("risk", organization)
    _act(client, "/admin/organizations/organization/", "freeze_payouts", [other_organization.pk], reason="not mine")
    _act(client, "/admin/organizations/organization/", "block_checkouts", [other_organization.pk], reason="not mine")
    assert PayoutAccount.objects.get(organization=other_organization).payouts_frozen is False
    assert Organization.objects.get(pk=other_organization.pk).checkouts_blocked is False


def test_support_cannot_freeze_payouts_even_by_posting_the_action(world, staff_client, organization):
    client = staff_client("support", organization)
    _act(client, "/admin/organizations/organization/", "freeze_payouts", [organization.pk], reason="trying")
    assert PayoutAccount.objects.get(organization=organization).payouts_frozen is False


def test_blocked_checkouts_are_refused_by_the_api_with_a_clear_403(world, staff_client, organization, api_client):
    client = staff_client("risk", organization)
    _act(client, "/admin/organizations/organization/", "block_checkouts", [organization.pk], reason="Chargeback spike")
    organization.refresh_from_db()
    assert (organization.checkouts_blocked, organization.checkouts_blocked_reason) == (True, "Chargeback spike")
    assert _entries(organization, "block_checkouts").get().actor == client.user
    product = monthly_product(organization, name="Other", amount=700)
    response = api_client.post("/v1/checkouts/", {"products": [str(product.id)]}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "CheckoutsBlocked"

    link = api_client.post(
        "/v1/checkout-links/", {"payment_processor": "stripe", "products": [str(product.id)]}, format="json"
    ).json()
    hosted = api_client.get(f"/v1/checkout-links/{link['client_secret']}/redirect")
    assert hosted.status_code == 403
    assert hosted.json() == {"error": "CheckoutsBlocked", "detail": "This merchant cannot accept new checkouts at the moment."}
    _act(client, "/admin/organizations/organization/", "unblock_checkouts", [organization.pk], reason="Resolved")
    assert api_client.post("/v1/checkouts/", {"products": [str(product.id)]}, format="json").status_code == 201


def test_risk_holds_a_pending_payout_which_is_not_sent_until_released(world, staff_client, organization):
    from payouts.services import payout_send

    payout = world["acme"].rows["payouts.payout"]
    Payout.objects.filter(pk=payout.pk).update(status="pending", processor_ref="")  # not audited: test set-up
    client = staff_client("risk", organization)
    _act(client, "/admin/payouts/payout/", "hold", [payout.pk], reason="Bank details changed yesterday")
    payout.refresh_from_db()
    assert (payout.held, payout.held_reason) == (True, "Bank details changed yesterday")
    assert payout_send(payout_id=payout.pk).status == "pending"
    assert _entries(payout, "hold").get().additional_data["reason"] == "Bank details changed yesterday"
    _act(client, "/admin/payouts/payout/", "release", [payout.pk], reason="Verified by phone")
    payout.refresh_from_db()
    assert payout.held is False
    assert payout_send(payout_id=payout.pk).status == "in_transit"


def test_risk_records_dispute_evidence(world, staff_client, organization):
    dispute = world["acme"].rows["billing.dispute"]
    client = staff_client("risk", organization)
    _act(
        client,
        "/admin/billing/dispute/",
        "record_evidence",
        [dispute.pk],
        reason="Customer used the service",
        evidence="Logs: 42 logins",
    )
    dispute = Dispute.objects.get(pk=dispute.pk)
    (note,) = dispute.evidence["notes"]
    assert (note["text"], note["recorded_by"]) == ("Logs: 42 logins", client.user.username)
    assert _entries(dispute, "record_evidence").get().actor == client.user


def test_an_order_refund_above_the_threshold_needs_another_staff_members_approval(world, staff_client, organization):
    organization.four_eyes_threshold = 1000
    organization.save(update_fields=["four_eyes_threshold"])
    card = attach_card(organization=organization, email="second@acme.example")
    from billing.subscriptions.lifecycle import subscription_create

    order = subscription_create(
        organization=organization, customer=card.customer, product=world["acme"].rows["billing.product"], payment_method=card
    ).orders.get()
    agent = staff_client("support", organization)
    _act(
        agent,
        "/admin/billing/order/",
        "refund_order",
        [order.pk],
        reason="Outage",
        amount="2500",
        refund_reason="service_disruption",
    )
    approval = ApprovalRequest.objects.get(target_id=order.pk)
    assert (approval.status, approval.amount, approval.requested_by) == ("pending", 2500, agent.user)
    assert not Refund.objects.filter(order=order).exists()

    finance = staff_client("finance", organization)
    _act(finance, "/admin/billing/approvalrequest/", "approve", [approval.pk], reason="Outage confirmed")
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by) == ("executed", finance.user)
    refund = Refund.objects.get(order=order)
    assert (refund.amount, refund.status, refund.reason) == (2500, "succeeded", "service_disruption")
    created = _entries(refund, "approval_execute").order_by("timestamp").first()
    assert (created.actor, created.additional_data["reason"]) == (finance.user, "Outage confirmed")


def test_the_approver_cannot_be_the_requester_in_the_admin(world, staff_client, organization):
    organization.four_eyes_threshold = 1000
    organization.save(update_fields=["four_eyes_threshold"])
    finance = staff_client("finance", organization)
    order = world["acme"].rows["billing.order"]
    _act(finance, "/admin/billing/order/", "refund_order", [order.pk], reason="Goodwill", amount="2000", refund_reason="other")
    approval = ApprovalRequest.objects.get(target_id=order.pk, requested_by=finance.user)
    response = _act(finance, "/admin/billing/approvalrequest/", "approve", [approval.pk], reason="mine")
    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_a_superuser_assigns_staff_from_the_organization_page(world, staff_client, organization):
    from polar.organizations.staff import staff_may_access, staff_roles

    root = staff_client("superuser")
    response = _act(
        root,
        "/admin/organizations/organization/",
        "assign_staff",
        [organization.pk],
        reason="New hire",
        email="New.Agent@Staff.example",
        role="support",
    )
    assert response.status_code == 302
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(email="new.agent@staff.example")
    assert staff_roles(user) == {"support"} and staff_may_access(user, organization)
    perm_entries = LogEntry.objects.filter(additional_data__staff_action="assign_staff")
    assert perm_entries.exists() and all(entry.actor == root.user for entry in perm_entries)
