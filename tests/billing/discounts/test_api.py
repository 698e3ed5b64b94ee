"""/v1/discounts/: CRUD, code uniqueness ignoring case, bad input, tenant isolation."""

import pytest

from billing.models import Discount, DiscountAmount
from tests.factories.catalog import make_discount, make_product

pytestmark = pytest.mark.django_db


def create(api_client, **body):
    body.setdefault("name", "Launch")
    body.setdefault("duration", "once")
    return api_client.post("/v1/discounts/", body, format="json")


def test_create_percentage_discount(api_client, organization):
    response = create(api_client, basis_points=2500, code="LAUNCH25", max_redemptions=100, max_redemptions_per_customer=1)
    assert response.status_code == 201
    body = response.json()
    assert (body["type"], body["basis_points"], body["duration"]) == ("percentage", 2500, "once")
    assert (body["code"], body["max_redemptions"], body["max_redemptions_per_customer"]) == ("LAUNCH25", 100, 1)
    assert body["redemptions_count"] == 0
    assert body["products"] == []
    assert "duration_in_months" not in body


def test_create_fixed_repeating_discount_in_several_currencies(api_client, organization):
    product = make_product(organization=organization, recurring_interval="month")
    response = create(
        api_client,
        type="fixed",
        duration="repeating",
        duration_in_months=3,
        amounts={"eur": 450, "usd": 500},
        products=[str(product.id)],
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["amounts"] == {"eur": 450, "usd": 500}
    assert (body["amount"], body["currency"]) == (500, "usd")
    assert body["duration_in_months"] == 3
    assert [p["id"] for p in body["products"]] == [str(product.id)]


def test_legacy_single_amount_is_accepted(api_client):
    body = create(api_client, type="fixed", amount=300, currency="eur").json()
    assert body["amounts"] == {"eur": 300}
    assert (body["amount"], body["currency"]) == (300, "eur")


def test_code_is_unique_per_organization_ignoring_case(api_client, other_api_client):
    assert create(api_client, basis_points=100, code="Summer").status_code == 201
    response = create(api_client, basis_points=100, code="SUMMER")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "code"]
    # Another organization may use the same code.
    assert create(other_api_client, basis_points=100, code="summer").status_code == 201


def test_code_of_a_deleted_discount_is_free_again(api_client):
    discount_id = create(api_client, basis_points=100, code="AGAIN").json()["id"]
    assert api_client.delete(f"/v1/discounts/{discount_id}").status_code == 204
    assert create(api_client, basis_points=100, code="again").status_code == 201


@pytest.mark.parametrize(
    "body,loc",
    [
        ({"basis_points": 0}, ["body", "basis_points"]),
        ({"basis_points": 10001}, ["body", "basis_points"]),
        ({"type": "percentage"}, ["body", "basis_points"]),
        ({"type": "fixed"}, ["body", "amounts"]),
        ({"type": "fixed", "amounts": {"usd": -5}}, ["body", "amounts", "usd"]),
        ({"type": "fixed", "amounts": {"zzz": 5}}, ["body", "amounts", "zzz"]),
        ({"basis_points": 100, "duration": "repeating"}, ["body", "duration_in_months"]),
        ({"basis_points": 100, "duration": "weekly"}, ["body", "duration"]),
        ({"basis_points": 100, "starts_at": "2027-02-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"}, ["body", "ends_at"]),
        ({"basis_points": 100, "max_redemptions": 0}, ["body", "max_redemptions"]),
        ({"basis_points": 100, "code": "no spaces"}, ["body", "code"]),
        ({"basis_points": 100, "metadata": {f"k{i}": i for i in range(51)}}, ["body", "metadata"]),
    ],
)
def test_bad_discount_input_is_422_and_writes_nothing(api_client, body, loc):
    response = create(api_client, **body)
    assert response.status_code == 422, response.json()
    assert response.json()["detail"][0]["loc"] == loc
    assert Discount.objects.count() == 0 and DiscountAmount.objects.count() == 0


def test_restricting_to_another_organizations_product_is_422(api_client, other_organization):
    foreign = make_product(organization=other_organization)
    response = create(api_client, basis_points=100, products=[str(foreign.id)])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "products", 0]
    assert Discount.objects.count() == 0


def test_list_and_get(api_client, organization, other_organization):
    make_discount(organization=organization, name="Ours", code="OURS")
    make_discount(organization=other_organization, name="Theirs")
    body = api_client.get("/v1/discounts/").json()
    assert [item["name"] for item in body["items"]] == ["Ours"]
    assert api_client.get("/v1/discounts/", {"query": "our"}).json()["pagination"]["total_count"] == 1
    discount_id = body["items"][0]["id"]
    assert api_client.get(f"/v1/discounts/{discount_id}").json()["code"] == "OURS"


def test_update_discount(api_client, organization):
    product = make_product(organization=organization)
    discount = make_discount(organization=organization)
    response = api_client.patch(
        f"/v1/discounts/{discount.id}",
        {"name": "Renamed", "code": "NEW", "max_redemptions": 5, "basis_points": 1500, "products": [str(product.id)]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["name"], body["code"], body["max_redemptions"], body["basis_points"]) == ("Renamed", "NEW", 5, 1500)
    assert [p["id"] for p in body["products"]] == [str(product.id)]


def test_redeemed_discount_cannot_change_its_value(api_client, organization):
    from billing.discounts.services import discount_redeem

    discount = make_discount(organization=organization, max_redemptions=5)
    discount_redeem(discount=discount)
    response = api_client.patch(f"/v1/discounts/{discount.id}", {"basis_points": 5000}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "basis_points"]
    response = api_client.patch(f"/v1/discounts/{discount.id}", {"max_redemptions": 1}, format="json")
    assert response.status_code == 200
    discount.refresh_from_db()
    assert (discount.basis_points, discount.max_redemptions) == (1000, 1)


def test_delete_hides_the_discount(api_client, organization):
    discount = make_discount(organization=organization)
    assert api_client.delete(f"/v1/discounts/{discount.id}").status_code == 204
    assert api_client.get(f"/v1/discounts/{discount.id}").status_code == 404
    discount.refresh_from_db()
    assert discount.deleted_at is not None


def test_another_organizations_discount_is_404(api_client, other_organization):
    foreign = make_discount(organization=other_organization)
    assert api_client.get(f"/v1/discounts/{foreign.id}").status_code == 404
    assert api_client.patch(f"/v1/discounts/{foreign.id}", {"name": "Mine"}, format="json").status_code == 404
    assert api_client.delete(f"/v1/discounts/{foreign.id}").status_code == 404
    foreign.refresh_from_db()
    assert foreign.name == "Launch" and foreign.deleted_at is None
