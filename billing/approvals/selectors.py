"""Reads of four-eyes approval requests, scoped to the organizations a staff member may see."""

from billing.models import ApprovalRequest, ApprovalStatus
from polar.organizations.staff import staff_organizations


def approvals_pending_for(user):
    """Pending requests of the organizations ``user`` may access, oldest first."""
    return (
        ApprovalRequest.objects.filter(organization__in=staff_organizations(user), status=ApprovalStatus.PENDING)
        .select_related("organization", "requested_by")
        .order_by("created_at")
    )
