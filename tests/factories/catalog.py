"""Catalog factories. Products, benefits and discounts are made through their services (so every row a
test sees is one the API could have written); meters are surroundings and use a plain factory."""

import factory

from billing.benefits import services as benefit_services
from billing.catalog import services as catalog_services
from billing.discounts import services as discount_services
from billing.models import Meter
from tests.factories import OrganizationFactory


class MeterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meter

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Meter {n}")
    filter = factory.LazyFunction(lambda: {"conjunction": "and", "clauses": []})
    aggregation = factory.LazyFunction(lambda: {"func": "count"})


def fixed_price(amount=1000, currency="usd"):
    return {"amount_type": "fixed", "price_amount": amount, "price_currency": currency}


def make_product(*, organization, name="Pro", prices=None, recurring_interval=None, **kwargs):
    """A product through ``product_create``; a one-time 10.00 USD product by default."""
    return catalog_services.product_create(
        organization=organization,
        name=name,
        prices=prices if prices is not None else [fixed_price()],
        recurring_interval=recurring_interval,
        **kwargs,
    )


def make_benefit(*, organization, type="custom", description="Priority support", properties=None, **kwargs):
    return benefit_services.benefit_create(
        organization=organization, type=type, description=description, properties=properties or {}, **kwargs
    )


def make_license_keys_benefit(*, organization, limit=2, limit_usage=None, expires=None, prefix="acme"):
    return make_benefit(
        organization=organization,
        type="license_keys",
        description="License",
        properties={
            "prefix": prefix,
            "expires": expires,
            "activations": {"limit": limit, "enable_customer_admin": True} if limit else None,
            "limit_usage": limit_usage,
        },
    )


def make_discount(*, organization, name="Launch", type="percentage", duration="once", basis_points=1000, **kwargs):
    if type == "fixed":
        basis_points = None
        kwargs.setdefault("amounts", {"usd": 500})
    return discount_services.discount_create(
        organization=organization, name=name, type=type, duration=duration, basis_points=basis_points, **kwargs
    )
