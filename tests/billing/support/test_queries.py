"""The support pages read in a bounded number of queries whatever the number of rows (issue 17, part 5): a
page of 1 customer and a page of 25, a customer with 1 order and one with 30 (a page of 25 shown), run the
same queries. Budgets are the measured counts with a little room."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.orders.services import order_charge
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card
from tests.factories.subscriptions import pending_order

SEARCH_BUDGET = 6
CUSTOMER_PAGE_BUDGET = 20


def count_queries(client, path, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params or {})
    assert response.status_code == 200
    return len(captured.captured_queries)


def paid_orders(customer, count):
    card = attach_card(customer, "pm_card_visa")
    for _ in range(count):
        order = pending_order(customer, amount=1500)
        order_charge(order=order, payment_method=card)


def test_search_runs_the_same_queries_for_1_or_25_results(support_client, organization, django_assert_max_num_queries):
    CustomerFactory(organization=organization, email="one@example.com")
    single = count_queries(support_client, "/support/", {"q": "one@example.com"})
    for n in range(25):
        CustomerFactory(organization=organization, email=f"many{n}@example.com")
    with django_assert_max_num_queries(SEARCH_BUDGET):
        many = count_queries(support_client, "/support/", {"q": "many"})
    assert many == single + 1  # the partial match runs after the exact one found nothing


@pytest.mark.parametrize("query_kind", ["email", "id"])
def test_search_by_each_kind_of_key_is_within_budget(support_client, customer, query_kind, django_assert_max_num_queries):
    query = customer.email if query_kind == "email" else str(customer.id)
    with django_assert_max_num_queries(SEARCH_BUDGET):
        support_client.get("/support/", {"q": query})


def test_the_customer_page_runs_the_same_queries_for_1_or_30_orders(
    support_client, customer, subscription, django_assert_max_num_queries
):
    path = f"/support/customers/{customer.id}/"
    few = count_queries(support_client, path)
    paid_orders(customer, 30)
    with django_assert_max_num_queries(CUSTOMER_PAGE_BUDGET):
        many = count_queries(support_client, path)
    assert many == few
