"""The audit trail in the admin: each row's history (auditlog entries, with the reason) behind the row's own
scoping; the whole log read-only to everyone and listed to superusers only; the dashboard counts only the
staff member's organizations."""

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_rows_history_shows_its_entries_to_its_organizations_staff_only(world, staff_client, organization):
    risk = staff_client("risk", organization)
    risk.post(
        "/admin/organizations/organization/",
        {"action": "block_checkouts", "_selected_action": [str(organization.pk)], "apply": "1", "reason": "Card testing wave"},
    )
    own = risk.get(f"/admin/organizations/organization/{organization.pk}/history/")
    assert own.status_code == 200
    assert b"Reason: Card testing wave" in own.content and b"block_checkouts" in own.content
    assert risk.user.email.encode() in own.content
    other = world["globex"].organization
    assert risk.get(f"/admin/organizations/organization/{other.pk}/history/").status_code == 404
    assert risk.get(f"/admin/organizations/organization/{other.pk}/auditlog/").status_code == 404


def test_the_audit_log_is_read_only_to_everyone_and_listed_to_superusers_only(world, staff_client, organization):
    entry = LogEntry.objects.order_by("id").first()
    root = staff_client("superuser")
    listing = root.get("/admin/auditlog/logentry/")
    assert listing.status_code == 200
    assert b'value="delete_selected"' not in listing.content
    change_url = reverse("admin:auditlog_logentry_change", args=[entry.pk])
    assert root.get(change_url).status_code == 200
    assert root.post(change_url, {"action": "0"}).status_code == 403
    assert root.post(reverse("admin:auditlog_logentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert LogEntry.objects.filter(pk=entry.pk).exists()
    finance = staff_client("finance", organization)
    assert finance.get("/admin/auditlog/logentry/").status_code == 403
    assert finance.get(change_url).status_code == 403


def test_the_dashboard_counts_only_the_staff_members_organizations(world, staff_client, organization):
    from billing.templatetags.billing_dashboard import billing_dashboard_figures

    risk = staff_client("risk", organization)
    root = staff_client("superuser")
    figures = {figure["label"]: figure["value"] for figure in billing_dashboard_figures(risk.user)}
    everything = {figure["label"]: figure["value"] for figure in billing_dashboard_figures(root.user)}
    assert (figures["Orders today"], everything["Orders today"]) == (1, 2)
    assert risk.get("/admin/").status_code == 200


def test_a_staff_request_leaves_no_actor_behind_for_later_writes(staff_client, organization):
    """Bulk audit writes read the context variable: after the response it must not name the request's user."""
    from auditlog.context import auditlog_value

    from polar.audit import audit_log_many

    client = staff_client("risk", organization)
    assert client.get("/admin/").status_code == 200
    assert (auditlog_value.get(None) or {}).get("actor") is None
    organization.name = "Acme Renamed"
    assert audit_log_many([(organization, None, None)], created=True) == 1
    assert LogEntry.objects.filter(object_pk=str(organization.pk)).latest("id").actor is None
