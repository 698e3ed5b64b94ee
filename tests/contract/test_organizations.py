"""Organizations through both SDKs (an organization token sees its own organization only)."""

import pytest

from .harness import ok, op

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
