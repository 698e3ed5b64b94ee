"""Four-eyes in the admin: the refund action of orders, the payout action of organizations, and the list of
approval requests with approve and reject. Every one asks for a reason first (``reason_action``) and calls
``billing.approvals.services``, the same functions the support pages call."""

from django import forms
from django.contrib import admin

from billing.approvals import services
from billing.models import ApprovalRequest, Refund, RefundReason
from polar.admin_base import ReadOnlyAdmin, ReasonForm, money, reason_action, status
from polar.money import format_amount
from polar.organizations.admin import OrganizationAdmin


class RefundForm(ReasonForm):
    amount = forms.IntegerField(min_value=1, help_text="In minor units of the order's currency (1000 = 10.00).")
    refund_reason = forms.ChoiceField(choices=RefundReason.choices, initial=RefundReason.CUSTOMER_REQUEST)


@reason_action(capability="refund_orders", description="Refund (four-eyes above the threshold)", form_class=RefundForm)
def refund_order(modeladmin, request, order, data):
    result = services.staff_refund(
        actor=request.user, order=order, amount=data["amount"], reason=data["reason"], refund_reason=data["refund_reason"]
    )
    amount = format_amount(data["amount"], order.currency)
    if isinstance(result, Refund):
        return f"refunded {amount} ({result.status})."
    return f"{amount} is above the four-eyes threshold: approval request {result.pk} waits for another staff member."


@reason_action(capability="request_payouts", description="Pay out the available balance (four-eyes above the threshold)")
def pay_out_balance(modeladmin, request, organization, data):
    result = services.staff_payout(actor=request.user, organization=organization, reason=data["reason"])
    amount = format_amount(result.amount, result.currency)
    if isinstance(result, ApprovalRequest):
        return f"a payout of {amount} is above the four-eyes threshold: approval request {result.pk} waits."
    return f"payout of {amount} requested ({result.status})."


# The organization page is the kernel's (polar.organizations.admin), which cannot import billing.
OrganizationAdmin.actions = [*OrganizationAdmin.actions, pay_out_balance]


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    list_display = ["kind", "amount_money", "status_badge", "organization", "requested_by", "decided_by", "created_at"]
    list_filter = ["status", "kind", "organization"]
    search_fields = ["=id", "=target_id", "reason", "requested_by__email"]
    list_select_related = ["organization", "requested_by", "decided_by"]
    actions = ["approve", "reject"]
    amount_money = money("amount")
    status_badge = status()

    @reason_action(capability="approve_four_eyes", description="Approve and run (not your own request)")
    def approve(self, request, approval, data):
        approval = services.approval_approve(actor=request.user, approval_id=approval.pk, reason=data["reason"])
        return f"approved and {approval.status} ({approval.kind} {approval.result_id})."

    @reason_action(capability="approve_four_eyes", description="Reject")
    def reject(self, request, approval, data):
        services.approval_reject(actor=request.user, approval_id=approval.pk, reason=data["reason"])
        return "rejected."
