"""The admin: the dunning state inline on the subscription and order pages, the cases with their
attempts and the "Retry payment now" action, the settings (validated)."""

from billing.models import DunningCase, DunningSettings, Order, OrderStatus
from polar import clock
from tests.factories.payments import attach_card

from .conftest import RENEWAL, SLOTS, payments, run_billing


def test_subscription_and_order_pages_show_the_dunning_state(admin_client, subscription):
    run_billing(RENEWAL)
    run_billing(SLOTS[0])
    case = DunningCase.objects.get(subscription=subscription)

    page = admin_client.get(f"/admin/billing/subscription/{subscription.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "dunning (failed renewals and their retries)" in html.lower()
    assert "March 7, 2026" in html or "7 March 2026" in html or "2026-03-07" in html
    order_page = admin_client.get(f"/admin/billing/order/{case.order_id}/change/").content.decode()
    assert "card_declined" in order_page and "scheduled" in order_page
    assert admin_client.get("/admin/billing/dunningcase/").status_code == 200
    assert admin_client.get(f"/admin/billing/dunningcase/{case.pk}/change/").status_code == 200


def test_retry_payment_now_action(admin_client, customer, subscription):
    run_billing(RENEWAL)
    case = DunningCase.objects.get(subscription=subscription)
    with clock.freeze(RENEWAL):
        attach_card(customer, "pm_card_visa")
        subscription.payment_method = None
        subscription.save(update_fields=["payment_method"])
        response = admin_client.post(
            "/admin/billing/dunningcase/", {"action": "retry_now", "_selected_action": [str(case.pk)]}, follow=True
        )
    assert response.status_code == 200
    order = Order.objects.get(pk=case.order_id)
    assert order.status == OrderStatus.PAID
    assert payments(order)[-1].trigger == "retry_admin"


def test_settings_refuse_a_bad_schedule(admin_client, organization):
    response = admin_client.post(
        "/admin/billing/dunningsettings/add/",
        {"organization": organization.pk, "retry_intervals_days": "[0, -1]", "grace_period_days": 7, "end_action": "unpaid"},
    )
    assert response.status_code == 200 and not DunningSettings.objects.exists()
    response = admin_client.post(
        "/admin/billing/dunningsettings/add/",
        {"organization": organization.pk, "retry_intervals_days": "[3, 3]", "grace_period_days": 2, "end_action": "unpaid"},
    )
    assert response.status_code == 302
    assert DunningSettings.objects.get().retry_intervals_days == [3, 3]
