"""Organizations through both SDKs (an organization token sees its own organization only)."""
import pytest
from polar_sdk.models import ResponseValidationError

from .harness import ok, op

pytestmark = pytest.mark.contract

# The kernel's OrganizationOutput (polar/organizations/api/serializers.py) renders 7 fields; both SDKs
# require many more (0.32: avatar_url, proration_behavior, allow_customer_updates, website, socials,
# details_submitted_at, sso_enforced, default_presentment_currency, default_tax_behavior,
# feature_settings, subscription_settings, customer_email_settings, customer_portal_settings,
# account_id, payout_account_id, capabilities; 1.0.2 also onboarding_resubmission_requested_at,
# dispute_settings, embed_hosts). Strict: once the output carries them these xfails fail, as a
# reminder to drop the marker.
REASON = "OrganizationOutput lacks fields both SDKs require (see the comment above)"
output_incomplete_032 = pytest.mark.xfail(strict=True, raises=ResponseValidationError, reason=REASON)
# 1.0.2 raises PolarDeserializationError in the driver, which ok() turns into an AssertionError.
output_incomplete_10 = pytest.mark.xfail(strict=True, raises=AssertionError, reason=REASON)


@output_incomplete_032
def test_032_get_organization(sdk032, contract_organization):
    organization = sdk032.organizations.get(id=str(contract_organization.id))
    assert organization.id == str(contract_organization.id)
    assert organization.slug == "contract-acme"


@output_incomplete_032
def test_032_list_organizations(sdk032, contract_organization):
    page = sdk032.organizations.list_organizations()
    assert [o.id for o in page.result.items] == [str(contract_organization.id)]


@output_incomplete_10
def test_10_get_and_list_organizations(sdk10, contract_organization):
    fetched, listed = sdk10.run(op("organizations.get", str(contract_organization.id)), op("organizations.list"))
    assert ok(fetched)["slug"] == "contract-acme"
    assert [o["id"] for o in ok(listed)["items"]] == [str(contract_organization.id)]
