"""Four-eyes refunds (billing.approvals): at most the organization's threshold a staff refund runs at once;
above it, it waits for a second staff member, who must not be the requester."""

import pytest
from auditlog.models import LogEntry

from billing.approvals.services import (
    ApprovalNotPending,
    SelfApprovalRefused,
    approval_approve,
    approval_reject,
    staff_refund,
)
from billing.models import ApprovalRequest, Order, Refund
from polar.errors import NotPermitted, PolarRequestValidationError
from tests.factories.staff import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def threshold(organization):
    organization.four_eyes_threshold = 1000
    organization.save(update_fields=["four_eyes_threshold"])
    return 1000


def test_a_refund_at_the_threshold_runs_at_once_with_the_reason_as_comment(order, organization, threshold):
    agent = make_staff("support", organization)
    refund = staff_refund(actor=agent, order=order, amount=1000, reason="Charged twice, ticket 42")
    assert isinstance(refund, Refund)
    assert (refund.status, refund.amount, refund.comment) == ("succeeded", 1000, "Charged twice, ticket 42")
    assert ApprovalRequest.objects.count() == 0
    entry = LogEntry.objects.get_for_object(refund).order_by("timestamp").first()
    assert entry.actor == agent
    assert entry.additional_data == {"reason": "Charged twice, ticket 42", "staff_action": "refund"}


def test_above_the_threshold_a_request_waits_and_another_staff_member_approves(order, organization, threshold):
    agent = make_staff("support", organization)
    approver = make_staff("finance", organization)
    approval = staff_refund(actor=agent, order=order, amount=1500, reason="Outage refund")
    assert isinstance(approval, ApprovalRequest)
    assert (approval.status, approval.amount, approval.currency, approval.requested_by) == ("pending", 1500, "usd", agent)
    assert Refund.objects.count() == 0

    approval = approval_approve(actor=approver, approval_id=approval.pk, reason="Checked the outage window")
    assert (approval.status, approval.decided_by) == ("executed", approver)
    refund = Refund.objects.get(pk=approval.result_id)
    assert (refund.status, refund.amount) == ("succeeded", 1500)
    assert Order.objects.get(pk=order.pk).refunded_amount == 1500
    decision = LogEntry.objects.get_for_object(approval).filter(additional_data__staff_action="approval_approve").get()
    assert decision.actor == approver
    assert decision.additional_data["reason"] == "Checked the outage window"


def test_the_requester_cannot_approve_their_own_request(order, organization, threshold):
    finance = make_staff("finance", organization)
    approval = staff_refund(actor=finance, order=order, amount=1500, reason="Goodwill")
    with pytest.raises(SelfApprovalRefused):
        approval_approve(actor=finance, approval_id=approval.pk, reason="me again")
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by) == ("pending", None)
    assert Refund.objects.count() == 0


def test_a_rejected_request_refunds_nothing_and_cannot_be_approved(order, organization, threshold):
    agent = make_staff("support", organization)
    approver = make_staff("risk", organization)
    approval = staff_refund(actor=agent, order=order, amount=1500, reason="Goodwill")
    approval_reject(actor=approver, approval_id=approval.pk, reason="Not covered")
    with pytest.raises(ApprovalNotPending):
        approval_approve(actor=approver, approval_id=approval.pk, reason="changed my mind")
    assert Refund.objects.count() == 0


def test_support_cannot_approve_and_other_organizations_staff_cannot_refund(order, organization, other_organization, threshold):
    agent = make_staff("support", organization)
    other_agent = make_staff("support", organization)
    outsider = make_staff("finance", other_organization)
    approval = staff_refund(actor=agent, order=order, amount=1500, reason="Goodwill")
    with pytest.raises(NotPermitted):
        approval_approve(actor=other_agent, approval_id=approval.pk, reason="ok")  # support has no approve
    with pytest.raises(NotPermitted):
        approval_approve(actor=outsider, approval_id=approval.pk, reason="ok")
    with pytest.raises(NotPermitted):
        staff_refund(actor=outsider, order=order, amount=100, reason="not mine")
    assert Refund.objects.count() == 0


def test_a_refund_needs_a_reason(order, organization, threshold):
    agent = make_staff("support", organization)
    with pytest.raises(PolarRequestValidationError):
        staff_refund(actor=agent, order=order, amount=100, reason="   ")
    assert Refund.objects.count() == 0
