"""The back-office permission matrix (issue 17): for each role (and a staff member without the organization's
object permission, and a superuser), each admin list and change view of an own-organization row and of
another organization's row, and each risk action, is allowed or refused as designed (docs/back-office.md).

The expectations are written out here, not derived from ``polar.organizations.staff.ROLE_PERMISSIONS``: a
change of a role's permissions must change this table too."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

pytestmark = pytest.mark.django_db

ALL = {"support", "risk", "finance"}
MONEY = {"risk", "finance"}
# Who may open each admin list (superusers: every one).
VIEW = {
    "organizations.organization": ALL,
    "customers.customer": ALL,
    "billing.subscription": ALL,
    "billing.order": ALL,
    "billing.payment": ALL,
    "billing.refund": ALL,
    "billing.dispute": ALL,
    "billing.checkout": ALL,
    "billing.event": ALL,
    "billing.approvalrequest": ALL,
    "webhooks.webhookdelivery": ALL,
    "billing.product": MONEY,
    "payouts.payout": MONEY,
    "payouts.payoutaccount": MONEY,
    "payouts.ledgertransaction": MONEY,
    "payouts.ledgerentry": MONEY,
    "payouts.ledgeraccount": MONEY,
    "webhooks.webhookendpoint": MONEY,
    "billing.paymentmethod": set(),
    "webhooks.webhookevent": set(),
}
# Which actions each role is offered on a list it may open (superusers: every one).
ACTIONS = {
    ("organizations.organization", "block_checkouts"): {"risk"},
    ("organizations.organization", "unblock_checkouts"): {"risk"},
    ("organizations.organization", "freeze_payouts"): {"risk"},
    ("organizations.organization", "unfreeze_payouts"): {"risk"},
    ("organizations.organization", "pay_out_balance"): {"finance"},
    ("organizations.organization", "assign_staff"): set(),
    ("organizations.organization", "mint_access_token"): set(),
    ("customers.customer", "soft_delete"): set(),
    ("billing.order", "refund_order"): {"support", "finance"},
    ("billing.dispute", "record_evidence"): {"risk"},
    ("billing.approvalrequest", "approve"): {"risk", "finance"},
    ("billing.approvalrequest", "reject"): {"risk", "finance"},
    ("payouts.payout", "hold"): {"risk"},
    ("payouts.payout", "release"): {"risk"},
    ("payouts.payoutaccount", "freeze_payouts"): {"risk"},
}


def _urls(label, row):
    app_label, model = label.split(".")
    return (
        reverse(f"admin:{app_label}_{model}_changelist"),
        reverse(f"admin:{app_label}_{model}_change", args=[row.pk]),
    )


def _matrix(client, role, world):
    """Every cell that differs from the design, as readable lines (empty: the matrix holds)."""
    wrong = []
    for label, roles in VIEW.items():
        allowed = role == "superuser" or role in roles
        own_row, other_row = world["acme"].rows[label], world["globex"].rows[label]
        changelist, own_change = _urls(label, own_row)
        _, other_change = _urls(label, other_row)
        listing = client.get(changelist)
        own = client.get(own_change)
        other = client.get(other_change)
        if not allowed:
            if listing.status_code != 403 or own.status_code != 403 or other.status_code not in (403, 404):
                wrong.append(
                    f"{label}: expected refused, got list {listing.status_code}, own {own.status_code}, other {other.status_code}"
                )
            continue
        if listing.status_code != 200 or own.status_code != 200:
            wrong.append(f"{label}: expected allowed, got list {listing.status_code}, own {own.status_code}")
            continue
        sees_other = other_change.encode() in listing.content
        if role == "superuser":
            if other.status_code != 200 or not sees_other:
                wrong.append(f"{label}: a superuser sees every organization (other {other.status_code})")
        elif other.status_code != 404 or sees_other:
            wrong.append(f"{label}: another organization's row: change view {other.status_code}, listed {sees_other}")
        if own_change.encode() not in listing.content:
            wrong.append(f"{label}: own row not listed")
        for (action_label, action), action_roles in ACTIONS.items():
            if action_label != label:
                continue
            offered = f'value="{action}"'.encode() in listing.content
            if offered != (role == "superuser" or role in action_roles):
                wrong.append(f"{label}: action {action} offered={offered}")
    return wrong


@pytest.mark.parametrize("role", ["support", "risk", "finance"])
def test_a_role_on_one_organization_sees_and_acts_on_that_organization_only(world, staff_client, role, organization):
    client = staff_client(role, organization)
    assert _matrix(client, role, world) == []


def test_a_superuser_sees_every_organization_and_every_action(world, staff_client):
    client = staff_client("superuser")
    assert _matrix(client, "superuser", world) == []


def test_a_role_without_the_organizations_object_permission_sees_no_row(world, staff_client):
    """The Finance role (model permissions) but no organization: every list is empty, every row 404."""
    client = staff_client("none")
    client.user.groups.add(Group.objects.get(name="Finance"))
    for label, roles in VIEW.items():
        if "finance" not in roles:
            continue
        own_row = world["acme"].rows[label]
        changelist, own_change = _urls(label, own_row)
        listing = client.get(changelist)
        assert listing.status_code == 200, label
        assert own_change.encode() not in listing.content, label
        assert client.get(own_change).status_code == 404, label


def test_a_staff_member_without_a_role_opens_no_list(world, staff_client):
    client = staff_client("none")
    for label in VIEW:
        changelist, _ = _urls(label, world["acme"].rows[label])
        assert client.get(changelist).status_code == 403, label


def test_every_admin_of_ours_is_scoped_and_its_organization_path_resolves(staff_client, organization):
    """A new admin cannot forget the scoping: every ModelAdmin of our apps is a StaffScopedAdmin, and its
    queryset for a staff member compiles and runs (a wrong ``organization_path`` raises here)."""
    from django.contrib import admin
    from django.test import RequestFactory

    from polar.admin_base import StaffScopedAdmin

    ours = {"organizations", "customers", "billing", "payouts", "webhooks"}
    request = RequestFactory().get("/admin/")
    request.user = staff_client("risk", organization).user
    checked = 0
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in ours:
            continue
        assert isinstance(model_admin, StaffScopedAdmin), model
        list(model_admin.get_queryset(request)[:1])
        checked += 1
    assert checked >= 30
