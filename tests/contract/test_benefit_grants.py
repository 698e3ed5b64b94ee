"""``benefit_grants.list`` (GET /v1/benefit-grants/) through polar-sdk 1.0.2 (0.32 has no such call):
the organization's grants in Polar's BenefitGrant shape, never another organization's."""

import uuid

import pytest

from billing.benefits.services import benefit_grants_create_for
from tests.factories.customers import CustomerFactory
from tests.factories.subscriptions import custom_benefit, monthly_product

from .harness import ok, op

pytestmark = pytest.mark.contract


def _grant(organization, external_id):
    product = monthly_product(organization, name="Plan", amount=0, benefits=[custom_benefit(organization)])
    customer = CustomerFactory(organization=organization, external_id=external_id)
    [grant] = benefit_grants_create_for(customer=customer, product=product, subscription_id=uuid.uuid4())
    return grant


def test_10_benefit_grants_list(sdk10, contract_organization, contract_other_organization, contract_other_token):
    mine = _grant(contract_organization, "grant-me")
    _grant(contract_other_organization, "grant-other")
    listed, filtered, none_granted, other = sdk10.run(
        op("benefit_grants.list"),
        op("benefit_grants.list", external_customer_id="grant-me", is_granted=True),
        op("benefit_grants.list", is_granted=False),
        op("benefit_grants.list", access_token=contract_other_token),
    )
    page = ok(listed)
    assert page["pagination"]["total_count"] == 1
    [grant] = page["items"]
    assert grant["__class__"] == "BenefitGrant" and grant["id"] == str(mine.id)
    assert grant["benefit"]["__class__"] == "BenefitCustom" and grant["customer"]["external_id"] == "grant-me"
    assert [g["id"] for g in ok(filtered)["items"]] == [str(mine.id)]
    assert ok(none_granted)["items"] == []
    assert [g["id"] for g in ok(other)["items"]] != [str(mine.id)]
