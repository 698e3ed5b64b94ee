"""PATCH /v1/organizations/{id}: the stored settings change, the rest is accepted; another organization → 404."""

import pytest

pytestmark = pytest.mark.django_db


def test_update_own_organization(api_client, organization, other_organization):
    response = api_client.patch(
        f"/v1/organizations/{organization.id}",
        {"name": "New Name", "email": None, "avatar_url": None, "subscription_settings": {"proration_behavior": "next_period"}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["name"], body["email"], body["subscription_settings"]["proration_behavior"]) == ("New Name", None, "next_period")
    organization.refresh_from_db()
    assert (organization.name, organization.proration_behavior) == ("New Name", "next_period")
    assert organization.modified_at is not None

    bad = api_client.patch(f"/v1/organizations/{organization.id}", {"name": "ab", "email": "nope"}, format="json")
    assert bad.status_code == 422
    assert sorted(d["loc"][-1] for d in bad.json()["detail"]) == ["email", "name"]
    assert api_client.patch(f"/v1/organizations/{other_organization.id}", {"name": "Theirs"}, format="json").status_code == 404
    other_organization.refresh_from_db()
    assert other_organization.name != "Theirs"
