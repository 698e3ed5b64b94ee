"""Demo catalog rows for the tiered price types (issue 22), seeded by ``billing.demo.seed_demo_billing``:

- "Demo API (tiered)": 20.00/month + API calls on the demo meter, graduated ``metered_tiers`` — the
  first 1,000 calls free, then 0.5¢ each up to 100,000, then 0.2¢ — capped at 500.00 a month;
- "Demo licences": a per-licence ``unit_based`` price with volume discounts — 1–10 licences at 10.00,
  11–50 at 8.00, 51+ at 6.00 each (every licence at the rate of the tier the quantity falls in), at
  least 1, labelled "licence"/"licences".

docs/pricing.md works both examples through by hand. Idempotent: a product is found by name first.
"""

from __future__ import annotations

from billing.models import Meter, Product

API_CALL_TIERS = {
    "type": "graduated",
    "tiers": [
        {"bound": 1000, "unit_amount": "0"},
        {"bound": 100000, "unit_amount": "0.5"},
        {"bound": None, "unit_amount": "0.2"},
    ],
}
LICENCE_TIERS = {
    "type": "volume",
    "tiers": [{"bound": 10, "unit_amount": "1000"}, {"bound": 50, "unit_amount": "800"}, {"bound": None, "unit_amount": "600"}],
}


def seed_tiered_products(*, organization, meter: Meter) -> list[Product]:
    """One product of each tiered price type in ``organization`` (see the module doc)."""
    from billing.catalog.services import product_create

    specs = [
        (
            "Demo API (tiered)",
            [
                {"amount_type": "fixed", "price_amount": 2000, "price_currency": "usd"},
                {
                    "amount_type": "metered_tiers",
                    "price_currency": "usd",
                    "meter_id": str(meter.id),
                    "tiers": API_CALL_TIERS,
                    "cap_amount": 50_000,
                },
            ],
        ),
        (
            "Demo licences",
            [
                {
                    "amount_type": "unit_based",
                    "price_currency": "usd",
                    "tiers": LICENCE_TIERS,
                    "minimum_units": 1,
                    "unit_label": {"en": {"=1": "licence", "other": "licences"}},
                }
            ],
        ),
    ]
    products = []
    for name, prices in specs:
        product = Product.objects.filter(organization=organization, name=name).first()
        if product is None:
            product = product_create(organization=organization, name=name, recurring_interval="month", prices=prices)
        products.append(product)
    return products
