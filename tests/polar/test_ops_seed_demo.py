"""``manage.py seed_demo``: the demo merchant ``make demo`` serves, seeded idempotently."""

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from polar.organizations.models import Organization, OrganizationAccessToken, OrganizationMember
from polar.organizations.services import access_token_revoke

pytestmark = pytest.mark.django_db


def seed(data_dir) -> dict:
    out = io.StringIO()
    call_command("seed_demo", "--json", "--data-dir", str(data_dir), stdout=out)
    return json.loads(out.getvalue())


def test_first_run_creates_organization_staff_user_and_token(tmp_path):
    result = seed(tmp_path)
    assert result["slug"] == "demo"
    billing_orders = result["created"].pop("billing")
    # payouts/demo.py gives the demo organization a verified payout account with weekly payouts
    assert result["created"] == {"organization": 1, "staff_user": 2, "staff_roles": 3, "api_token": 1, "payout_account": 1}
    # three months of renewals plus the first order and a plan change (billing/demo.py)
    assert billing_orders >= 4
    organization = Organization.objects.get(slug="demo")
    assert str(organization.id) == result["organization_id"]
    admin = get_user_model().objects.get(username=result["admin_username"])
    assert admin.is_staff and admin.is_superuser
    assert admin.check_password(result["admin_password"])
    assert OrganizationMember.objects.filter(organization=organization, user=admin).count() == 1
    # One staff member per role on the demo merchant, all with the printed staff password.
    from polar.organizations.staff import staff_may_access, staff_roles

    assert [role for role, _user in result["staff_logins"]] == ["support", "risk", "finance"]
    for role, username in result["staff_logins"]:
        member = get_user_model().objects.get(username=username)
        assert member.check_password(result["staff_password"]) and not member.is_superuser
        assert staff_roles(member) == {role} and staff_may_access(member, organization)


def test_second_run_adds_nothing_and_prints_the_same_token_and_password(tmp_path):
    first = seed(tmp_path)
    second = seed(tmp_path)
    assert second["created"] == {
        "organization": 0,
        "staff_user": 0,
        "staff_roles": 0,
        "api_token": 0,
        "billing": 0,
        "payout_account": 0,
    }
    assert (second["token"], second["admin_password"]) == (first["token"], first["admin_password"])
    assert Organization.objects.filter(slug="demo").count() == 1
    assert OrganizationAccessToken.objects.filter(organization__slug="demo").count() == 1
    assert get_user_model().objects.filter(username="admin").count() == 1


def test_token_is_kept_in_the_data_dir_readable_by_the_owner_only(tmp_path):
    result = seed(tmp_path)
    token_file = tmp_path / "demo_token"
    assert token_file.read_text().strip() == result["token"]
    assert token_file.stat().st_mode & 0o777 == 0o600


def test_seeded_token_authenticates_as_the_demo_organization(tmp_path, client):
    result = seed(tmp_path)
    response = client.get("/v1/organizations/", HTTP_AUTHORIZATION=f"Bearer {result['token']}")
    assert response.status_code == 200
    assert [item["slug"] for item in response.json()["items"]] == ["demo"]


def test_a_revoked_demo_token_is_replaced_by_a_new_one(tmp_path):
    first = seed(tmp_path)
    access_token_revoke(token=OrganizationAccessToken.objects.get(organization__slug="demo"))
    second = seed(tmp_path)
    assert second["token"] != first["token"]
    assert second["created"]["api_token"] == 1
    assert (tmp_path / "demo_token").read_text().strip() == second["token"]


def test_a_fresh_data_dir_over_an_existing_database_resets_the_admin_password(tmp_path):
    first = seed(tmp_path / "one")
    second = seed(tmp_path / "two")
    assert second["admin_password"] != first["admin_password"]
    assert get_user_model().objects.get(username="admin").check_password(second["admin_password"])
    assert second["created"]["staff_user"] == 0


def test_text_output_shows_token_and_credentials(tmp_path):
    out = io.StringIO()
    call_command("seed_demo", "--data-dir", str(tmp_path), stdout=out)
    token = (tmp_path / "demo_token").read_text().strip()
    password = (tmp_path / "demo_admin_password").read_text().strip()
    assert f"API token     {token}" in out.getvalue()
    assert f"admin         admin / {password}" in out.getvalue()
