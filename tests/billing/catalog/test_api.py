"""/v1/products/: create, list, get, update, benefits, price history; bad input and tenant isolation."""

import uuid

import pytest

from billing.models import Product, ProductPrice
from polar.webhooks.models import WebhookEvent
from tests.factories.catalog import MeterFactory, fixed_price, make_benefit, make_product

pytestmark = pytest.mark.django_db


def create(api_client, **body):
    body.setdefault("name", "Pro")
    return api_client.post("/v1/products/", body, format="json")


def test_create_one_time_product_with_fixed_price(api_client, organization):
    response = create(api_client, prices=[{"amount_type": "fixed", "price_amount": 2500}])
    assert response.status_code == 201
    body = response.json()
    assert body["is_recurring"] is False
    assert body["recurring_interval"] is None
    assert body["organization_id"] == str(organization.id)
    [price] = body["prices"]
    assert price["amount_type"] == "fixed"
    assert price["type"] == "one_time"
    assert price["price_amount"] == 2500
    assert price["price_currency"] == "usd"
    assert price["is_archived"] is False
    assert price["product_id"] == body["id"]
    assert body["medias"] == [] and body["attached_custom_fields"] == [] and body["benefits"] == []
    assert body["is_deletable"] is True
    assert "meter_interval" in body and "meter_interval_count" in body


def test_create_recurring_product_with_every_price_type(api_client, organization):
    meter = MeterFactory(organization=organization, name="API calls")
    response = create(
        api_client,
        recurring_interval="month",
        trial_interval="day",
        trial_interval_count=14,
        prices=[
            {"amount_type": "fixed", "price_amount": 1000, "price_currency": "usd"},
            {
                "amount_type": "custom",
                "price_currency": "eur",
                "minimum_amount": 500,
                "maximum_amount": 5000,
                "preset_amount": 1000,
            },
            {"amount_type": "free", "price_currency": "gbp"},
            {"amount_type": "metered_unit", "meter_id": str(meter.id), "unit_amount": "0.25", "cap_amount": 100000},
            {
                "amount_type": "seat_based",
                "price_currency": "cad",
                "seat_tiers": {
                    "seat_tier_type": "graduated",
                    "tiers": [{"min_seats": 1, "max_seats": 10, "price_per_seat": 900}, {"min_seats": 11, "price_per_seat": 700}],
                },
            },
        ],
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["recurring_interval"], body["recurring_interval_count"]) == ("month", 1)
    assert (body["trial_interval"], body["trial_interval_count"]) == ("day", 14)
    fixed, custom, free, metered, seats = body["prices"]
    assert all(price["type"] == "recurring" for price in body["prices"])
    assert (custom["minimum_amount"], custom["maximum_amount"], custom["preset_amount"]) == (500, 5000, 1000)
    assert (free["amount_type"], free["price_amount"], free["price_currency"]) == ("fixed", 0, "gbp")
    assert metered["unit_amount"] == "0.25"
    assert metered["cap_amount"] == 100000
    assert metered["meter"] == {
        "id": str(meter.id),
        "name": "API calls",
        "unit": "scalar",
        "custom_label": None,
        "custom_multiplier": None,
    }
    assert seats["seat_tiers"] == {
        "seat_tier_type": "graduated",
        "tiers": [
            {"min_seats": 1, "max_seats": 10, "price_per_seat": 900},
            {"min_seats": 11, "max_seats": None, "price_per_seat": 700},
        ],
        "minimum_seats": 1,
        "maximum_seats": None,
    }
    assert {price["amount_type"] for price in body["prices"]} <= {"fixed", "custom", "metered_unit", "seat_based"}


def test_create_emits_product_created_with_the_resource(api_client, organization):
    body = create(api_client, prices=[fixed_price()]).json()
    event = WebhookEvent.objects.get(organization=organization, type="product.created")
    assert event.payload["data"]["id"] == body["id"]
    assert event.payload["data"]["prices"][0]["price_amount"] == 1000


def test_metered_unit_amount_keeps_fractional_cents(api_client, organization):
    meter = MeterFactory(organization=organization)
    body = create(
        api_client,
        recurring_interval="month",
        prices=[{"amount_type": "metered_unit", "meter_id": str(meter.id), "unit_amount": 0.0005}],
    ).json()
    assert body["prices"][0]["unit_amount"] == "0.0005"
    assert body["prices"][0]["cap_amount"] is None


@pytest.mark.parametrize(
    "body,loc",
    [
        ({"prices": [{"amount_type": "fixed", "price_amount": -1}]}, ["body", "prices", 0, "price_amount"]),
        (
            {"prices": [{"amount_type": "fixed", "price_amount": 100, "price_currency": "xxx"}]},
            ["body", "prices", 0, "price_currency"],
        ),
        ({"prices": [fixed_price(100), fixed_price(200)]}, ["body", "prices", 1, "price_currency"]),
        ({"prices": [fixed_price(100), {"amount_type": "custom"}]}, ["body", "prices", 1, "price_currency"]),
        (
            {"prices": [{"amount_type": "custom", "minimum_amount": 1000, "maximum_amount": 500}]},
            ["body", "prices", 0, "maximum_amount"],
        ),
        (
            {"prices": [{"amount_type": "custom", "minimum_amount": 1000, "preset_amount": 500}]},
            ["body", "prices", 0, "preset_amount"],
        ),
        (
            {"prices": [{"amount_type": "fixed", "price_amount": 100, "type": "recurring", "recurring_interval": "month"}]},
            ["body", "prices", 0, "type"],
        ),
        ({"prices": [{"amount_type": "unit_based", "price_amount": 100}]}, ["body", "prices", 0, "tiers"]),
        ({"prices": [{"amount_type": "no_such_type"}]}, ["body", "prices", 0, "amount_type"]),
        ({"prices": []}, ["body", "prices"]),
        ({"prices": [fixed_price()], "trial_interval": "day"}, ["body", "trial_interval"]),
        ({"prices": [fixed_price()], "recurring_interval_count": 2}, ["body", "recurring_interval_count"]),
        ({"prices": [fixed_price()], "metadata": {"k" * 41: "v"}}, ["body", "metadata", "k" * 41]),
        (
            {
                "prices": [
                    {
                        "amount_type": "seat_based",
                        "seat_tiers": {
                            "tiers": [
                                {"min_seats": 1, "max_seats": 5, "price_per_seat": 1},
                                {"min_seats": 7, "price_per_seat": 1},
                            ]
                        },
                    }
                ]
            },
            ["body", "prices", 0, "seat_tiers", "tiers", 1, "min_seats"],
        ),
        (
            {
                "prices": [
                    {
                        "amount_type": "seat_based",
                        "seat_tiers": {"tiers": [{"min_seats": 5, "max_seats": 2, "price_per_seat": 1}]},
                    }
                ]
            },
            ["body", "prices", 0, "seat_tiers", "tiers", 0, "max_seats"],
        ),
    ],
)
def test_bad_product_input_is_422_with_loc_and_writes_nothing(api_client, body, loc):
    response = create(api_client, **body)
    assert response.status_code == 422, response.json()
    assert response.json()["detail"][0]["loc"] == loc
    assert Product.objects.count() == 0
    assert ProductPrice.objects.count() == 0
    assert WebhookEvent.objects.count() == 0


def test_metered_price_on_one_time_product_is_422(api_client, organization):
    meter = MeterFactory(organization=organization)
    response = create(api_client, prices=[{"amount_type": "metered_unit", "meter_id": str(meter.id), "unit_amount": "1"}])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "prices", 0, "amount_type"]
    assert Product.objects.count() == 0


def test_meter_of_another_organization_is_422(api_client, other_organization):
    foreign_meter = MeterFactory(organization=other_organization)
    response = create(
        api_client,
        recurring_interval="month",
        prices=[fixed_price(), {"amount_type": "metered_unit", "meter_id": str(foreign_meter.id), "unit_amount": "1"}],
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "prices", 1, "meter_id"]
    assert Product.objects.count() == 0 and ProductPrice.objects.count() == 0


def test_two_metered_prices_on_different_meters_are_allowed(api_client, organization):
    first, second = MeterFactory(organization=organization), MeterFactory(organization=organization)
    response = create(
        api_client,
        recurring_interval="month",
        prices=[
            {"amount_type": "metered_unit", "meter_id": str(first.id), "unit_amount": "1"},
            {"amount_type": "metered_unit", "meter_id": str(second.id), "unit_amount": "2"},
        ],
    )
    assert response.status_code == 201


def test_organization_id_of_another_organization_is_422(api_client, other_organization):
    response = create(api_client, prices=[fixed_price()], organization_id=str(other_organization.id))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "organization_id"]


def test_get_product(api_client, organization):
    product = make_product(organization=organization)
    body = api_client.get(f"/v1/products/{product.id}").json()
    assert body["id"] == str(product.id)
    assert body["prices"][0]["price_amount"] == 1000


def test_another_organizations_product_is_404(api_client, other_organization):
    foreign = make_product(organization=other_organization)
    assert api_client.get(f"/v1/products/{foreign.id}").status_code == 404
    assert api_client.patch(f"/v1/products/{foreign.id}", {"name": "Mine"}, format="json").status_code == 404
    assert api_client.get(f"/v1/products/{foreign.id}/prices").status_code == 404
    assert api_client.post(f"/v1/products/{foreign.id}/benefits", {"benefits": []}, format="json").status_code == 404
    foreign.refresh_from_db()
    assert foreign.name == "Pro"


def test_list_is_scoped_and_filtered(api_client, organization, other_organization):
    make_product(organization=other_organization, name="Theirs")
    one_time = make_product(organization=organization, name="E-book")
    recurring = make_product(organization=organization, name="Monthly plan", recurring_interval="month")
    archived = make_product(organization=organization, name="Old plan", recurring_interval="month")
    api_client.patch(f"/v1/products/{archived.id}", {"is_archived": True}, format="json")

    def names(**params):
        return [item["name"] for item in api_client.get("/v1/products/", params).json()["items"]]

    assert sorted(names()) == ["E-book", "Monthly plan", "Old plan"]
    assert sorted(names(is_recurring="true")) == ["Monthly plan", "Old plan"]
    assert names(is_recurring="false") == [one_time.name]
    assert names(is_archived="true") == ["Old plan"]
    assert names(query="month") == [recurring.name]
    assert names(sorting="name") == ["E-book", "Monthly plan", "Old plan"]


def test_list_filters_by_benefit(api_client, organization):
    benefit = make_benefit(organization=organization)
    with_benefit = make_product(organization=organization, name="With")
    make_product(organization=organization, name="Without")
    api_client.post(f"/v1/products/{with_benefit.id}/benefits", {"benefits": [str(benefit.id)]}, format="json")
    items = api_client.get("/v1/products/", {"benefit_id": str(benefit.id)}).json()["items"]
    assert [item["name"] for item in items] == ["With"]


def test_update_fields_and_metadata(api_client, organization):
    product = make_product(organization=organization)
    response = api_client.patch(
        f"/v1/products/{product.id}",
        {"name": "Pro 2", "description": "Better", "visibility": "private", "metadata": {"tier": "gold", "seats": 3}},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["description"], body["visibility"]) == ("Pro 2", "Better", "private")
    assert body["metadata"] == {"tier": "gold", "seats": 3}
    assert body["modified_at"] is not None
    assert WebhookEvent.objects.filter(type="product.updated").count() == 1


def test_update_prices_archives_old_versions_and_creates_new(api_client, organization):
    product = make_product(
        organization=organization, recurring_interval="month", prices=[fixed_price(1000), fixed_price(900, "eur")]
    )
    usd, eur = product.all_prices.order_by("created_at")
    response = api_client.patch(
        f"/v1/products/{product.id}",
        {"prices": [{"id": str(usd.id)}, {"amount_type": "fixed", "price_amount": 950, "price_currency": "eur"}]},
        format="json",
    )
    assert response.status_code == 200
    prices = response.json()["prices"]
    assert [(p["price_currency"], p["price_amount"]) for p in prices] == [("usd", 1000), ("eur", 950)]
    assert prices[0]["id"] == str(usd.id)
    eur.refresh_from_db()
    assert eur.is_archived is True and eur.price_amount == 900
    new_eur = ProductPrice.objects.get(pk=prices[1]["id"])
    assert (new_eur.version, new_eur.replaces_id) == (2, eur.id)


def test_update_with_unknown_price_id_is_422_and_changes_nothing(api_client, organization):
    product = make_product(organization=organization)
    response = api_client.patch(
        f"/v1/products/{product.id}", {"name": "Changed", "prices": [{"id": str(uuid.uuid4())}]}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "prices", 0, "id"]
    product.refresh_from_db()
    assert product.name == "Pro"
    assert product.all_prices.filter(is_archived=False).count() == 1


def test_update_adding_a_second_price_in_a_currency_is_422(api_client, organization):
    product = make_product(organization=organization)
    [price] = product.all_prices.all()
    response = api_client.patch(f"/v1/products/{product.id}", {"prices": [{"id": str(price.id)}, fixed_price(5)]}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "prices", 1, "price_currency"]
    assert ProductPrice.objects.count() == 1


def test_one_time_product_cannot_become_recurring(api_client, organization):
    product = make_product(organization=organization)
    response = api_client.patch(f"/v1/products/{product.id}", {"recurring_interval": "month"}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "recurring_interval"]


def test_archive_and_unarchive(api_client, organization):
    product = make_product(organization=organization)
    body = api_client.patch(f"/v1/products/{product.id}", {"is_archived": True}, format="json").json()
    assert body["is_archived"] is True
    body = api_client.patch(f"/v1/products/{product.id}", {"is_archived": False}, format="json").json()
    assert body["is_archived"] is False


def test_price_history_lists_archived_versions(api_client, organization):
    product = make_product(organization=organization)
    api_client.patch(f"/v1/products/{product.id}", {"prices": [fixed_price(1200)]}, format="json")
    api_client.patch(f"/v1/products/{product.id}", {"prices": [fixed_price(1500)]}, format="json")
    body = api_client.get(f"/v1/products/{product.id}/prices", {"sorting": "version"}).json()
    assert [(p["price_amount"], p["version"], p["is_archived"]) for p in body["items"]] == [
        (1000, 1, True),
        (1200, 2, True),
        (1500, 3, False),
    ]
    assert body["items"][2]["replaces_id"] == body["items"][1]["id"]
    active = api_client.get(f"/v1/products/{product.id}/prices", {"is_archived": "false"}).json()["items"]
    assert [p["price_amount"] for p in active] == [1500]


def test_attach_benefits_in_order(api_client, organization):
    product = make_product(organization=organization)
    first = make_benefit(organization=organization, description="First")
    second = make_benefit(organization=organization, type="feature_flag", description="Second")
    response = api_client.post(
        f"/v1/products/{product.id}/benefits", {"benefits": [str(second.id), str(first.id)]}, format="json"
    )
    assert response.status_code == 200
    assert [b["description"] for b in response.json()["benefits"]] == ["Second", "First"]
    response = api_client.post(f"/v1/products/{product.id}/benefits", {"benefits": [str(first.id)]}, format="json")
    assert [b["description"] for b in response.json()["benefits"]] == ["First"]


def test_attaching_another_organizations_benefit_is_422(api_client, organization, other_organization):
    product = make_product(organization=organization)
    foreign = make_benefit(organization=other_organization)
    response = api_client.post(f"/v1/products/{product.id}/benefits", {"benefits": [str(foreign.id)]}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "benefits", 0]
    assert product.product_benefits.count() == 0


def test_products_need_the_products_scope(organization, anonymous_client):
    from polar.organizations.services import access_token_create

    _row, raw = access_token_create(organization=organization, scopes=["products:read"])
    anonymous_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert anonymous_client.get("/v1/products/").status_code == 200
    assert anonymous_client.post("/v1/products/", {"name": "X", "prices": [fixed_price()]}, format="json").status_code == 403


def test_null_fields_in_update_leave_them_unchanged(api_client, organization):
    product = make_product(organization=organization)
    response = api_client.patch(f"/v1/products/{product.id}", {"name": None, "is_archived": None, "prices": None}, format="json")
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["is_archived"], len(response.json()["prices"])) == ("Pro", False, 1)


def test_delete_unused_product(api_client, organization):
    product = make_product(organization=organization)
    api_client.patch(f"/v1/products/{product.id}", {"prices": [fixed_price(1200)]}, format="json")
    assert api_client.delete(f"/v1/products/{product.id}").status_code == 204
    assert api_client.get(f"/v1/products/{product.id}").status_code == 404
    assert ProductPrice.objects.count() == 0


def test_product_in_use_is_not_deletable(api_client, organization):
    from tests.factories.catalog import make_discount

    product = make_product(organization=organization)
    make_discount(organization=organization, products=[product.pk])
    assert api_client.get(f"/v1/products/{product.id}").json()["is_deletable"] is False
    response = api_client.delete(f"/v1/products/{product.id}")
    assert response.status_code == 409
    assert response.json()["error"] == "ProductNotDeletable"
    assert Product.objects.filter(pk=product.pk).exists()


def test_delete_another_organizations_product_is_404(api_client, other_organization):
    foreign = make_product(organization=other_organization)
    assert api_client.delete(f"/v1/products/{foreign.id}").status_code == 404
    assert Product.objects.filter(pk=foreign.pk).exists()


def test_listing_products_reads_is_deletable_without_a_query_per_product(api_client, organization):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories.catalog import make_discount

    def list_queries(limit):
        with CaptureQueriesContext(connection) as captured:
            body = api_client.get("/v1/products/", {"limit": limit}).json()
        return len(captured.captured_queries), body

    in_use = make_product(organization=organization, name="In use", prices=[fixed_price()])
    make_discount(organization=organization, products=[in_use.pk])
    make_product(organization=organization, name="Free", prices=[fixed_price()])
    list_queries(1)  # the first request of a token also records its last use (an UPDATE)
    few, small_page = list_queries(2)
    for index in range(6):
        make_product(organization=organization, name=f"Extra {index}", prices=[fixed_price()])
    many, large_page = list_queries(8)

    assert len(small_page["items"]) == 2 and len(large_page["items"]) == 8
    assert many == few
    deletable = {item["name"]: item["is_deletable"] for item in large_page["items"]}
    assert deletable["In use"] is False and deletable["Free"] is True
