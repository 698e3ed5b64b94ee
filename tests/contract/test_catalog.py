"""Products (every price type), benefits (every supported type), discounts and license keys through both
SDKs, asserting on the models the SDKs parsed."""

import uuid

import pytest
from polar_sdk import models as m032

from billing.benefits.services import benefit_grants_create_for
from billing.catalog.services import product_benefits_set
from billing.models import LicenseKey
from tests.factories import CustomerFactory
from tests.factories.catalog import MeterFactory, make_license_keys_benefit, make_product

from .harness import failed, ok, op

pytestmark = pytest.mark.contract


def seat_price(version: str) -> dict:
    """The same graduated seat price in the request shape of ``version`` (2027-01 changed it)."""
    if version == "2027-01":
        return {
            "amount_type": "seat_based",
            "price_currency": "cad",
            "tiers": {"type": "graduated", "tiers": [{"bound": 9, "unit_amount": 800}, {"unit_amount": "600"}]},
            "minimum_units": 1,
        }
    return every_price("")[-1]


def every_price(meter_id: str) -> list[dict]:
    return [
        {"amount_type": "fixed", "price_amount": 1000, "price_currency": "usd"},
        {"amount_type": "custom", "price_currency": "eur", "minimum_amount": 500, "preset_amount": 900},
        # "free" is accepted by our API but neither SDK lets a client send it: a free price is fixed 0.
        {"amount_type": "fixed", "price_amount": 0, "price_currency": "gbp"},
        {"amount_type": "metered_unit", "meter_id": meter_id, "unit_amount": "0.05", "cap_amount": 5000},
        {
            "amount_type": "seat_based",
            "price_currency": "cad",
            "seat_tiers": {
                "seat_tier_type": "graduated",
                "tiers": [{"min_seats": 1, "max_seats": 9, "price_per_seat": 800}, {"min_seats": 10, "price_per_seat": 600}],
            },
        },
    ]


def granted_key(organization) -> LicenseKey:
    product = make_product(organization=organization, recurring_interval="month")
    product_benefits_set(
        product=product, benefits=[make_license_keys_benefit(organization=organization, limit=2, limit_usage=10).pk]
    )
    benefit_grants_create_for(customer=CustomerFactory(organization=organization), product=product, subscription_id=uuid.uuid4())
    return LicenseKey.objects.get(benefit__organization=organization)


# --- 0.32.x ---------------------------------------------------------------------------------------


def test_032_product_with_every_price_type(sdk032, contract_organization):
    meter = MeterFactory(organization=contract_organization, name="Requests")
    created = sdk032.products.create(
        request={"name": "Pro", "recurring_interval": "month", "prices": every_price(str(meter.id)), "metadata": {"tier": "pro"}}
    )
    assert isinstance(created, m032.Product)
    assert created.is_recurring and created.recurring_interval == "month" and created.metadata == {"tier": "pro"}
    fixed, custom, free, metered, seats = created.prices
    assert isinstance(fixed, m032.ProductPriceFixed) and fixed.price_amount == 1000
    assert isinstance(custom, m032.ProductPriceCustom) and (custom.minimum_amount, custom.preset_amount) == (500, 900)
    assert isinstance(free, m032.ProductPriceFixed) and (free.price_amount, free.price_currency) == (0, "gbp")
    assert isinstance(metered, m032.ProductPriceMeteredUnit)
    assert (metered.unit_amount, metered.cap_amount, metered.meter.name) == ("0.05", 5000, "Requests")
    assert isinstance(seats, m032.ProductPriceSeatBased) and seats.seat_tiers.tiers[1].price_per_seat == 600

    fetched = sdk032.products.get(id=created.id)
    assert [price.id for price in fetched.prices] == [price.id for price in created.prices]


def test_032_update_archives_price_versions_and_lists(sdk032, contract_organization):
    created = sdk032.products.create(request={"name": "Book", "prices": [{"amount_type": "fixed", "price_amount": 900}]})
    assert created.is_recurring is False
    updated = sdk032.products.update(
        id=created.id,
        product_update={"name": "Book 2", "prices": [{"amount_type": "fixed", "price_amount": 1200, "price_currency": "usd"}]},
    )
    assert updated.name == "Book 2"
    assert [price.price_amount for price in updated.prices] == [1200]
    assert updated.prices[0].id != created.prices[0].id
    page = sdk032.products.list(is_recurring=False)
    assert [product.name for product in page.result.items] == ["Book 2"]
    assert page.result.pagination.total_count == 1


def test_032_product_errors(sdk032, sdk032_other, contract_organization):
    created = sdk032.products.create(request={"name": "Mine", "prices": [{"amount_type": "fixed", "price_amount": 100}]})
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.products.get(id=created.id)
    with pytest.raises(m032.HTTPValidationError) as exc:
        sdk032.products.create(
            request={
                "name": "Bad",
                "prices": [{"amount_type": "fixed", "price_amount": 100}, {"amount_type": "fixed", "price_amount": 200}],
            }
        )
    assert exc.value.data.detail[0].loc == ["body", "prices", 1, "price_currency"]


def test_032_benefits_of_each_type_attach_to_a_product(sdk032, contract_organization):
    meter = MeterFactory(organization=contract_organization)
    created = [
        sdk032.benefits.create(request={"type": "custom", "description": "Support", "properties": {"note": "Email us"}}),
        sdk032.benefits.create(request={"type": "feature_flag", "description": "Beta", "properties": {}}),
        sdk032.benefits.create(
            request={
                "type": "meter_credit",
                "description": "Credits",
                "properties": {"units": 100, "rollover": True, "meter_id": str(meter.id)},
            }
        ),
        sdk032.benefits.create(
            request={
                "type": "license_keys",
                "description": "Key",
                "properties": {"prefix": "pro", "expires": {"ttl": 1, "timeframe": "year"}},
            }
        ),
    ]
    assert [type(b).__name__ for b in created] == [
        "BenefitCustom",
        "BenefitFeatureFlag",
        "BenefitMeterCredit",
        "BenefitLicenseKeys",
    ]
    assert created[2].properties.units == 100 and created[3].properties.expires.ttl == 1

    updated = sdk032.benefits.update(id=created[0].id, request_body={"type": "custom", "description": "Priority support"})
    assert updated.description == "Priority support"
    listed = sdk032.benefits.list(type_filter="feature_flag")
    assert [b.id for b in listed.result.items] == [created[1].id]

    product = sdk032.products.create(
        request={"name": "Plan", "recurring_interval": "month", "prices": [{"amount_type": "fixed", "price_amount": 0}]}
    )
    product = sdk032.products.update_benefits(id=product.id, product_benefits_update={"benefits": [b.id for b in created]})
    assert [b.id for b in product.benefits] == [b.id for b in created]

    assert sdk032.benefits.delete(id=created[1].id) is None
    with pytest.raises(m032.ResourceNotFound):
        sdk032.benefits.get(id=created[1].id)


def test_032_discounts(sdk032, sdk032_other):
    percentage = sdk032.discounts.create(
        request={
            "name": "Launch",
            "type": "percentage",
            "basis_points": 2000,
            "duration": "repeating",
            "duration_in_months": 3,
            "code": "LAUNCH",
        }
    )
    assert isinstance(percentage, m032.DiscountPercentageRepeatDuration)
    assert (percentage.basis_points, percentage.duration_in_months, percentage.code) == (2000, 3, "LAUNCH")
    fixed = sdk032.discounts.create(
        request={"name": "Five off", "type": "fixed", "amount": 500, "currency": "usd", "duration": "once"}
    )
    assert isinstance(fixed, m032.DiscountFixedOnceForeverDuration) and fixed.amounts == {"usd": 500}

    updated = sdk032.discounts.update(id=fixed.id, discount_update={"name": "Five dollars off", "max_redemptions": 10})
    assert (updated.name, updated.max_redemptions) == ("Five dollars off", 10)
    assert sdk032.discounts.list().result.pagination.total_count == 2
    with pytest.raises(m032.HTTPValidationError) as exc:
        sdk032.discounts.create(
            request={"name": "Again", "type": "percentage", "basis_points": 100, "duration": "once", "code": "launch"}
        )
    assert exc.value.data.detail[0].loc == ["body", "code"]
    with pytest.raises(m032.ResourceNotFound):
        sdk032_other.discounts.get(id=fixed.id)
    assert sdk032.discounts.delete(id=fixed.id) is None


def test_032_license_keys(sdk032, contract_organization):
    key = granted_key(contract_organization)
    body = {"key": key.key, "organization_id": str(contract_organization.id)}
    activation = sdk032.license_keys.activate(request={**body, "label": "laptop"})
    assert isinstance(activation, m032.LicenseKeyActivationRead) and activation.license_key.id == str(key.id)
    validated = sdk032.license_keys.validate(request={**body, "activation_id": activation.id, "increment_usage": 1})
    assert isinstance(validated, m032.ValidatedLicenseKey) and (validated.usage, validated.activation.label) == (1, "laptop")
    assert sdk032.license_keys.deactivate(request={**body, "activation_id": activation.id}) is None
    listed = sdk032.license_keys.list()
    assert [item.id for item in listed.result.items] == [str(key.id)]


# --- 1.0.x ----------------------------------------------------------------------------------------


def test_10_products(sdk10, contract_organization, contract_other_token):
    meter = MeterFactory(organization=contract_organization, name="Requests")
    results = sdk10.run(
        op(
            "products.create",
            name="Pro",
            recurring_interval="month",
            prices=[*every_price(str(meter.id))[:-1], seat_price(sdk10.version)],
        ),
        op("products.get", "${0.id}"),
        op("products.update", "${0.id}", name="Pro 2", prices=[{"id": "${0.prices.0.id}"}]),
        op("products.list", is_recurring=True),
        op("products.get", "${0.id}", access_token=contract_other_token),
        op("products.create", name="Bad", prices=[{"amount_type": "fixed", "price_amount": -1}]),
        op("products.create", name="Temp", prices=[{"amount_type": "fixed", "price_amount": 1}]),
        op("products.delete", "${6.id}"),
    )
    created = ok(results[0])
    assert created["__class__"] == "Product" and created["is_deletable"] is True
    assert [price["__class__"] for price in created["prices"]] == [
        "ProductPriceFixed",
        "ProductPriceCustom",
        "ProductPriceFixed",
        "ProductPriceMeteredUnit",
        "ProductPriceSeatBased",
    ]
    assert created["prices"][3]["unit_amount"] == "0.05"
    seats = created["prices"][4]
    if sdk10.version == "2027-01":
        assert seats["tiers"]["type"] == "graduated" and seats["minimum_units"] == 1 and seats["maximum_units"] is None
        assert [(t["bound"], t["unit_amount"]) for t in seats["tiers"]["tiers"]] == [(9, "800"), (None, "600")]
    else:
        tiers = seats["seat_tiers"]["tiers"]
        assert [(t["min_seats"], t["max_seats"], t["price_per_seat"]) for t in tiers] == [(1, 9, 800), (10, None, 600)]
    assert ok(results[1])["id"] == created["id"]
    updated = ok(results[2])
    assert updated["name"] == "Pro 2" and [p["id"] for p in updated["prices"]] == [created["prices"][0]["id"]]
    assert [item["id"] for item in ok(results[3])["items"]] == [created["id"]]
    failed(results[4], "ResourceNotFound", 404)
    failed(results[5], "HTTPValidationError", 422)
    assert ok(results[7]) is None


def test_10_benefits_and_discounts(sdk10, contract_organization):
    meter = MeterFactory(organization=contract_organization)
    results = sdk10.run(
        op("benefits.create", type="custom", description="Support", properties={"note": None}),
        op("benefits.create", type="feature_flag", description="Beta", properties={}),
        op(
            "benefits.create",
            type="meter_credit",
            description="Credits",
            properties={"units": 5, "rollover": False, "meter_id": str(meter.id)},
        ),
        op(
            "benefits.create",
            type="license_keys",
            description="Key",
            properties={"activations": {"limit": 1, "enable_customer_admin": True}},
        ),
        op("benefits.update", "${0.id}", type="custom", description="Priority support"),
        op("benefits.list"),
        op("products.create", name="Plan", recurring_interval="month", prices=[{"amount_type": "fixed", "price_amount": 0}]),
        op("products.update_benefits", "${6.id}", benefits=["${0.id}", "${3.id}"]),
        op("discounts.create", name="Launch", type="percentage", basis_points=1500, duration="once", code="GOGO"),
        op(
            "discounts.create",
            name="Off",
            type="fixed",
            amounts={"usd": 300, "eur": 250},
            duration="forever",
            products=["${6.id}"],
        ),
        op("discounts.update", "${8.id}", max_redemptions=3),
        op("discounts.list"),
        op("discounts.delete", "${8.id}"),
        op("benefits.delete", "${1.id}"),
    )
    assert [ok(results[i])["__class__"] for i in range(4)] == [
        "BenefitCustom",
        "BenefitFeatureFlag",
        "BenefitMeterCredit",
        "BenefitLicenseKeys",
    ]
    assert ok(results[4])["description"] == "Priority support"
    assert ok(results[5])["pagination"]["total_count"] == 4
    assert [b["__class__"] for b in ok(results[7])["benefits"]] == ["BenefitCustom", "BenefitLicenseKeys"]
    assert ok(results[8])["__class__"] == "DiscountPercentageOnceForeverDuration"
    fixed = ok(results[9])
    assert fixed["amounts"] == {"usd": 300, "eur": 250} and fixed["max_redemptions_per_customer"] is None
    assert ok(results[10])["max_redemptions"] == 3
    assert ok(results[11])["pagination"]["total_count"] == 2
    assert ok(results[12]) is None and ok(results[13]) is None


def test_10_license_keys(sdk10, contract_organization):
    key = granted_key(contract_organization)
    body = {"key": key.key, "organization_id": str(contract_organization.id)}
    results = sdk10.run(
        op("customer_portal.license_keys.activate", label="laptop", **body),
        op("customer_portal.license_keys.validate", activation_id="${0.id}", increment_usage=2, **body),
        op("customer_portal.license_keys.deactivate", activation_id="${0.id}", **body),
        op("license_keys.list"),
        op("license_keys.get", str(key.id)),
        op("customer_portal.license_keys.validate", key="WRONG", organization_id=str(contract_organization.id)),
    )
    assert ok(results[0])["__class__"] == "LicenseKeyActivationCreated"
    validated = ok(results[1])
    assert validated["__class__"] == "ValidatedLicenseKey" and validated["usage"] == 2
    if sdk10.version != "2026-04":  # 2026-10 added the seat member (none here: granted to the customer)
        assert validated["member_id"] is None and ok(results[4])["member"] is None
    if sdk10.version == "2027-01":  # 2027-01 names the subscription or order that granted the key
        assert validated["order_id"] is None and validated["subscription_id"] is None
    assert ok(results[2]) is None
    assert ok(results[3])["items"][0]["id"] == str(key.id)
    assert ok(results[4])["__class__"] == "LicenseKeyWithActivations"
    failed(results[5], "ResourceNotFound", 404)
