"""The support actions: allowed or refused per role (the table in billing/support/services.py and
docs/back-office.md), 404 for staff not allowed on the organization, a reason required, audited with actor
and reason, a refund above the four-eyes threshold waiting for approval, a form submitted once."""

import pytest
from auditlog.models import LogEntry

from billing.models import ApprovalRequest, Order, OrderStatus, Refund, Subscription, SubscriptionStatus
from billing.support.services import ROLE_ACTIONS
from polar import clock
from tests.factories.payments import attach_card
from tests.factories.staff import make_staff

from .conftest import AFTER_RENEWAL, client_for, form

EXPECTED = {
    "support": {"cancel", "refund", "retry_payment", "resend_receipt"},
    "risk": {"cancel", "revoke"},
    "finance": {"refund", "retry_payment", "resend_receipt"},
    "superuser": {"cancel", "revoke", "refund", "retry_payment", "resend_receipt"},
}


def test_the_role_table_is_the_documented_one():
    assert {role: set(actions) for role, actions in ROLE_ACTIONS.items()} == {
        role: actions for role, actions in EXPECTED.items() if role != "superuser"
    }


def staff(role, organization):
    if role == "superuser":
        from tests.factories.staff import make_superuser

        return make_superuser()
    return make_staff(role, organization, email=f"{role}@staff.example")


class World:
    """One action's target and how to tell whether it happened."""

    def __init__(self, request, action):
        self.action = action
        self.customer = request.getfixturevalue("customer")
        self.subscription = request.getfixturevalue("subscription")
        if action == "retry_payment":
            self.order = request.getfixturevalue("past_due_order")
            with clock.freeze(AFTER_RENEWAL):
                attach_card(self.customer, "pm_card_visa")
            self.subscription.refresh_from_db()
            self.subscription.payment_method = None
            self.subscription.save(update_fields=["payment_method"])
        else:
            self.order = request.getfixturevalue("first_order")
        self.mailoutbox = request.getfixturevalue("mailoutbox")

    def post(self, client, **fields):
        paths = {
            "cancel": f"/support/subscriptions/{self.subscription.id}/cancel",
            "revoke": f"/support/subscriptions/{self.subscription.id}/revoke",
            "refund": f"/support/orders/{self.order.id}/refund",
            "retry_payment": f"/support/orders/{self.order.id}/retry-payment",
            "resend_receipt": f"/support/orders/{self.order.id}/resend-receipt",
        }
        if self.action == "refund":
            fields.setdefault("amount", "5.00")
        with clock.freeze(AFTER_RENEWAL):
            return client.post(paths[self.action], form(**fields))

    def happened(self) -> bool:
        subscription = Subscription.objects.get(pk=self.subscription.pk)
        order = Order.objects.get(pk=self.order.pk)
        return {
            "cancel": subscription.cancel_at_period_end,
            "revoke": subscription.status == SubscriptionStatus.CANCELED,
            "refund": Refund.objects.filter(order=order, amount=500, status="succeeded").exists(),
            "retry_payment": order.status == OrderStatus.PAID,
            "resend_receipt": any(order.invoice_number in m.subject for m in self.mailoutbox),
        }[self.action]


ACTIONS = ["cancel", "revoke", "refund", "retry_payment", "resend_receipt"]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", ["support", "risk", "finance", "superuser"])
def test_each_action_is_allowed_or_refused_per_role(request, organization, role, action):
    world = World(request, action)
    world.mailoutbox.clear()
    client = client_for(staff(role, organization))
    response = world.post(client)
    if action in EXPECTED[role]:
        assert response.status_code == 303, response.content[:400]
        assert response["Location"] == f"/support/customers/{world.customer.id}/"
        assert world.happened()
    else:
        assert response.status_code == 403
        assert "None of your roles allows" in response.content.decode()
        assert not world.happened()


@pytest.mark.parametrize("action", ACTIONS)
def test_staff_of_another_organization_get_404_and_nothing_happens(request, other_organization, action):
    world = World(request, action)
    world.mailoutbox.clear()
    client = client_for(make_staff("support", other_organization, email="gina@staff.example"))
    assert world.post(client).status_code == 404
    assert not world.happened()


@pytest.mark.parametrize("action", ACTIONS)
def test_staff_with_a_role_but_no_organization_get_404(request, action):
    world = World(request, action)
    world.mailoutbox.clear()
    client = client_for(make_staff("support", None, email="nobody@staff.example"))
    assert world.post(client).status_code == 404
    assert not world.happened()


@pytest.mark.parametrize("action", ACTIONS)
def test_a_reason_is_required(request, superuser, action):
    world = World(request, action)
    world.mailoutbox.clear()
    response = world.post(client_for(superuser), reason="   ")
    assert response.status_code == 422
    assert not world.happened()


def test_a_get_is_not_an_action(support_client, subscription):
    assert support_client.get(f"/support/subscriptions/{subscription.id}/cancel").status_code == 405


def test_a_post_without_the_csrf_token_is_refused(support_user, subscription):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(support_user)
    assert client.post(f"/support/subscriptions/{subscription.id}/cancel", form()).status_code == 403
    subscription.refresh_from_db()
    assert not subscription.cancel_at_period_end


def test_the_action_and_the_services_entries_carry_actor_and_reason(support_client, support_user, first_order):
    response = support_client.post(
        f"/support/orders/{first_order.id}/refund", form(reason="Charged twice, ticket 4711", amount="7.50")
    )
    assert response.status_code == 303
    refund = Refund.objects.get(order=first_order)
    assert (refund.amount, refund.status, refund.currency) == (750, "succeeded", "usd")
    first_order.refresh_from_db()
    assert (first_order.status, first_order.refunded_amount) == ("partially_refunded", 750)

    refund_entries = LogEntry.objects.get_for_object(refund)
    assert refund_entries.exists()
    for entry in refund_entries:
        assert entry.actor_id == support_user.id
        assert entry.additional_data["reason"] == "Charged twice, ticket 4711"
    action_entry = LogEntry.objects.get_for_object(first_order).get(changes__has_key="support_action")
    assert action_entry.actor_id == support_user.id
    assert action_entry.additional_data == {"reason": "Charged twice, ticket 4711", "staff_action": "refund"}
    assert action_entry.changes_dict["outcome"][1] == "refund $7.50 succeeded"


def test_resending_a_receipt_is_audited_though_no_row_changes(support_client, support_user, first_order, mailoutbox):
    mailoutbox.clear()
    response = support_client.post(f"/support/orders/{first_order.id}/resend-receipt", form(reason="Lost the e-mail"))
    assert response.status_code == 303
    [message] = mailoutbox
    assert message.to == ["ada@example.com"] and first_order.invoice_number in message.subject
    entry = LogEntry.objects.get_for_object(first_order).get(changes__has_key="support_action")
    assert (entry.actor_id, entry.additional_data["reason"], entry.changes_dict["outcome"][1]) == (
        support_user.id,
        "Lost the e-mail",
        "sent",
    )


def test_a_refund_above_the_four_eyes_threshold_waits_for_approval(support_client, support_user, organization, first_order):
    organization.four_eyes_threshold = 1000
    organization.save(update_fields=["four_eyes_threshold"])
    response = support_client.post(f"/support/orders/{first_order.id}/refund", form(amount="15.00"), follow=True)
    assert response.status_code == 200
    assert "pending approval" in response.content.decode()
    assert not Refund.objects.filter(order=first_order).exists()
    approval = ApprovalRequest.objects.get(target_id=first_order.id)
    assert (approval.amount, approval.status, approval.requested_by_id) == (1500, "pending", support_user.id)


def test_a_refund_beyond_what_is_left_is_refused_with_the_reason(support_client, first_order):
    response = support_client.post(f"/support/orders/{first_order.id}/refund", form(amount="20.01"))
    assert response.status_code == 422
    assert "exceeds the refundable amount" in response.content.decode()
    assert not Refund.objects.filter(order=first_order).exists()


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "1.234", ""])
def test_a_bad_amount_is_422(support_client, first_order, amount):
    response = support_client.post(f"/support/orders/{first_order.id}/refund", form(amount=amount))
    assert response.status_code == 422
    assert not Refund.objects.filter(order=first_order).exists()


def test_a_form_submitted_twice_refunds_once(support_client, first_order):
    fields = form(amount="5.00")
    assert support_client.post(f"/support/orders/{first_order.id}/refund", fields).status_code == 303
    again = support_client.post(f"/support/orders/{first_order.id}/refund", fields, follow=True)
    assert "already submitted" in again.content.decode()
    assert list(Refund.objects.filter(order=first_order).values_list("amount", flat=True)) == [500]


def test_a_refused_form_may_be_sent_again_once_corrected(support_client, first_order):
    fields = form(amount="99.00")
    assert support_client.post(f"/support/orders/{first_order.id}/refund", fields).status_code == 422
    assert support_client.post(f"/support/orders/{first_order.id}/refund", {**fields, "amount": "9.00"}).status_code == 303
    assert list(Refund.objects.filter(order=first_order).values_list("amount", flat=True)) == [900]


def test_the_timeline_shows_a_refund(support_client, customer, first_order):
    support_client.post(f"/support/orders/{first_order.id}/refund", form(reason="Goodwill for the outage", amount="4.00"))
    response = support_client.get(f"/support/customers/{customer.id}/")
    timeline = response.context["timeline"]
    support_entry = next(item for item in timeline if item["title"].startswith("Support: refund"))
    assert (support_entry["actor"], support_entry["reason"], support_entry["detail"]) == (
        "sam@staff.example",
        "Goodwill for the outage",
        "refund $4.00 succeeded",
    )
    assert any(item["title"] == "refund.created" for item in timeline)
    assert any(item["title"].startswith("Refund created") for item in timeline)
    html = response.content.decode()
    assert "Goodwill for the outage" in html and "$4.00" in html
    assert response.context["refunds"][0]["amount"] == "$4.00"


def test_bad_input_is_a_4xx_never_a_500(support_client, customer, first_order):
    assert support_client.get("/support/", {"q": "ada\x00"}).status_code == 422
    assert support_client.get("/support/", {"q": "x" * 5000}).status_code == 200
    assert support_client.get(f"/support/customers/{customer.id}/", {"page": "-3", "before": "2026-13-45"}).status_code == 200
    response = support_client.post(f"/support/orders/{first_order.id}/refund", form(reason="a\x00b", amount="1.00"))
    assert response.status_code == 422
    response = support_client.post(f"/support/orders/{first_order.id}/refund", {"reason": "no token", "amount": "1.00"})
    assert response.status_code == 422
    assert support_client.post("/support/orders/not-a-uuid/refund", form(amount="1.00")).status_code == 404
    assert not Refund.objects.filter(order=first_order).exists()
