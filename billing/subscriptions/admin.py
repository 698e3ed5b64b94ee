"""Admin for subscriptions, orders, checkouts and tax rates (imported by billing/admin.py).

Money and state fields are read-only; staff change a subscription only through the actions, which
call the same services as the API (so locks, webhooks and audit entries are the same).
"""

from django.contrib import admin, messages

from billing.models import (
    Checkout,
    Order,
    OrderItem,
    Subscription,
    SubscriptionPrice,
    TaxRate,
)
from billing.subscriptions import lifecycle
from polar.admin_base import ReadOnlyAdmin, ReadOnlyInline
from polar.errors import PolarError


class SubscriptionPriceInline(ReadOnlyInline):
    model = SubscriptionPrice
    fields = ["product_price", "amount"]
    readonly_fields = fields


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "organization",
        "customer",
        "product",
        "status",
        "amount",
        "currency",
        "current_period_end",
        "cancel_at_period_end",
    ]
    list_filter = ["status", "cancel_at_period_end", "recurring_interval"]
    search_fields = ["id", "customer__email", "customer__external_id"]
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
    fields = ["label", "amount", "discount_amount", "tax_rate_bps", "tax_amount", "proration", "period_start", "period_end"]
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "invoice_number",
        "organization",
        "customer",
        "billing_reason",
        "status",
        "total_amount",
        "currency",
        "created_at",
    ]
    list_filter = ["status", "billing_reason"]
    search_fields = ["id", "invoice_number", "customer__email"]
    inlines = [OrderItemInline]


@admin.register(Checkout)
class CheckoutAdmin(ReadOnlyAdmin):
    list_display = ["id", "organization", "status", "product", "customer_email", "total_amount", "currency", "expires_at"]
    list_filter = ["status"]
    search_fields = ["id", "customer_email"]
    exclude = ["client_secret"]


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    """Tax rates are configuration: editable (audited). A change applies to orders priced afterwards."""

    list_display = ["organization", "country", "basis_points", "label"]
    list_filter = ["country"]
