"""Admin for subscriptions, orders, checkouts and tax rates (imported by billing/admin.py).

Money and state fields are read-only; staff change a subscription only through the actions, which
call the same services as the API (so locks, webhooks and audit entries are the same).
"""

from django.contrib import admin, messages

from billing.approvals.admin import refund_order
from billing.catalog.admin import price_label
from billing.models import (
    Checkout,
    Order,
    OrderItem,
    Subscription,
    SubscriptionPrice,
    TaxRate,
)
from billing.subscriptions import lifecycle
from polar.admin_base import ReadOnlyAdmin, ReadOnlyInline, ScopedModelAdmin, money, status
from polar.errors import PolarError


class SubscriptionPriceInline(ReadOnlyInline):
    model = SubscriptionPrice
    fields = ["price", "amount_money"]
    readonly_fields = fields
    amount_money = money("amount", currency="subscription.currency", description="amount")

    @admin.display(description="price")
    def price(self, obj):
        return price_label(obj.product_price)


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = [
        "customer_email",
        "product",
        "status_badge",
        "amount_money",
        "current_period_end",
        "cancel_at_period_end",
        "organization",
    ]
    list_filter = ["status", "cancel_at_period_end", "recurring_interval", "currency", "organization"]
    search_fields = ["id", "customer__email", "customer__external_id", "product__name"]
    list_select_related = ["customer", "product", "organization"]
    date_hierarchy = "created_at"
    amount_money = money("amount")
    status_badge = status()

    @admin.display(description="customer", ordering="customer__email")
    def customer_email(self, obj):
        return obj.customer.email or obj.customer.external_id or obj.customer_id

    inlines = [SubscriptionPriceInline]
    actions = ["cancel_at_period_end", "uncancel", "revoke"]

    def _run(self, request, queryset, service):
        for subscription in queryset:
            try:
                service(subscription=subscription)
            except PolarError as exc:
                self.message_user(request, f"{subscription.id}: {exc.detail}", messages.ERROR)

    @admin.action(description="Cancel at the end of the period")
    def cancel_at_period_end(self, request, queryset):
        self._run(request, queryset, lifecycle.subscription_cancel)

    @admin.action(description="Uncancel")
    def uncancel(self, request, queryset):
        self._run(request, queryset, lifecycle.subscription_uncancel)

    @admin.action(description="Revoke now")
    def revoke(self, request, queryset):
        self._run(request, queryset, lifecycle.subscription_revoke)


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    fields = ["label", "amount_money", "discount_money", "tax_rate", "tax_money", "proration", "period_start", "period_end"]
    readonly_fields = fields
    amount_money = money("amount", currency="order.currency", description="amount")
    discount_money = money("discount_amount", currency="order.currency")
    tax_money = money("tax_amount", currency="order.currency")

    @admin.display(description="tax rate")
    def tax_rate(self, obj):
        return f"{obj.tax_rate_bps / 100:g} %"


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "order_label",
        "customer_email",
        "billing_reason",
        "status_badge",
        "total_money",
        "refunded_money",
        "created_at",
        "organization",
    ]
    list_filter = ["status", "billing_reason", "currency", "created_at", "organization"]
    search_fields = ["id", "invoice_number", "customer__email", "customer__external_id", "subscription__id"]
    list_select_related = ["customer", "organization"]
    date_hierarchy = "created_at"
    inlines = [OrderItemInline]
    actions = [refund_order]
    status_badge = status()
    subtotal_money = money("subtotal_amount")
    discount_money = money("discount_amount")
    net_money = money("net_amount")
    tax_money = money("tax_amount")
    total_money = money("total_amount")
    applied_balance_money = money("applied_balance_amount")
    due_money = money("due_amount")
    refunded_money = money("refunded_amount")
    refunded_tax_money = money("refunded_tax_amount")
    platform_fee_money = money("platform_fee_amount")

    @admin.display(description="order", ordering="invoice_number")
    def order_label(self, obj):
        return f"Order #{obj.invoice_number}"

    @admin.display(description="customer", ordering="customer__email")
    def customer_email(self, obj):
        return obj.customer.email if obj.customer else "—"


@admin.register(Checkout)
class CheckoutAdmin(ReadOnlyAdmin):
    list_display = ["id", "status_badge", "product", "customer_email", "total_money", "expires_at", "organization"]
    list_filter = ["status", "currency", "organization"]
    search_fields = ["id", "customer_email", "customer__external_id"]
    list_select_related = ["product", "organization"]
    status_badge = status()
    amount_money = money("amount", description="amount")
    discount_money = money("discount_amount")
    net_money = money("net_amount")
    tax_money = money("tax_amount")
    total_money = money("total_amount")
    exclude = ["client_secret"]


@admin.register(TaxRate)
class TaxRateAdmin(ScopedModelAdmin):
    """Tax rates are configuration: editable (audited). A change applies to orders priced afterwards."""

    list_display = ["organization", "country", "basis_points", "label"]
    list_filter = ["country"]
