"""Checkout sessions beyond create/confirm, through both SDKs: ``checkouts.list`` (filters), and the
organization scoping of each call."""

import pytest

from tests.factories.subscriptions import monthly_product

from .harness import ok, op

pytestmark = pytest.mark.contract


@pytest.fixture
def plan(contract_organization):
    return monthly_product(contract_organization, name="Pro", amount=1000)


def test_032_list_checkouts(sdk032, sdk032_other, contract_other_organization, plan):
    mine = sdk032.checkouts.create(request={"products": [str(plan.id)], "customer_email": "ann@example.com"})
    sdk032_other.checkouts.create(request={"products": [str(monthly_product(contract_other_organization).id)]})
    page = sdk032.checkouts.list()
    assert [c.id for c in page.result.items] == [mine.id]
    assert page.result.items[0].status == "open" and page.result.pagination.total_count == 1
    assert [c.id for c in sdk032.checkouts.list(query="ann@", status="open").result.items] == [mine.id]
    assert sdk032.checkouts.list(status="succeeded").result.items == []


def test_10_list_checkouts(sdk10, plan):
    created, listed, filtered, empty = sdk10.run(
        op("checkouts.create", products=[str(plan.id)], external_customer_id="ext-1"),
        op("checkouts.list"),
        op("checkouts.list", product_id=str(plan.id), external_customer_id="ext-1", sorting=["-expires_at"]),
        op("checkouts.list", status=["expired", "failed"]),
    )
    checkout = ok(created)
    items = ok(listed)["items"]
    assert [c["id"] for c in items] == [checkout["id"]] and items[0]["__class__"] == "Checkout"
    assert [c["id"] for c in ok(filtered)["items"]] == [checkout["id"]]
    assert ok(empty)["items"] == []
