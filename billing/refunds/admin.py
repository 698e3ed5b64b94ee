"""Refunds in the admin: read-only and scoped (a refund is made with the order's refund action, through
``billing.approvals.services.staff_refund``, four-eyes above the organization's threshold)."""

from django.contrib import admin

from billing.models import Refund
from polar.admin_base import ReadOnlyAdmin, money, status


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["id", "amount_money", "status_badge", "reason", "order", "organization", "created_at"]
    list_filter = ["status", "reason", "currency", "organization"]
    search_fields = ["=id", "=order__id", "comment"]
    list_select_related = ["organization", "order"]
    amount_money = money("amount")
    tax_money = money("tax_amount")
    status_badge = status()
