"""Prices are immutable versions: changing a product's prices archives rows and inserts new ones, and
what bought an old version keeps pointing at exactly what it bought."""

import pytest
from django.db.models import ProtectedError
from django.forms.models import model_to_dict

from billing.catalog.selectors import product_price_get
from billing.catalog.services import product_update
from billing.models import ProductPrice
from polar.errors import PolarRequestValidationError
from tests.factories.catalog import MeterFactory, fixed_price, make_product

pytestmark = pytest.mark.django_db

IMMUTABLE_FIELDS = [
    "product",
    "amount_type",
    "type",
    "recurring_interval",
    "recurring_interval_count",
    "price_currency",
    "price_amount",
    "minimum_amount",
    "maximum_amount",
    "preset_amount",
    "unit_amount",
    "cap_amount",
    "meter",
    "seat_tiers",
    "version",
    "replaces",
]


def snapshot(price):
    return model_to_dict(ProductPrice.objects.get(pk=price.pk), fields=IMMUTABLE_FIELDS)


def test_new_price_archives_the_old_version_without_changing_it(organization):
    product = make_product(organization=organization, recurring_interval="month", prices=[fixed_price(1000)])
    [old] = product.all_prices.all()
    before = snapshot(old)

    product_update(product=product, prices=[fixed_price(1500)])

    assert snapshot(old) == before
    old.refresh_from_db()
    assert old.is_archived is True and old.archived_at is not None
    [new] = product.all_prices.filter(is_archived=False)
    assert (new.price_amount, new.version, new.replaces_id) == (1500, 2, old.pk)


def test_old_version_stays_retrievable_for_what_bought_it(organization):
    """A subscription stores the price id it bought; after a price change that id still resolves to the
    same amount and interval (product_price_get finds archived versions too)."""
    product = make_product(organization=organization, recurring_interval="month", prices=[fixed_price(1000)])
    [bought] = product.all_prices.all()
    product_update(product=product, prices=[fixed_price(2000)])
    product_update(product=product, recurring_interval="year")

    price = product_price_get(organization=organization, id=bought.pk)
    assert (price.price_amount, price.recurring_interval, price.is_archived) == (1000, "month", True)


def test_a_replaced_version_cannot_be_deleted(organization):
    product = make_product(organization=organization, prices=[fixed_price(1000)])
    [old] = product.all_prices.all()
    product_update(product=product, prices=[fixed_price(1100)])
    with pytest.raises(ProtectedError):
        ProductPrice.objects.get(pk=old.pk).delete()


def test_kept_prices_are_not_touched(organization):
    product = make_product(organization=organization, prices=[fixed_price(1000), fixed_price(900, "eur")])
    usd, eur = product.all_prices.order_by("created_at")
    before = snapshot(usd)
    product_update(product=product, prices=[{"id": usd.pk}, fixed_price(950, "eur")])
    usd.refresh_from_db()
    assert snapshot(usd) == before and usd.is_archived is False and usd.modified_at is None


def test_changing_the_interval_reversions_every_active_price(organization):
    meter = MeterFactory(organization=organization)
    product = make_product(
        organization=organization,
        recurring_interval="month",
        prices=[fixed_price(1000), {"amount_type": "metered_unit", "meter_id": meter.pk, "unit_amount": "0.5"}],
    )
    fixed, metered = product.all_prices.order_by("created_at")

    product_update(product=product, recurring_interval="year")

    active = list(product.all_prices.filter(is_archived=False).order_by("created_at"))
    assert [(p.amount_type, p.recurring_interval, p.version) for p in active] == [
        ("fixed", "year", 2),
        ("metered_unit", "year", 2),
    ]
    assert [p.replaces_id for p in active] == [fixed.pk, metered.pk]
    assert active[1].unit_amount == metered.unit_amount and active[1].meter_id == meter.pk
    fixed.refresh_from_db()
    assert (fixed.recurring_interval, fixed.is_archived) == ("month", True)


def test_update_that_fails_validation_archives_nothing(organization):
    product = make_product(organization=organization, prices=[fixed_price(1000)])
    with pytest.raises(PolarRequestValidationError):
        product_update(product=product, prices=[fixed_price(1500), fixed_price(1600)])
    assert list(product.all_prices.values_list("price_amount", "is_archived")) == [(1000, False)]


def test_active_slot_is_unique_in_the_database(organization):
    """The partial unique index is the last line of defence against two active prices in one slot."""
    from django.db import IntegrityError, transaction

    product = make_product(organization=organization, prices=[fixed_price(1000)])
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductPrice.objects.create(
            product=product, amount_type="custom", type="one_time", price_currency="usd", minimum_amount=0
        )


def test_active_prices_selector_returns_current_versions_by_currency(organization):
    from billing.catalog.selectors import product_prices_active

    product = make_product(organization=organization, prices=[fixed_price(1000), fixed_price(900, "eur")])
    product_update(product=product, prices=[fixed_price(1100), fixed_price(900, "eur")])
    assert [p.price_amount for p in product_prices_active(product=product, currency="USD")] == [1100]
    assert [p.price_currency for p in product_prices_active(product=product)] == ["usd", "eur"]
