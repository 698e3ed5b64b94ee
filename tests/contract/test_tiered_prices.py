"""metered_tiers and unit_based prices (issue 22) through polar-sdk 1.0.2, each version client: create,
read, update (a new version replaces the old one), bad tiers → 422 in Polar's shape. And what polar-sdk
0.32.0, which predates these types, does: fine for products without them, a parse failure for a product
that has one (docs/pricing.md says so)."""

import pytest
from polar_sdk import models as m032

from tests.factories.catalog import MeterFactory

from .harness import failed, ok, op

pytestmark = pytest.mark.contract

API_TIERS = {
    "type": "graduated",
    "tiers": [{"bound": 1000, "unit_amount": "0"}, {"bound": 100000, "unit_amount": "0.5"}, {"unit_amount": "0.2"}],
}
LICENCE_TIERS = {
    "type": "volume",
    "tiers": [{"bound": 10, "unit_amount": "1000"}, {"bound": 50, "unit_amount": "800"}, {"bound": None, "unit_amount": 600}],
}
LABEL = {"en": {"=1": "licence", "other": "licences"}}


def _metered(meter_id, tiers=API_TIERS, cap=50_000):
    return {"amount_type": "metered_tiers", "price_currency": "usd", "meter_id": meter_id, "tiers": tiers, "cap_amount": cap}


def _unit(tiers=LICENCE_TIERS, minimum=2):
    return {"amount_type": "unit_based", "price_currency": "usd", "tiers": tiers, "minimum_units": minimum, "unit_label": LABEL}


def test_10_create_read_update_both_tiered_types(sdk10, contract_organization, contract_other_token):
    meter = MeterFactory(organization=contract_organization, name="API calls")
    results = sdk10.run(
        op("products.create", name="API", recurring_interval="month", prices=[_metered(str(meter.id))]),
        op("products.create", name="Licences", recurring_interval="month", prices=[_unit()]),
        op("products.get", "${0.id}"),
        op("products.get", "${1.id}"),
        # a new schedule for each: the old version is archived and replaced
        op(
            "products.update",
            "${0.id}",
            prices=[
                _metered(str(meter.id), tiers={"type": "volume", "tiers": [{"bound": None, "unit_amount": "0.25"}]}, cap=None)
            ],
        ),
        op("products.update", "${1.id}", prices=[_unit(minimum=None)]),
        op("products.list", is_archived=False),
        op("products.get", "${0.id}", access_token=contract_other_token),
    )
    metered, unit = ok(results[2])["prices"][0], ok(results[3])["prices"][0]
    assert metered["__class__"] == "ProductPriceMeteredTiers"
    assert metered["tiers"] == {
        "__class__": "Tiers",
        "type": "graduated",
        "tiers": [
            {"__class__": "Tier", "bound": 1000, "unit_amount": "0"},
            {"__class__": "Tier", "bound": 100000, "unit_amount": "0.5"},
            {"__class__": "Tier", "bound": None, "unit_amount": "0.2"},
        ],
    }
    assert (metered["cap_amount"], metered["meter_id"], metered["meter"]["name"]) == (50_000, str(meter.id), "API calls")
    assert unit["__class__"] == "ProductPriceUnitBased"
    assert [(t["bound"], t["unit_amount"]) for t in unit["tiers"]["tiers"]] == [(10, "1000"), (50, "800"), (None, "600")]
    assert (unit["tiers"]["type"], unit["minimum_units"], unit["maximum_units"], unit["unit_label"]) == ("volume", 2, None, LABEL)

    new_metered, new_unit = ok(results[4])["prices"][0], ok(results[5])["prices"][0]
    assert new_metered["id"] != metered["id"] and new_metered["cap_amount"] is None
    assert new_metered["tiers"]["tiers"] == [{"__class__": "Tier", "bound": None, "unit_amount": "0.25"}]
    assert new_unit["id"] != unit["id"] and new_unit["minimum_units"] == 1
    listed = ok(results[6])
    assert {p["amount_type"] for item in listed["items"] for p in item["prices"]} == {"metered_tiers", "unit_based"}
    failed(results[7], "ResourceNotFound", 404)


@pytest.mark.parametrize(
    ("tiers", "loc"),
    [
        # unsorted bounds
        (
            {"type": "graduated", "tiers": [{"bound": 100, "unit_amount": "1"}, {"bound": 50, "unit_amount": "1"}]},
            ["tiers", "tiers", 1, "bound"],
        ),
        # a null bound that is not last
        (
            {"type": "graduated", "tiers": [{"bound": None, "unit_amount": "1"}, {"bound": 50, "unit_amount": "1"}]},
            ["tiers", "tiers", 0, "bound"],
        ),
        # a negative rate
        ({"type": "volume", "tiers": [{"bound": None, "unit_amount": "-0.5"}]}, ["tiers", "tiers", 0, "unit_amount"]),
    ],
)
def test_10_bad_tiers_are_422_in_polars_shape(sdk10, contract_organization, tiers, loc):
    meter = MeterFactory(organization=contract_organization)
    results = sdk10.run(
        op("products.create", name="Bad", recurring_interval="month", prices=[_metered(str(meter.id), tiers=tiers)]),
        op("products.create", name="Bad", recurring_interval="month", prices=[_unit(tiers=tiers, minimum=None)]),
        op("products.list"),
    )
    for result in results[:2]:
        error = failed(result, "HTTPValidationError", 422)
        assert error["body"]["detail"][0]["loc"] == ["body", "prices", 0, *loc]
    assert ok(results[2])["items"] == []  # nothing half-written


def test_032_works_without_tiered_prices_and_fails_to_parse_them(sdk032, contract_organization):
    from billing.catalog.services import product_create

    plain = sdk032.products.create(
        request={"name": "Plain", "prices": [{"amount_type": "fixed", "price_amount": 1000, "price_currency": "usd"}]}
    )
    assert isinstance(plain.prices[0], m032.ProductPriceFixed)
    assert [p.id for p in sdk032.products.list().result.items] == [plain.id]
    # 0.32 cannot send the new types (its request union refuses "unit_based" before sending). A product
    # that has one, made by another client, it cannot read: its ProductPrice union has no member for
    # the tag (pydantic's union_tag_invalid), so the whole answer fails to parse.
    licences = product_create(
        organization=contract_organization, name="Licences", prices=[_unit(tiers=_validated(LICENCE_TIERS))]
    )
    with pytest.raises(m032.ResponseValidationError):
        sdk032.products.get(id=str(licences.id))
    with pytest.raises(m032.ResponseValidationError):
        sdk032.products.list()
    assert sdk032.products.get(id=plain.id).prices[0].price_amount == 1000  # a product without them still reads


def _validated(tiers):
    from billing.catalog.serializers import RateTiersInput

    serializer = RateTiersInput(data=tiers)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def test_10_portal_units_change_and_running_meter_amounts(sdk10, contract_organization):
    """The portal changes a unit-based quantity (``CustomerSubscriptionUpdateUnits``) and shows the order's
    ``units``; customer meters carry the running ``amount`` of a metered_tiers price, an extra key every
    version client parses past (polar-sdk ignores unknown keys)."""
    from billing.catalog.services import product_create
    from billing.portal.sessions import customer_session_create
    from billing.subscriptions import lifecycle
    from billing.usage.services import events_ingest
    from tests.factories.customers import CustomerFactory
    from tests.factories.payments import attach_card

    meter = MeterFactory(organization=contract_organization, name="API calls")
    customer = CustomerFactory(organization=contract_organization, email="units@example.com")
    attach_card(customer)
    # The service takes the tiers as the API's serializer hands them over: unit amounts as decimal strings.
    tiers = {**LICENCE_TIERS, "tiers": [{**tier, "unit_amount": str(tier["unit_amount"])} for tier in LICENCE_TIERS["tiers"]]}
    licences = product_create(
        organization=contract_organization, name="Licences", recurring_interval="month", prices=[_unit(tiers=tiers)]
    )
    api = product_create(
        organization=contract_organization, name="API", recurring_interval="month", prices=[_metered(str(meter.id))]
    )
    subscription = lifecycle.subscription_create(organization=contract_organization, customer=customer, product=licences, units=8)
    lifecycle.subscription_create(organization=contract_organization, customer=customer, product=api)
    events = [{"name": "call", "customer_id": str(customer.id)} for _ in range(1500)]
    events_ingest(organization=contract_organization, events=events[:1000])
    events_ingest(organization=contract_organization, events=events[1000:])
    token = customer_session_create(customer=customer)[1]

    updated, refused, meters, merchant_meters = sdk10.run(
        op("customer_portal.subscriptions.update", str(subscription.id), units=20, access_token=token),
        op("customer_portal.subscriptions.update", str(subscription.id), units=1, access_token=token),
        op("customer_portal.customer_meters.list", access_token=token),
        op("customer_meters.list", customer_id=str(customer.id)),
    )
    assert ok(updated)["__class__"] == "CustomerSubscription" and ok(updated)["units"] == 20
    failed(refused, "HTTPValidationError", 422)  # below minimum_units
    [row] = ok(meters)["items"]
    assert row["__class__"] == "CustomerCustomerMeter" and row["consumed_units"] == 1500
    assert ok(merchant_meters)["items"][0]["consumed_units"] == 1500
