"""Payout accounts, payouts and the ledger in the admin: read-only, scoped to the staff member's
organizations. The risk tools are actions that ask for a reason first and call the payout services the API
uses: freeze and unfreeze an organization's payouts (on the organization and on its payout account), hold and
release one pending payout."""

from django.contrib import admin

from payouts import services
from payouts.models import LedgerAccount, LedgerEntry, LedgerTransaction, Payout, PayoutAccount
from polar.admin_base import ReadOnlyAdmin, ReadOnlyInline, money, reason_action, status
from polar.organizations.admin import OrganizationAdmin


def _organization(modeladmin, obj):
    # The actions below serve both the organization admin and the payout account admin.
    return obj if modeladmin.organization_path == "" else obj.organization


@reason_action(capability="freeze_payouts", description="Freeze payouts")
def freeze_payouts(modeladmin, request, obj, data):
    services.payout_freeze(organization=_organization(modeladmin, obj), reason=data["reason"])
    return "payouts frozen: no payout is requested or sent until unfrozen."


@reason_action(capability="freeze_payouts", description="Unfreeze payouts")
def unfreeze_payouts(modeladmin, request, obj, data):
    services.payout_unfreeze(organization=_organization(modeladmin, obj), reason=data["reason"])
    return "payouts unfrozen."


# The organization page is the kernel's (polar.organizations.admin), which cannot import payouts.
OrganizationAdmin.actions = [*OrganizationAdmin.actions, freeze_payouts, unfreeze_payouts]


@admin.register(PayoutAccount)
class PayoutAccountAdmin(ReadOnlyAdmin):
    list_display = [
        "organization",
        "account_holder_name",
        "last4",
        "verified_at",
        "auto_payouts",
        "payouts_frozen",
        "frozen_reason",
    ]
    list_filter = ["payouts_frozen", "auto_payouts", "organization"]
    search_fields = ["organization__slug", "account_holder_name"]
    list_select_related = ["organization"]
    exclude = ["account_number", "routing_number"]
    actions = [freeze_payouts, unfreeze_payouts]

    @admin.display(description="account")
    def last4(self, obj):
        return f"…{obj.account_number_last4}" if obj.account_number else "—"


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ["id", "amount_money", "status_badge", "held", "organization", "arrival_date", "created_at"]
    list_filter = ["status", "held", "currency", "organization"]
    search_fields = ["=id", "processor_ref", "organization__slug"]
    list_select_related = ["organization"]
    actions = ["hold", "release"]
    amount_money = money("amount")
    status_badge = status()

    @reason_action(capability="hold_payouts", description="Hold (a pending payout is not sent)")
    def hold(self, request, payout, data):
        services.payout_hold(organization=payout.organization, payout_id=payout.pk, held=True, reason=data["reason"])
        return "held."

    @reason_action(capability="hold_payouts", description="Release a held payout")
    def release(self, request, payout, data):
        services.payout_hold(organization=payout.organization, payout_id=payout.pk, held=False, reason=data["reason"])
        return "released: it is sent with the next payouts run."


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ["key", "kind", "organization", "created_at"]
    list_filter = ["kind"]
    search_fields = ["key"]
    list_select_related = ["organization"]


class LedgerEntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ["account", "amount", "currency"]
    readonly_fields = fields


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ["idempotency_key", "kind", "organization", "created_at"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key", "=source_id"]
    list_select_related = ["organization"]
    inlines = [LedgerEntryInline]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    organization_path = "account__organization"
    list_display = ["id", "account", "amount_money", "transaction", "created_at"]
    list_filter = ["currency"]
    search_fields = ["account__key", "transaction__idempotency_key"]
    list_select_related = ["account", "transaction"]
    amount_money = money("amount")
