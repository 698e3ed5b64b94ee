"""Staff access to merchants (polar/organizations/staff.py) and its command, ``staff_access grant|revoke``:
roles as groups, organizations as guardian object permissions, every change audited with actor and reason."""

import io

import pytest
from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from guardian.models import UserObjectPermission

from polar.errors import NotPermitted
from polar.organizations.staff import (
    staff_access_grant,
    staff_access_revoke,
    staff_may,
    staff_may_access,
    staff_organizations,
    staff_roles,
)
from tests.factories.staff import make_staff, make_superuser

pytestmark = pytest.mark.django_db


def _run(*args):
    out = io.StringIO()
    call_command("staff_access", *args, stdout=out)
    return out.getvalue()


def test_grant_creates_the_staff_user_and_prints_a_generated_password_once(organization, other_organization):
    output = _run("grant", "--email", "Ana@Staff.example", "--role", "support", "--organization", "acme")
    user = get_user_model().objects.get(email="ana@staff.example")
    assert user.is_staff and not user.is_superuser
    password = output.split("Password (shown once, store it now): ")[1].strip()
    assert len(password) >= 20 and user.check_password(password)
    assert staff_roles(user) == {"support"}
    assert list(staff_organizations(user)) == [organization]
    assert not staff_may_access(user, other_organization)

    again = _run("grant", "--email", "ana@staff.example", "--role", "risk", "--organization", "globex")
    assert "Password" not in again  # an existing user keeps their password
    user = get_user_model().objects.get(pk=user.pk)
    assert user.check_password(password)
    assert staff_roles(user) == {"support", "risk"}
    assert set(staff_organizations(user)) == {organization, other_organization}


def test_grant_with_a_password_checks_it_against_the_password_rules(organization):
    with pytest.raises(CommandError):
        _run("grant", "--email", "bo@staff.example", "--role", "finance", "--organization", "acme", "--password", "12345")
    assert not get_user_model().objects.filter(email="bo@staff.example").exists()
    output = _run(
        "grant",
        "--email",
        "bo@staff.example",
        "--role",
        "finance",
        "--organization",
        "acme",
        "--password",
        "correct horse battery",
    )
    assert "Password" not in output
    assert get_user_model().objects.get(email="bo@staff.example").check_password("correct horse battery")


def test_an_unknown_organization_is_refused(organization):
    with pytest.raises(CommandError, match="No organization"):
        _run("grant", "--email", "x@staff.example", "--role", "support", "--organization", "nope")


def test_revoke_takes_the_organization_and_with_the_last_one_the_roles_and_the_admin(organization, other_organization):
    _run("grant", "--email", "cy@staff.example", "--role", "risk", "--organization", "acme")
    _run("grant", "--email", "cy@staff.example", "--role", "risk", "--organization", "globex")
    _run("revoke", "--email", "cy@staff.example", "--organization", "acme")
    user = get_user_model().objects.get(email="cy@staff.example")
    assert list(staff_organizations(user)) == [other_organization] and staff_roles(user) == {"risk"}
    _run("revoke", "--email", "cy@staff.example", "--organization", "globex")
    user = get_user_model().objects.get(pk=user.pk)
    assert (user.is_staff, staff_roles(user), list(staff_organizations(user))) == (False, set(), [])


def test_grant_and_revoke_are_audited_with_the_actor_and_the_reason(organization):
    root = make_superuser()
    agent = make_staff("support", None, email="dee@staff.example")
    staff_access_grant(actor=root, user=agent, role="finance", organization=organization, reason="Ticket OPS-12")
    permission_row = UserObjectPermission.objects.get(user=agent)
    created = LogEntry.objects.get_for_object(permission_row).get()
    assert (created.actor, created.additional_data) == (root, {"reason": "Ticket OPS-12", "staff_action": "staff_access_grant"})
    groups = LogEntry.objects.get_for_object(agent).filter(additional_data__staff_action="staff_access_grant").get()
    assert groups.actor == root and "groups" in groups.changes_dict

    staff_access_revoke(actor=root, user=agent, organization=organization, reason="Left the team")
    revoked = LogEntry.objects.filter(additional_data__staff_action="staff_access_revoke")
    assert revoked.exists() and {entry.actor for entry in revoked} == {root}
    assert {entry.additional_data["reason"] for entry in revoked} == {"Left the team"}


def test_the_command_is_audited_as_the_system(organization):
    _run("grant", "--email", "eve@staff.example", "--role", "support", "--organization", "acme", "--reason", "bootstrap")
    entry = LogEntry.objects.filter(additional_data__staff_action="staff_access_grant").first()
    assert (entry.actor, entry.actor_email, entry.additional_data["reason"]) == (None, "system:staff_access_grant", "bootstrap")


def test_only_a_superuser_assigns_staff(organization):
    risk = make_staff("risk", organization)
    other = make_staff("support", None, email="fay@staff.example")
    with pytest.raises(NotPermitted):
        staff_access_grant(actor=risk, user=other, role="risk", organization=organization, reason="promote myself")
    assert not staff_may_access(get_user_model().objects.get(pk=other.pk), organization)


def test_a_role_capability_applies_only_to_the_assigned_organizations(organization, other_organization):
    risk = make_staff("risk", organization)
    assert staff_may(risk, "freeze_payouts", organization)
    assert not staff_may(risk, "freeze_payouts", other_organization)
    assert not staff_may(risk, "refund_orders", organization)  # support and finance refund; risk does not
    inactive = make_staff("finance", organization, email="gil@staff.example")
    inactive.is_active = False
    inactive.save()
    assert not staff_may_access(inactive, organization)
