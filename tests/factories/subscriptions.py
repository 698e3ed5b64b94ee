"""Catalog rows for subscription/checkout/order tests, made through the catalog services."""

from billing.benefits.services import benefit_create
from billing.catalog.services import product_benefits_set, product_create
from billing.discounts.services import discount_create


def monthly_product(organization, name="Pro", amount=1000, currency="usd", benefits=(), **kwargs):
    product = product_create(
        organization=organization,
        name=name,
        recurring_interval=kwargs.pop("recurring_interval", "month"),
        recurring_interval_count=kwargs.pop("recurring_interval_count", 1),
        prices=[{"amount_type": "fixed", "price_amount": amount, "price_currency": currency}],
        **kwargs,
    )
    if benefits:
        product_benefits_set(product=product, benefits=[b.id for b in benefits])
    return product


def one_time_product(organization, name="E-book", amount=2500, currency="usd", benefits=()):
    product = product_create(
        organization=organization,
        name=name,
        prices=[{"amount_type": "fixed", "price_amount": amount, "price_currency": currency}],
    )
    if benefits:
        product_benefits_set(product=product, benefits=[b.id for b in benefits])
    return product


def seat_product(organization, name="Team", price_per_seat=500, min_seats=1, max_seats=10, currency="usd"):
    return product_create(
        organization=organization,
        name=name,
        recurring_interval="month",
        recurring_interval_count=1,
        prices=[
            {
                "amount_type": "seat_based",
                "price_currency": currency,
                "seat_tiers": {
                    "seat_tier_type": "volume",
                    "tiers": [{"min_seats": min_seats, "max_seats": max_seats, "price_per_seat": price_per_seat}],
                },
            }
        ],
    )


def custom_benefit(organization, description="Support"):
    return benefit_create(organization=organization, type="custom", description=description, properties={"note": "hi"})


def percentage_discount(organization, basis_points=1000, duration="forever", **kwargs):
    return discount_create(
        organization=organization,
        name=f"{basis_points} bps",
        type="percentage",
        basis_points=basis_points,
        duration=duration,
        **kwargs,
    )


def pending_order(customer, amount=2000, currency="usd"):
    """A pending one-time ``purchase`` order for ``customer`` (a real row for Payment.order to point at)."""
    import datetime as dt

    from billing.orders.services import order_create
    from billing.pricing import LineInput, Period, PriceVersion, PricingInput
    from polar import clock

    product = one_time_product(customer.organization, name=f"Item {amount}", amount=amount, currency=currency)
    price_ = product.all_prices.get()
    now = clock.now()
    line = LineInput(
        price=PriceVersion(price_id=str(price_.id), amount_type="fixed", currency=currency, amount=amount), label=product.name
    )
    return order_create(
        organization=customer.organization,
        customer=customer,
        billing_reason="purchase",
        product=product,
        pricing_input=PricingInput(period=Period(now, now + dt.timedelta(seconds=1)), currency=currency, lines=[line]),
    )
