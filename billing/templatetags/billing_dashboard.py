"""The staff dashboard's live figures, for the admin landing page (templates/admin/index.html):
``{% load billing_dashboard %}{% billing_dashboard_figures as figures %}``.

Billing provides them (the kernel imports no domain app); each figure is one indexed aggregate query."""

from __future__ import annotations

from django import template
from django.db.models import Count, Sum

from billing.models import Order, Subscription
from polar import clock
from polar.money import format_amount
from polar.organizations.staff import staff_organizations
from polar.webhooks.models import WebhookDelivery

register = template.Library()


@register.simple_tag
def billing_dashboard_figures(user=None) -> list[dict]:
    """[{label, value, tone, link}] for today (UTC): orders and revenue, past-due subscriptions,
    failed webhook deliveries, renewal backlog (renewable subscriptions whose period has ended). A staff
    member who is not a superuser counts only the organizations they may access."""
    now = clock.now()
    scope = {}
    if user is not None and not user.is_superuser:
        scope = {"organization__in": staff_organizations(user).values("pk")}
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    paid_today = (
        Order.objects.filter(created_at__gte=start_of_day, status="paid", **scope)
        .values("currency")
        .annotate(total=Sum("total_amount"), count=Count("id"))
        .order_by("-total")
    )
    orders_today = Order.objects.filter(created_at__gte=start_of_day, **scope).count()
    revenue = ", ".join(format_amount(row["total"], row["currency"]) for row in paid_today) or format_amount(0, "usd")
    past_due = Subscription.objects.filter(status="past_due", **scope).count()
    failed_deliveries = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.FAILED, **scope).count()
    backlog = Subscription.objects.filter(
        status__in=Subscription.RENEWABLE_STATUSES, current_period_end__lte=now, **scope
    ).count()
    day = start_of_day.strftime("%Y-%m-%d")
    return [
        {"label": "Orders today", "value": orders_today, "tone": "", "link": f"/admin/billing/order/?created_at__gte={day}"},
        {"label": "Revenue today (paid)", "value": revenue, "tone": "ok", "link": "/admin/billing/order/?status__exact=paid"},
        {
            "label": "Past-due subscriptions",
            "value": past_due,
            "tone": "warn" if past_due else "",
            "link": "/admin/billing/subscription/?status__exact=past_due",
        },
        {
            "label": "Failed webhook deliveries",
            "value": failed_deliveries,
            "tone": "bad" if failed_deliveries else "",
            "link": "/admin/webhooks/webhookdelivery/?status__exact=failed",
        },
        {"label": "Renewal backlog", "value": backlog, "tone": "warn" if backlog else "", "link": "/admin/billing/subscription/"},
    ]
