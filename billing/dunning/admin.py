"""Admin for dunning (imported by billing/admin.py): each organization's settings (editable), the cases
with their attempts, and the dunning state inline on the subscription and order pages.

The inlines are added to ``SubscriptionAdmin``/``OrderAdmin`` from here: the subscriptions package must
not import dunning (dunning calls the subscription's transitions). The "Retry payment now" action calls
``dunning_retry_order`` as the API does (an extra attempt; the schedule keeps its slots).
"""

from django.contrib import admin, messages

from billing.dunning import services
from billing.models import DunningAttempt, DunningAttemptKind, DunningCase, DunningSettings
from billing.subscriptions.admin import OrderAdmin, SubscriptionAdmin
from polar.admin_base import ReadOnlyAdmin, ReadOnlyInline, ScopedModelAdmin, status
from polar.errors import PolarError
from polar.money import format_amount

_ATTEMPT_FIELDS = [
    "attempt_number",
    "kind",
    "slot",
    "scheduled_for",
    "claimed_at",
    "status_badge",
    "decline_code",
    "decline_message",
    "payment",
    "notified_at",
]


class DunningAttemptInline(ReadOnlyInline):
    model = DunningAttempt
    fk_name = "case"
    fields = _ATTEMPT_FIELDS
    readonly_fields = fields
    status_badge = status()


class OrderDunningAttemptInline(DunningAttemptInline):
    fk_name = "order"
    verbose_name_plural = "dunning attempts"


_CASE_FIELDS = [
    "order",
    "status_badge",
    "started_at",
    "attempts_made",
    "next_attempt_at",
    "deadline_at",
    "grace_ends_at",
    "benefits_suspended_at",
    "hard_declined",
    "end_action",
    "ended_at",
]


def _attempts_made(obj) -> int:
    return obj.attempts.exclude(status="pending").count()


class SubscriptionDunningInline(ReadOnlyInline):
    model = DunningCase
    fk_name = "subscription"
    fields = _CASE_FIELDS
    readonly_fields = fields
    verbose_name_plural = "dunning (failed renewals and their retries)"
    status_badge = status()

    @admin.display(description="attempts made")
    def attempts_made(self, obj):
        return _attempts_made(obj)


SubscriptionAdmin.inlines = [*SubscriptionAdmin.inlines, SubscriptionDunningInline]
OrderAdmin.inlines = [*OrderAdmin.inlines, OrderDunningAttemptInline]


@admin.register(DunningCase)
class DunningCaseAdmin(ReadOnlyAdmin):
    list_display = [
        "order",
        "customer",
        "status_badge",
        "due_money",
        "attempts_made",
        "next_attempt_at",
        "deadline_at",
        "organization",
    ]
    list_filter = ["status", "end_action", "hard_declined", "organization"]
    search_fields = ["id", "order__invoice_number", "customer__email", "subscription__id"]
    list_select_related = ["order", "customer", "organization"]
    date_hierarchy = "started_at"
    fields = ["subscription", "customer", "usage_only", "intervals_days", "next_slot", *_CASE_FIELDS[2:]]
    readonly_fields = fields
    inlines = [DunningAttemptInline]
    actions = ["retry_now"]
    status_badge = status()

    @admin.display(description="due")
    def due_money(self, obj):
        return format_amount(obj.order.due_amount, obj.order.currency)

    @admin.display(description="attempts made")
    def attempts_made(self, obj):
        return _attempts_made(obj)

    @admin.action(description="Retry payment now")
    def retry_now(self, request, queryset):
        for case in queryset.select_related("order"):
            try:
                attempt = services.dunning_retry_order(order=case.order, kind=DunningAttemptKind.MERCHANT)
            except PolarError as exc:
                self.message_user(request, f"{case.order}: {exc.detail}", messages.WARNING)
                continue
            self.message_user(request, f"{case.order}: attempt {attempt.attempt_number or '-'} {attempt.status}")


@admin.register(DunningSettings)
class DunningSettingsAdmin(ScopedModelAdmin):
    list_display = ["organization", "retry_intervals_days", "grace_period_days", "end_action"]
    list_select_related = ["organization"]
    fields = ["organization", "retry_intervals_days", "grace_period_days", "end_action"]
