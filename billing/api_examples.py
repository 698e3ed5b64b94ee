"""Request and response examples of the main operations, shown by the Swagger page (/docs) and in
/openapi.json, in the shapes the API accepts: prices as price objects, metadata as an object, ids as
strings. ``tests/billing/test_openapi_examples.py`` sends every request example to the API (the ids below
replaced by real ones) and fails if one is refused, so an example cannot drift from what is served.
"""

from drf_spectacular.utils import OpenApiExample

# Stand-ins for the ids of the caller's own rows, replaced by the test with real ones.
PRODUCT_ID = "8c1f3f2e-5d4a-4c1b-9e2f-0a7b6c5d4e31"
CUSTOMER_ID = "2d9e8f7a-6b5c-4d3e-8f1a-9b0c1d2e3f42"
METER_ID = "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c53"

_USAGE_FILTER = {"conjunction": "and", "clauses": [{"property": "name", "operator": "eq", "value": "api_call"}]}


def _request(summary: str, value: dict, *, name: str | None = None) -> OpenApiExample:
    return OpenApiExample(name or summary, summary=summary, value=value, request_only=True)


PRODUCTS_CREATE = [
    _request(
        "Monthly plan with usage",
        {
            "name": "Pro",
            "description": "20.00 a month, plus 0.5 cents per API call.",
            "recurring_interval": "month",
            "prices": [
                {"amount_type": "fixed", "price_amount": 2000, "price_currency": "usd"},
                {"amount_type": "metered_unit", "meter_id": METER_ID, "unit_amount": "0.5", "price_currency": "usd"},
            ],
            "metadata": {"plan": "pro"},
        },
    ),
    _request(
        "One-time purchase",
        {"name": "E-book", "prices": [{"amount_type": "fixed", "price_amount": 2500, "price_currency": "usd"}]},
    ),
]
PRODUCTS_UPDATE = [_request("Rename and tag", {"name": "Pro (2027)", "metadata": {"plan": "pro", "year": 2027}})]

CUSTOMERS_CREATE = [
    _request(
        "A customer with your own id",
        {
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "external_id": "user-42",
            "billing_address": {"line1": "1 Main Street", "city": "Springfield", "postal_code": "12345", "country": "US"},
            "metadata": {"source": "signup"},
        },
    )
]

CHECKOUTS_CREATE = [
    _request(
        "Checkout for a known customer",
        {
            "products": [PRODUCT_ID],
            "customer_id": CUSTOMER_ID,
            # {CHECKOUT_ID} is replaced by the checkout's id when the buyer is sent back.
            "success_url": "https://example.com/thanks?checkout_id={CHECKOUT_ID}",
            "metadata": {"campaign": "spring"},
        },
    ),
    _request("Checkout for a new buyer", {"products": [PRODUCT_ID], "customer_email": "new.buyer@example.com"}),
]
CHECKOUTS_CLIENT_CONFIRM = [
    _request(
        "Pay with a sandbox card",
        {"customer_email": "grace@example.com", "customer_name": "Grace Hopper", "confirmation_token_id": "pm_card_visa"},
    )
]

SUBSCRIPTIONS_CREATE = [
    _request(
        "Subscribe a customer who has a card",
        {"product_id": PRODUCT_ID, "customer_id": CUSTOMER_ID, "metadata": {"source": "api"}},
    )
]
SUBSCRIPTIONS_UPDATE = [_request("Cancel at the end of the period", {"cancel_at_period_end": True})]

METERS_CREATE = [
    _request("Count API calls", {"name": "API calls", "filter": _USAGE_FILTER, "aggregation": {"func": "count"}}),
    _request(
        "Sum a property",
        {"name": "Tokens", "filter": _USAGE_FILTER, "aggregation": {"func": "sum", "property": "tokens"}},
    ),
]

EVENTS_INGEST = [
    _request(
        "Usage of two customers",
        {
            "events": [
                {"name": "api_call", "external_customer_id": "user-42", "metadata": {"route": "/v1/search", "tokens": 120}},
                {"name": "api_call", "customer_id": CUSTOMER_ID, "external_id": "call-0001", "metadata": {"tokens": 80}},
            ]
        },
    ),
    OpenApiExample("Accepted", summary="Accepted", value={"inserted": 2, "duplicates": 0}, response_only=True),
]

DISCOUNTS_CREATE = [
    _request(
        "20% off the first order, with a code",
        {"name": "Launch", "type": "percentage", "basis_points": 2000, "duration": "once", "code": "LAUNCH20"},
        name="Percentage with a code",
    ),
    _request(
        "5.00 off for three months",
        {"name": "Five off", "type": "fixed", "amount": 500, "currency": "usd", "duration": "repeating", "duration_in_months": 3},
        name="Fixed amount, repeating",
    ),
]

BENEFITS_CREATE = [
    _request(
        "A custom benefit",
        {"type": "custom", "description": "Priority support", "properties": {"note": "Write to support@example.com"}},
    )
]

CUSTOM_FIELDS_CREATE = [
    _request(
        "A select field",
        {
            "type": "select",
            "slug": "company-size",
            "name": "Company size",
            "properties": {"options": [{"value": "small", "label": "1-10"}, {"value": "large", "label": "11 or more"}]},
        },
    )
]
