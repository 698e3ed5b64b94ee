"""Query budgets (issue 20): every list endpoint of the merchant API runs the same number of SQL queries
for a page of 1 as for a page of 10 (no query per item), and every list and get endpoint stays within a
stated budget. One organization is seeded with at least ten rows of each kind, through the services and
the API, so that every row carries what a real one does (prices, benefits, grants, payments, refunds).

Each budget is the count measured when it was set. The token is read once and then served from the
per-process token cache (polar/organizations/token_cache.py), so these counts are the endpoint's own work
only; the comment beside each budget names what it reads. A budget that must grow should be raised here on
purpose, with the reason.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories.world import seed_every_kind

pytestmark = pytest.mark.django_db

N = 10

# The token comes from the token cache (no query: the first request below reads it); every page counts its
# rows (1) and reads them (1). The rest is what each payload embeds, one query per relation.
LIST_BUDGETS = {
    "/v1/products/": 5,  # + active prices, benefit links, custom-field links (is_deletable is in the SELECT)
    "/v1/customers/": 2,
    "/v1/subscriptions/": 8,  # + product, its prices/benefits/custom fields, subscription prices, pending updates
    "/v1/orders/": 3,  # + order items
    "/v1/checkouts/": 11,  # + product and offered products, each product with prices/benefits/custom fields
    "/v1/checkout-links/": 7,  # + link products, product, prices/benefits/custom fields
    "/v1/benefits/": 2,
    "/v1/benefit-grants/": 2,
    "/v1/benefits/{benefit}/grants": 3,  # + the benefit
    "/v1/discounts/": 4,  # + amounts, product restrictions
    "/v1/license-keys/": 2,
    "/v1/meters/": 2,
    # Computed rows: the meters (1), consumed units per customer (1 grouped query per meter: 10 here, so
    # linear in the number of meters, not in the page nor the customers), the upsert of new pairs (1), the
    # rows (1), their subscriptions' periods (1) and meter-credit grants (1), the running amount (issue 22:
    # the subscriptions billing each pair and their metered prices, 2). Not paginated in SQL: every
    # row of the organization is computed, then the page is cut (see the report of issue 20).
    "/v1/customer-meters/": 17,
    "/v1/events/": 3,  # + the merchant's event types, for the labels (label_property_selector): one query a page
    "/v1/webhooks/endpoints": 2,
    "/v1/webhooks/deliveries": 2,  # attempts joined to their delivery, endpoint and event in one SELECT
    "/v1/refunds/": 2,
    "/v1/disputes/": 2,
    "/v1/transactions/": 2,
    "/v1/payouts/": 2,
    "/v1/custom-fields/": 2,
    "/v1/payments/": 2,
    "/v1/products/{versioned_product}/prices": 6,  # + the product and its 3 output prefetches
    "/v1/customers/{team}/members": 3,  # + the team customer
}

# path -> budget for one object: the row, then what the payload embeds.
GET_BUDGETS = {
    "/v1/products/{product}": 4,  # row + prices, benefits, custom fields
    "/v1/customers/{customer}": 1,
    "/v1/customers/external/{external_id}": 1,
    # Active subscriptions with their prices and meters, granted benefits, and the customer meters (as the
    # customer-meter list: 1 query per meter of the organization, 10 here): see billing/customer_state.py.
    "/v1/customers/{customer}/state": 20,
    "/v1/customers/external/{external_id}/state": 20,
    "/v1/subscriptions/{subscription}": 7,
    "/v1/orders/{order}": 2,
    "/v1/checkouts/{checkout}": 10,
    "/v1/checkout-links/{checkout_link}": 6,
    "/v1/benefits/{benefit}": 1,
    "/v1/discounts/{discount}": 3,
    "/v1/license-keys/{license_key}": 2,
    "/v1/meters/{meter}": 1,
    "/v1/customer-meters/{customer_meter}": 9,  # + the running amount's subscription and prices (2)
    "/v1/events/{event}": 2,  # + the event types, for its label
    "/v1/webhooks/endpoints/{endpoint}": 1,
    "/v1/disputes/{dispute}": 1,
    "/v1/payouts/{payout}": 1,
    "/v1/custom-fields/{custom_field}": 1,
}


def _count(api_client, path, params=None):
    with CaptureQueriesContext(connection) as captured:
        response = api_client.get(path, params or {})
    assert response.status_code == 200, (path, response.status_code, response.content[:300])
    return len(captured.captured_queries), response.json()


def test_list_and_get_endpoints_stay_within_their_query_budgets(api_client, organization, settings):
    ids = seed_every_kind(api_client, organization, settings, n=N)
    api_client.get("/v1/products/", {"limit": 1})  # the token's first request also records its last use

    measured, sizes = {}, {}
    for template in LIST_BUDGETS:
        path = template.format(**ids)
        one, small = _count(api_client, path, {"limit": 1})
        ten, large = _count(api_client, path, {"limit": N})
        measured[template] = (one, ten)
        sizes[template] = (len(small["items"]), len(large["items"]))
    for template in GET_BUDGETS:
        measured[template], _ = _count(api_client, template.format(**ids))

    thin = {path: size for path, size in sizes.items() if size[1] < 2}
    assert not thin, f"seed at least two rows for {thin}"
    growing = {path: counts for path, counts in measured.items() if isinstance(counts, tuple) and counts[0] != counts[1]}
    assert not growing, f"query count grows with the page size (1 item, {N} items): {growing}"
    over = {
        path: (counts, budget)
        for path, budget in {**LIST_BUDGETS, **GET_BUDGETS}.items()
        if (counts[1] if isinstance(counts := measured[path], tuple) else counts) > budget
    }
    assert not over, f"over budget (measured, budget): {over}"
