"""Checkout sessions beyond create/confirm, through both SDKs: ``checkouts.list`` (filters), and the
organization scoping of each call."""

import pytest
from polar_sdk import models as m032

from tests.factories.subscriptions import monthly_product

from .harness import failed, ok, op

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


@pytest.fixture
def premium(contract_organization):
    return monthly_product(contract_organization, name="Premium", amount=3000)


def test_032_update_and_client_get_update(sdk032, sdk032_other, plan, premium):
    created = sdk032.checkouts.create(request={"products": [str(plan.id), str(premium.id)]})
    updated = sdk032.checkouts.update(
        id=created.id,
        checkout_update={"product_id": str(premium.id), "customer_email": "ann@example.com", "metadata": {"k": "v"}},
    )
    assert isinstance(updated, m032.Checkout)
    assert (updated.product_id, updated.total_amount, updated.customer_email) == (str(premium.id), 3000, "ann@example.com")
    assert updated.metadata == {"k": "v"}
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.checkouts.update(id=created.id, checkout_update={"customer_name": "Theirs"})

    public = sdk032.checkouts.client_get(client_secret=created.client_secret)
    assert isinstance(public, m032.CheckoutPublic)
    assert public.id == created.id and public.product_id == str(premium.id)
    changed = sdk032.checkouts.client_update(
        client_secret=created.client_secret, checkout_update_public={"product_id": str(plan.id), "customer_name": "Ann"}
    )
    assert (changed.product_id, changed.total_amount, changed.customer_name) == (str(plan.id), 1000, "Ann")
    with pytest.raises(m032.ResourceNotFound):
        sdk032.checkouts.client_get(client_secret="polar_c_unknown")


def test_10_update_and_client_get_update(sdk10, contract_other_token, plan, premium):
    results = sdk10.run(
        op("checkouts.create", products=[str(plan.id), str(premium.id)]),
        op("checkouts.update", "${0.id}", product_id=str(premium.id), customer_name="Ann", success_url="https://shop.example/ok"),
        op("checkouts.update", "${0.id}", customer_name="Theirs", access_token=contract_other_token),
        op("checkouts.client_get", "${0.client_secret}"),
        op("checkouts.client_update", "${0.client_secret}", product_id=str(plan.id), customer_email="ann@example.com"),
        op("checkouts.client_update", "${0.client_secret}", seats=3),
    )
    updated = ok(results[1])
    assert updated["__class__"] == "Checkout"
    assert (updated["product_id"], updated["total_amount"], updated["customer_name"]) == (str(premium.id), 3000, "Ann")
    assert updated["success_url"] == "https://shop.example/ok"
    failed(results[2], "ResourceNotFound", 404)
    public = ok(results[3])
    assert public["__class__"] == "CheckoutPublic" and public["id"] == updated["id"]
    changed = ok(results[4])
    assert (changed["product_id"], changed["total_amount"], changed["customer_email"]) == (str(plan.id), 1000, "ann@example.com")
    error = failed(results[5], "HTTPValidationError", 422)
    assert [d["loc"] for d in error["body"]["detail"]] == [["body", "seats"]]


SUCCESS = "https://shop.example/thanks?checkout_id={CHECKOUT_ID}"


def test_032_success_url_placeholder(sdk032, plan):
    created = sdk032.checkouts.create(request={"products": [str(plan.id)], "success_url": SUCCESS})
    assert created.success_url == f"https://shop.example/thanks?checkout_id={created.id}"
    assert sdk032.checkouts.get(id=created.id).success_url == created.success_url


def test_10_success_url_placeholder(sdk10, plan):
    created, public = sdk10.run(
        op("checkouts.create", products=[str(plan.id)], success_url=SUCCESS), op("checkouts.client_get", "${0.client_secret}")
    )
    checkout = ok(created)
    assert checkout["success_url"] == f"https://shop.example/thanks?checkout_id={checkout['id']}"
    assert ok(public)["success_url"] == checkout["success_url"]
