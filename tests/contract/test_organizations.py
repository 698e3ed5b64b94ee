"""Organizations through both SDKs (an organization token sees its own organization only)."""

import pytest

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


def test_032_get_organization(sdk032, contract_organization):
    organization = sdk032.organizations.get(id=str(contract_organization.id))
    assert organization.id == str(contract_organization.id)
    assert organization.slug == "contract-acme"


def test_032_list_organizations(sdk032, contract_organization):
    page = sdk032.organizations.list_organizations()
    assert [o.id for o in page.result.items] == [str(contract_organization.id)]


def test_10_get_and_list_organizations(sdk10, contract_organization):
    fetched, listed = sdk10.run(op("organizations.get", str(contract_organization.id)), op("organizations.list"))
    assert ok(fetched)["slug"] == "contract-acme"
    assert [o["id"] for o in ok(listed)["items"]] == [str(contract_organization.id)]


def test_032_update_organization(sdk032, contract_organization, contract_other_organization):
    updated = sdk032.organizations.update(
        id=str(contract_organization.id),
        organization_update={
            "name": "Acme Renamed",
            "email": "billing@acme.test",
            "subscription_settings": {
                "allow_multiple_subscriptions": True,
                "proration_behavior": "invoice",
                "benefit_revocation_grace_period": 0,
                "prevent_trial_abuse": False,
                "allow_customer_updates": False,
            },
        },
    )
    assert (updated.name, updated.email, updated.slug) == ("Acme Renamed", "billing@acme.test", "contract-acme")
    assert updated.subscription_settings.proration_behavior == "invoice"
    assert updated.subscription_settings.allow_customer_updates is False
    assert updated.modified_at is not None
    with pytest.raises(Exception) as raised:
        sdk032.organizations.update(id=str(contract_other_organization.id), organization_update={"name": "Theirs"})
    assert type(raised.value).__name__ == "ResourceNotFound"
    contract_other_organization.refresh_from_db()
    assert contract_other_organization.name == "Contract Globex"


def test_10_update_organization(sdk10, contract_organization, contract_other_organization):
    org = str(contract_organization.id)
    updated, bad, other = sdk10.run(
        op("organizations.update", org, name="Acme Ten", website="https://acme.test", default_presentment_currency="eur"),
        op("organizations.update", org, default_presentment_currency="xxx"),
        op("organizations.update", str(contract_other_organization.id), name="Theirs"),
    )
    result = ok(updated)
    assert result["__class__"] == "Organization"
    assert (result["name"], result["website"], result["default_presentment_currency"]) == ("Acme Ten", "https://acme.test", "eur")
    error = failed(bad, "HTTPValidationError", 422)
    assert [d["loc"] for d in error["body"]["detail"]] == [["body", "default_presentment_currency"]]
    failed(other, "ResourceNotFound", 404)
