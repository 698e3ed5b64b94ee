"""``/support/?q=``: a customer found by each key, only within the organizations the staff member may see."""

import pytest

from billing.checkouts import services as checkout_services
from billing.models import Checkout
from tests.factories import CustomerFactory
from tests.factories.staff import make_staff
from tests.factories.subscriptions import one_time_product

from .conftest import client_for


def found(client, query) -> list[str]:
    response = client.get("/support/", {"q": query})
    assert response.status_code == 200
    return [customer.email for customer in response.context["customers"]]


def test_the_search_page_without_a_query_explains_itself(support_client):
    response = support_client.get("/support/")
    assert response.status_code == 200
    assert "Find a customer" in response.content.decode()
    assert response.context["customers"] == []


@pytest.mark.parametrize("query", ["ada@example.com", "ADA@Example.COM", "  ada@example.com "])
def test_by_email_ignoring_case(support_client, customer, query):
    assert found(support_client, query) == ["ada@example.com"]


def test_by_external_id(support_client, customer):
    assert found(support_client, "ada-1") == ["ada@example.com"]


def test_by_customer_id(support_client, customer):
    assert found(support_client, str(customer.id)) == ["ada@example.com"]


def test_by_order_id_and_subscription_id(support_client, subscription, first_order):
    assert found(support_client, str(first_order.id)) == ["ada@example.com"]
    assert found(support_client, str(subscription.id)) == ["ada@example.com"]


def test_by_checkout_id(support_client, organization, customer):
    attach_customer = customer
    product = one_time_product(organization, name="E-book", amount=2500)
    checkout = checkout_services.checkout_create(organization=organization, products=[product.id])
    checkout_services.checkout_confirm(
        checkout=checkout, customer_email=attach_customer.email, customer_name="Ada", confirmation_token_id="pm_card_visa"
    )
    checkout = Checkout.objects.get(pk=checkout.pk)
    assert checkout.customer_id == customer.id
    assert found(support_client, str(checkout.id)) == ["ada@example.com"]


def test_part_of_an_email_when_nothing_matches_exactly(support_client, organization, customer):
    CustomerFactory(organization=organization, email="adam@example.com")
    response = support_client.get("/support/", {"q": "ada"})
    assert sorted(c.email for c in response.context["customers"]) == ["ada@example.com", "adam@example.com"]
    assert "part of an e-mail or name" in response.content.decode()


def test_an_unknown_id_finds_nothing(support_client, customer):
    response = support_client.get("/support/", {"q": "00000000-0000-0000-0000-000000000000"})
    assert response.context["customers"] == []
    assert "No customer of your merchants matches." in response.content.decode()


def test_another_organizations_customer_is_not_found_by_any_key(support_client, customer, other_customer):
    assert found(support_client, "bob@globex.example") == []
    assert found(support_client, "bob-1") == []
    assert found(support_client, str(other_customer.id)) == []
    assert found(support_client, "globex") == []


def test_a_superuser_finds_customers_of_every_organization(superuser, customer, other_customer):
    client = client_for(superuser)
    assert found(client, "bob@globex.example") == ["bob@globex.example"]
    assert found(client, "ada-1") == ["ada@example.com"]


def test_staff_without_the_organizations_permission_find_nothing(organization, customer):
    stranger = make_staff("support", None, email="nobody@staff.example")
    assert found(client_for(stranger), "ada@example.com") == []


def test_results_are_paginated(support_client, organization):
    for n in range(30):
        CustomerFactory(organization=organization, email=f"pat{n:02d}@example.com")
    first = support_client.get("/support/", {"q": "pat"})
    second = support_client.get("/support/", {"q": "pat", "page": 2})
    assert len(first.context["customers"]) == 25 and len(second.context["customers"]) == 5
    assert "30 customers found" in first.content.decode()
    shown = {c.email for c in first.context["customers"]} | {c.email for c in second.context["customers"]}
    assert len(shown) == 30


def test_anonymous_and_non_staff_users_are_sent_to_the_login(client, customer, django_user_model):
    response = client.get("/support/", {"q": "ada@example.com"})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    user = django_user_model.objects.create_user("someone", "someone@example.com", "a-long-password-1")
    response = client_for(user).get("/support/", {"q": "ada@example.com"})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
