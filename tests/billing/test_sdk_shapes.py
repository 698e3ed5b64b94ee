"""Our responses parse as polar-sdk 0.32.0's models (the strict, pydantic client): every price type,
every benefit type and every discount variant."""

import pytest
from polar_sdk import models as sdk
from pydantic import TypeAdapter

from tests.factories.catalog import MeterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def meter(organization):
    return MeterFactory(organization=organization, name="Tokens")


def test_product_with_every_price_type_parses(api_client, organization, meter):
    body = api_client.post(
        "/v1/products/",
        {
            "name": "Everything",
            "recurring_interval": "month",
            "prices": [
                {"amount_type": "fixed", "price_amount": 1000},
                {"amount_type": "custom", "price_currency": "eur", "minimum_amount": 100, "preset_amount": 500},
                {"amount_type": "free", "price_currency": "gbp"},
                {"amount_type": "metered_unit", "meter_id": str(meter.id), "unit_amount": "0.001"},
                {
                    "amount_type": "seat_based",
                    "price_currency": "cad",
                    "seat_tiers": {"tiers": [{"min_seats": 1, "price_per_seat": 500}]},
                },
            ],
        },
        format="json",
    ).json()
    product = sdk.Product.model_validate(body)
    assert [type(price).__name__ for price in product.prices] == [
        "ProductPriceFixed",
        "ProductPriceCustom",
        "ProductPriceFixed",
        "ProductPriceMeteredUnit",
        "ProductPriceSeatBased",
    ]
    listing = sdk.ListResourceProduct.model_validate(api_client.get("/v1/products/").json())
    assert listing.pagination.total_count == 1


def test_one_time_product_and_price_history_parse(api_client):
    body = api_client.post(
        "/v1/products/", {"name": "Book", "prices": [{"amount_type": "fixed", "price_amount": 900}]}, format="json"
    ).json()
    sdk.Product.model_validate(body)
    body = api_client.patch(f"/v1/products/{body['id']}", {"prices": [{"amount_type": "free"}]}, format="json").json()
    sdk.Product.model_validate(body)
    history = api_client.get(f"/v1/products/{body['id']}/prices").json()["items"]
    for price in history:
        TypeAdapter(sdk.ProductPrice).validate_python(price)


@pytest.mark.parametrize(
    "benefit,expected",
    [
        ({"type": "custom", "properties": {"note": None}}, "BenefitCustom"),
        ({"type": "feature_flag", "properties": {}}, "BenefitFeatureFlag"),
        ({"type": "meter_credit", "properties": {"units": 10, "rollover": True}}, "BenefitMeterCredit"),
        (
            {"type": "license_keys", "properties": {"prefix": "x", "activations": {"limit": 1, "enable_customer_admin": False}}},
            "BenefitLicenseKeys",
        ),
    ],
)
def test_each_benefit_type_parses_alone_and_inside_a_product(api_client, meter, benefit, expected):
    if benefit["type"] == "meter_credit":
        benefit["properties"]["meter_id"] = str(meter.id)
    body = api_client.post("/v1/benefits/", {"description": "Benefit", **benefit}, format="json").json()
    assert type(TypeAdapter(sdk.Benefit).validate_python(body)).__name__ == expected
    product = api_client.post("/v1/products/", {"name": "P", "prices": [{"amount_type": "free"}]}, format="json").json()
    product = api_client.post(f"/v1/products/{product['id']}/benefits", {"benefits": [body["id"]]}, format="json").json()
    assert type(sdk.Product.model_validate(product).benefits[0]).__name__ == expected


@pytest.mark.parametrize(
    "discount,expected",
    [
        ({"basis_points": 1000, "duration": "once"}, "DiscountPercentageOnceForeverDuration"),
        ({"basis_points": 1000, "duration": "repeating", "duration_in_months": 2}, "DiscountPercentageRepeatDuration"),
        ({"type": "fixed", "amounts": {"usd": 100}, "duration": "forever"}, "DiscountFixedOnceForeverDuration"),
        (
            {"type": "fixed", "amount": 100, "currency": "usd", "duration": "repeating", "duration_in_months": 1},
            "DiscountFixedRepeatDuration",
        ),
    ],
)
def test_each_discount_variant_parses(api_client, discount, expected):
    product = api_client.post("/v1/products/", {"name": "P", "prices": [{"amount_type": "free"}]}, format="json").json()
    body = api_client.post("/v1/discounts/", {"name": "D", "products": [product["id"]], **discount}, format="json").json()
    assert type(TypeAdapter(sdk.Discount).validate_python(body)).__name__ == expected


def test_benefit_grant_webhooks_and_grant_list_parse(api_client, organization, meter):
    import uuid

    from billing.benefits.services import benefit_grants_create_for, benefit_grants_revoke_for
    from billing.catalog.services import product_benefits_set
    from polar.webhooks.models import WebhookEvent
    from tests.factories import CustomerFactory
    from tests.factories.catalog import make_benefit, make_license_keys_benefit, make_product

    benefits = [
        make_benefit(organization=organization),
        make_benefit(organization=organization, type="feature_flag", description="Flag"),
        make_benefit(
            organization=organization,
            type="meter_credit",
            description="Credits",
            properties={"units": 10, "rollover": False, "meter_id": meter.pk},
        ),
        make_license_keys_benefit(organization=organization),
    ]
    product = make_product(organization=organization, recurring_interval="month")
    product_benefits_set(product=product, benefits=[benefit.pk for benefit in benefits])
    customer = CustomerFactory(organization=organization)
    subscription_id = uuid.uuid4()
    benefit_grants_create_for(customer=customer, product=product, subscription_id=subscription_id)
    benefit_grants_revoke_for(customer=customer, subscription_id=subscription_id)

    adapter = TypeAdapter(sdk.BenefitGrantWebhook)
    events = WebhookEvent.objects.filter(type__in=["benefit_grant.created", "benefit_grant.revoked"])
    assert events.count() == 8
    parsed = {type(adapter.validate_python(event.payload["data"])).__name__ for event in events}
    assert parsed == {
        "BenefitGrantCustomWebhook",
        "BenefitGrantFeatureFlagWebhook",
        "BenefitGrantMeterCreditWebhook",
        "BenefitGrantLicenseKeysWebhook",
    }
    grants = api_client.get(f"/v1/benefits/{benefits[0].id}/grants").json()["items"]
    sdk.BenefitGrant.model_validate(grants[0])


def test_license_key_responses_parse(api_client, organization):
    import uuid

    from billing.benefits.services import benefit_grants_create_for
    from billing.catalog.services import product_benefits_set
    from billing.models import LicenseKey
    from tests.factories import CustomerFactory
    from tests.factories.catalog import make_license_keys_benefit, make_product

    product = make_product(organization=organization, recurring_interval="month")
    product_benefits_set(
        product=product,
        benefits=[make_license_keys_benefit(organization=organization, expires={"ttl": 1, "timeframe": "year"}).pk],
    )
    benefit_grants_create_for(customer=CustomerFactory(organization=organization), product=product, subscription_id=uuid.uuid4())
    key = LicenseKey.objects.get()
    body = {"key": key.key, "organization_id": str(organization.id)}

    activation = api_client.post("/v1/license-keys/activate", {**body, "label": "laptop"}, format="json").json()
    sdk.LicenseKeyActivationRead.model_validate(activation)
    validated = api_client.post("/v1/license-keys/validate", {**body, "activation_id": activation["id"]}, format="json").json()
    sdk.ValidatedLicenseKey.model_validate(validated)
    sdk.ListResourceLicenseKeyRead.model_validate(api_client.get("/v1/license-keys/").json())
    sdk.LicenseKeyWithActivations.model_validate(api_client.get(f"/v1/license-keys/{key.id}").json())
