"""Catalog admin: pages render, price versions are read-only, actions go through the services."""

import uuid

import pytest

from billing.benefits.services import benefit_grants_create_for
from billing.catalog.services import product_benefits_set
from billing.models import BenefitGrant, Discount, Product, ProductPrice
from tests.factories import CustomerFactory
from tests.factories.catalog import fixed_price, make_discount, make_license_keys_benefit, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(organization):
    benefit = make_license_keys_benefit(organization=organization)
    product = make_product(organization=organization, recurring_interval="month", prices=[fixed_price(1000)])
    product_benefits_set(product=product, benefits=[benefit.pk])
    customer = CustomerFactory(organization=organization)
    [grant] = benefit_grants_create_for(customer=customer, product=product, subscription_id=uuid.uuid4())
    discount = make_discount(organization=organization, products=[product.pk])
    return {"product": product, "benefit": benefit, "grant": grant, "discount": discount}


@pytest.mark.parametrize(
    "model,key",
    [
        ("product", "product"),
        ("productprice", None),
        ("discount", "discount"),
        ("discountredemption", None),
        ("benefit", "benefit"),
        ("benefitgrant", "grant"),
        ("licensekey", None),
    ],
)
def test_pages_render(admin_client, catalog, model, key):
    assert admin_client.get(f"/admin/billing/{model}/").status_code == 200
    if key:
        assert admin_client.get(f"/admin/billing/{model}/{catalog[key].pk}/change/").status_code == 200


def test_license_key_page_does_not_show_the_key(admin_client, catalog):
    from billing.models import LicenseKey

    key = LicenseKey.objects.get()
    page = admin_client.get(f"/admin/billing/licensekey/{key.pk}/change/").content.decode()
    assert key.key not in page


def test_price_versions_cannot_be_changed_or_deleted(admin_client, catalog):
    price = ProductPrice.objects.get()
    response = admin_client.post(f"/admin/billing/productprice/{price.pk}/change/", {"price_amount": 1})
    assert response.status_code == 403
    assert admin_client.post(f"/admin/billing/productprice/{price.pk}/delete/", {"post": "yes"}).status_code == 403
    price.refresh_from_db()
    assert price.price_amount == 1000


def test_archive_action_goes_through_the_service(admin_client, catalog):
    product = catalog["product"]
    admin_client.post("/admin/billing/product/", {"action": "archive", "_selected_action": [str(product.pk)]})
    product.refresh_from_db()
    assert product.is_archived is True and product.archived_at is not None


def test_revoke_action_revokes_the_grant_and_its_key(admin_client, catalog):
    grant = catalog["grant"]
    admin_client.post("/admin/billing/benefitgrant/", {"action": "revoke", "_selected_action": [str(grant.pk)]})
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert grant.license_key.status == "revoked"
    assert BenefitGrant.objects.filter(revoked_at__isnull=True).count() == 0


def test_delete_discounts_action_is_soft(admin_client, catalog):
    discount = catalog["discount"]
    admin_client.post("/admin/billing/discount/", {"action": "delete_discounts", "_selected_action": [str(discount.pk)]})
    discount.refresh_from_db()
    assert discount.deleted_at is not None
    assert Discount.objects.filter(pk=discount.pk).exists() and Product.objects.count() == 1
