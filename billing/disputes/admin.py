"""Disputes in the admin: read-only and scoped; the risk team records evidence with an action (a reason
first, then the note), through ``dispute_evidence_record``."""

from django import forms
from django.contrib import admin

from billing.disputes import services
from billing.models import Dispute
from polar.admin_base import ReadOnlyAdmin, ReasonForm, money, reason_action, status


class EvidenceForm(ReasonForm):
    evidence = forms.CharField(widget=forms.Textarea(attrs={"rows": 6, "cols": 60}), max_length=5000)


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = ["id", "amount_money", "status_badge", "reason", "evidence_due_by", "organization", "created_at"]
    list_filter = ["status", "currency", "organization"]
    search_fields = ["=id", "processor_dispute_ref", "=order__id"]
    list_select_related = ["organization"]
    actions = ["record_evidence"]
    amount_money = money("amount")
    status_badge = status()

    @reason_action(capability="record_dispute_evidence", description="Record evidence", form_class=EvidenceForm)
    def record_evidence(self, request, dispute, data):
        services.dispute_evidence_record(
            organization=dispute.organization,
            dispute_id=dispute.pk,
            text=data["evidence"],
            recorded_by=request.user.get_username(),
        )
        return "evidence recorded."
