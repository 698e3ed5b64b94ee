"""Catalog calls test_catalog.py does not cover, through both SDKs: products.update with a new price
(the old version is replaced) and with a kept price, discounts.get, benefits.get (1.0), license_keys.get
(0.32), license_keys.update, license_keys.get_activation, each with tenant isolation and a bad input.
Assertions are on the models the SDKs parsed."""

import pytest
from polar_sdk import models as m032

from .harness import failed, ok, op
from .test_catalog import granted_key

pytestmark = pytest.mark.contract


# --- 0.32.x ---------------------------------------------------------------------------------------


def test_032_product_update_changes_and_keeps_prices(sdk032, sdk032_other):
    created = sdk032.products.create(
        request={
            "name": "Plan",
            "recurring_interval": "month",
            "prices": [
                {"amount_type": "fixed", "price_amount": 1000, "price_currency": "usd"},
                {"amount_type": "fixed", "price_amount": 900, "price_currency": "eur"},
            ],
        }
    )
    usd, eur = created.prices
    # Keep the EUR price by id, replace the USD one with a new amount. (0.32 cannot discriminate a plain
    # {"id": ...} dict in the prices union, so the kept price is passed as its model.)
    updated = sdk032.products.update(
        id=created.id,
        product_update=m032.ProductUpdate(
            prices=[
                m032.ProductPriceFixedCreate(price_amount=1500, price_currency="usd"),
                m032.ExistingProductPrice(id=eur.id),
            ]
        ),
    )
    assert isinstance(updated, m032.Product)
    by_currency = {price.price_currency: price for price in updated.prices}
    assert sorted(by_currency) == ["eur", "usd"]
    assert by_currency["usd"].price_amount == 1500 and by_currency["usd"].id != usd.id
    assert by_currency["eur"].id == eur.id and by_currency["eur"].price_amount == 900
    assert all(isinstance(price, m032.ProductPriceFixed) and not price.is_archived for price in updated.prices)
    assert sdk032.products.get(id=created.id).prices[0].id in {p.id for p in updated.prices}

    with pytest.raises(m032.HTTPValidationError) as raised:
        sdk032.products.update(
            id=created.id, product_update={"prices": [{"amount_type": "fixed", "price_amount": -5, "price_currency": "usd"}]}
        )
    assert raised.value.data.detail[0].loc[:3] == ["body", "prices", 0]
    assert {p.price_amount for p in sdk032.products.get(id=created.id).prices} == {1500, 900}
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.products.update(id=created.id, product_update={"name": "Theirs"})


def test_032_discount_get(sdk032, sdk032_other):
    created = sdk032.discounts.create(
        request={"name": "Spring", "type": "percentage", "basis_points": 1250, "duration": "forever", "code": "SPRING"}
    )
    fetched = sdk032.discounts.get(id=created.id)
    assert isinstance(fetched, m032.DiscountPercentageOnceForeverDuration)
    assert (fetched.id, fetched.name, fetched.basis_points, fetched.code) == (created.id, "Spring", 1250, "SPRING")
    assert fetched.duration == "forever" and fetched.redemptions_count == 0
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.discounts.get(id=created.id)


def test_032_license_key_get_update_activation(sdk032, sdk032_other, contract_organization):
    key = granted_key(contract_organization)
    fetched = sdk032.license_keys.get(id=str(key.id))
    assert isinstance(fetched, m032.LicenseKeyWithActivations)
    assert (fetched.key, fetched.status, fetched.limit_activations, fetched.limit_usage) == (key.key, "granted", 2, 10)
    assert fetched.activations == [] and fetched.customer_id == str(key.customer_id)

    updated = sdk032.license_keys.update(id=str(key.id), license_key_update={"status": "disabled", "limit_usage": 20, "usage": 3})
    assert isinstance(updated, m032.LicenseKeyRead)
    assert (updated.status, updated.limit_usage, updated.usage) == ("disabled", 20, 3)
    reenabled = sdk032.license_keys.update(id=str(key.id), license_key_update={"status": "granted"})
    assert reenabled.status == "granted" and reenabled.limit_usage == 20

    activation = sdk032.license_keys.activate(
        request={"key": key.key, "organization_id": str(contract_organization.id), "label": "desktop", "meta": {"os": "linux"}}
    )
    read = sdk032.license_keys.get_activation(id=str(key.id), activation_id=activation.id)
    assert isinstance(read, m032.LicenseKeyActivationRead)
    assert (read.id, read.label, read.meta, read.license_key_id) == (activation.id, "desktop", {"os": "linux"}, str(key.id))
    assert [a.id for a in sdk032.license_keys.get(id=str(key.id)).activations] == [activation.id]

    with pytest.raises(m032.HTTPValidationError) as raised:
        sdk032.license_keys.update(id=str(key.id), license_key_update={"limit_activations": 51})
    assert [tuple(d.loc) for d in raised.value.data.detail] == [("body", "limit_activations")]
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.license_keys.get(id=str(key.id))
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.license_keys.update(id=str(key.id), license_key_update={"usage": 0})
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.license_keys.get_activation(id=str(key.id), activation_id=activation.id)


# --- 1.0.x ----------------------------------------------------------------------------------------


def test_10_product_prices_discount_get_benefit_get(sdk10, contract_other_token):
    results = sdk10.run(
        op(
            "products.create",
            name="Plan",
            recurring_interval="month",
            prices=[
                {"amount_type": "fixed", "price_amount": 1000, "price_currency": "usd"},
                {"amount_type": "fixed", "price_amount": 900, "price_currency": "eur"},
            ],
        ),
        op(
            "products.update",
            "${0.id}",
            prices=[{"amount_type": "fixed", "price_amount": 1500, "price_currency": "usd"}, {"id": "${0.prices.1.id}"}],
        ),
        op("discounts.create", name="Spring", type="fixed", amount=250, currency="usd", duration="once"),
        op("discounts.get", "${2.id}"),
        op("discounts.get", "${2.id}", access_token=contract_other_token),
        op("benefits.create", type="custom", description="Support", properties={"note": "hello"}),
        op("benefits.get", "${5.id}"),
        op("benefits.get", "${5.id}", access_token=contract_other_token),
        op("benefits.grants", "${5.id}"),
        op("products.update", "${0.id}", access_token=contract_other_token, name="Theirs"),
    )
    created = ok(results[0])
    updated = ok(results[1])
    by_currency = {price["price_currency"]: price for price in updated["prices"]}
    assert by_currency["usd"]["price_amount"] == 1500 and by_currency["usd"]["id"] != created["prices"][0]["id"]
    assert by_currency["eur"]["id"] == created["prices"][1]["id"]
    assert all(price["__class__"] == "ProductPriceFixed" for price in updated["prices"])

    discount = ok(results[3])
    assert discount["__class__"] == "DiscountFixedOnceForeverDuration"
    assert (discount["id"], discount["amounts"], discount["duration"]) == (ok(results[2])["id"], {"usd": 250}, "once")
    failed(results[4], "ResourceNotFound", 404)

    benefit = ok(results[6])
    assert benefit["__class__"] == "BenefitCustom" and benefit["properties"]["note"] == "hello"
    failed(results[7], "ResourceNotFound", 404)
    grants = ok(results[8])
    assert grants["pagination"]["total_count"] == 0 and grants["items"] == []
    failed(results[9], "ResourceNotFound", 404)


def test_10_license_key_update_and_activation(sdk10, contract_organization, contract_other_token):
    key = granted_key(contract_organization)
    body = {"key": key.key, "organization_id": str(contract_organization.id)}
    results = sdk10.run(
        op("license_keys.update", str(key.id), status="revoked", limit_usage=30),
        op("license_keys.update", str(key.id), status="granted"),
        op("customer_portal.license_keys.activate", label="phone", **body),
        op("license_keys.get_activation", str(key.id), "${2.id}"),
        op("license_keys.get", str(key.id)),
        op("license_keys.update", str(key.id), limit_activations=0),
        op("license_keys.get_activation", str(key.id), "${2.id}", access_token=contract_other_token),
        op("license_keys.update", str(key.id), usage=1, access_token=contract_other_token),
    )
    revoked = ok(results[0])
    assert revoked["__class__"] == "LicenseKeyRead"
    assert (revoked["status"], revoked["limit_usage"]) == ("revoked", 30)
    assert ok(results[1])["status"] == "granted"
    activation = ok(results[3])
    assert activation["__class__"] == "LicenseKeyActivationRead"
    assert (activation["id"], activation["label"], activation["license_key_id"]) == (ok(results[2])["id"], "phone", str(key.id))
    with_activations = ok(results[4])
    assert [a["id"] for a in with_activations["activations"]] == [activation["id"]]
    assert with_activations["limit_usage"] == 30
    error = failed(results[5], "HTTPValidationError", 422)
    assert [d["loc"] for d in error["body"]["detail"]] == [["body", "limit_activations"]]
    failed(results[6], "ResourceNotFound", 404)
    failed(results[7], "ResourceNotFound", 404)
