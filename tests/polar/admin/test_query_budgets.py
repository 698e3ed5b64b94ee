"""Admin lists read a bounded number of queries (issue 17): the scoping to the staff member's organizations
is one subquery, not a query per row, and each list joins what its columns show. Each list is opened by a
Risk analyst (who may open every one of them) with one row of each organization, then again with three more
rows of acme in the lists that grow the most (orders, customers, payments): the count must not grow."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.subscriptions.lifecycle import subscription_create
from tests.factories.payments import attach_card

from .test_permission_matrix import MONEY, VIEW

pytestmark = pytest.mark.django_db

# Queries of each list for a staff member (session, user, groups' permissions, the page, its count, the
# organization filter's choices, the actions' permission checks): measured 7 (events) to 14 (payments) for
# a Risk analyst, two fewer for a superuser; the budget is the largest with a margin of two.
BUDGET = 16


def _changelist(label):
    app_label, model = label.split(".")
    return reverse(f"admin:{app_label}_{model}_changelist")


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def test_every_admin_list_stays_within_its_budget(world, staff_client, organization, django_assert_max_num_queries):
    client = staff_client("risk", organization)
    for label, roles in VIEW.items():
        if "risk" not in roles:
            continue
        with django_assert_max_num_queries(BUDGET):
            assert client.get(_changelist(label)).status_code == 200


def test_more_rows_read_no_more_queries(world, staff_client, organization):
    client = staff_client("risk", organization)
    grown = ["billing.order", "customers.customer", "billing.payment", "billing.subscription", "payouts.ledgerentry"]
    before = {label: _count(client, _changelist(label)) for label in grown}
    product = world["acme"].rows["billing.product"]
    for index in range(3):
        card = attach_card(organization=organization, email=f"more{index}@acme.example")
        subscription_create(organization=organization, customer=card.customer, product=product, payment_method=card)
    after = {label: _count(client, _changelist(label)) for label in grown}
    assert after == before
    assert MONEY  # the Risk role opens every list measured here
