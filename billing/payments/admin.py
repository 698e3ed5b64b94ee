"""Admin for payment methods, payments and the sandbox processor (imported by billing/admin.py).

Money rows are read-only here: changes go through the services (actions below), never through forms.
"""

from django.contrib import admin, messages

from billing.models import (
    Payment,
    PaymentMethod,
    SandboxCharge,
    SandboxDispute,
    SandboxPaymentMethod,
    SandboxRefund,
    SandboxSettings,
)
from billing.payments import services
from polar.admin_base import PlatformReadOnlyAdmin, ReadOnlyAdmin, ScopedModelAdmin, money, status


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdmin):
    list_display = ["id", "organization", "customer", "brand", "last4", "exp_month", "exp_year", "processor", "deleted_at"]
    list_filter = ["processor", "brand"]
    search_fields = ["id", "processor_ref", "customer__email"]
    list_select_related = ["organization", "customer"]
    actions = ["delete_methods"]

    @admin.action(description="Delete (soft) the selected payment methods")
    def delete_methods(self, request, queryset):
        for method in queryset.filter(deleted_at__isnull=True):
            services.payment_method_delete(payment_method=method)
        self.message_user(request, "Deleted.", messages.SUCCESS)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "customer_email",
        "amount_money",
        "status_badge",
        "decline_reason",
        "trigger",
        "created_at",
        "organization",
    ]
    list_filter = ["status", "processor", "trigger", "decline_reason", "currency", "organization"]
    search_fields = ["id", "idempotency_key", "processor_charge_ref", "customer__email", "customer__external_id"]
    list_select_related = ["customer", "organization"]
    date_hierarchy = "created_at"
    amount_money = money("amount")
    fee_money = money("fee")
    status_badge = status()

    @admin.display(description="customer", ordering="customer__email")
    def customer_email(self, obj):
        return obj.customer.email if obj.customer_id else "—"

    actions = ["reconcile"]

    @admin.action(description="Reconcile pending payments with the processor")
    def reconcile(self, request, queryset):
        for payment in queryset.filter(status=Payment.Status.PENDING):
            try:
                services.payment_reconcile(payment=payment)
            except services.PaymentError as exc:
                self.message_user(request, f"{payment.id}: {exc.detail}", messages.ERROR)


@admin.register(SandboxSettings)
class SandboxSettingsAdmin(ScopedModelAdmin):
    organization_path = None  # the sandbox processor: platform-wide, superusers only
    list_display = ["id", "fault"]

    def has_add_permission(self, request):
        return not SandboxSettings.objects.exists()


for model in (SandboxPaymentMethod, SandboxCharge, SandboxRefund, SandboxDispute):
    admin.site.register(model, PlatformReadOnlyAdmin)
