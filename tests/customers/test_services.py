"""Service rules that the API tests do not reach directly."""

import pytest

from customers.services import customer_create, customer_delete, customer_update
from customers.tax_ids import InvalidTaxID, validate_tax_id
from polar.errors import PolarRequestValidationError, ResourceNotFound
from polar.webhooks.models import WebhookEvent
from tests.factories.customers import CustomerFactory, DeletedCustomerFactory

pytestmark = pytest.mark.django_db


def test_delete_twice_keeps_the_first_deletion_and_emits_once(organization):
    customer = CustomerFactory(organization=organization)
    first = customer_delete(customer=customer)
    second = customer_delete(customer=customer)
    assert second.deleted_at == first.deleted_at
    assert WebhookEvent.objects.filter(type="customer.deleted").count() == 1


def test_update_of_a_deleted_customer_is_not_found(organization):
    customer = DeletedCustomerFactory(organization=organization)
    with pytest.raises(ResourceNotFound):
        customer_update(customer=customer, changes={"name": "x"})


def test_create_refuses_an_unknown_type(organization):
    with pytest.raises(PolarRequestValidationError) as excinfo:
        customer_create(organization=organization, type="company", email="a@example.com")
    assert excinfo.value.errors[0]["loc"] == ["body", "type"]


def test_a_deleted_customers_email_does_not_block_a_new_one(organization):
    DeletedCustomerFactory(organization=organization, email="a@example.com", external_id="u1")
    customer = customer_create(organization=organization, email="A@example.com", external_id="u1")
    assert customer.email == "A@example.com"


@pytest.mark.parametrize(
    "value,country,expected",
    [
        ("DE 123.456-789", "DE", ["DE123456789", "eu_vat"]),
        ("123456789", "DE", ["DE123456789", "eu_vat"]),
        ("094259216", "GR", ["EL094259216", "eu_vat"]),
        ("GB123456789", "GB", ["GB123456789", "gb_vat"]),
        ("12-3456789", "US", ["123456789", "us_ein"]),
        ("ABC12345", "BM", ["ABC12345", None]),
    ],
)
def test_tax_ids_are_normalised_with_their_format(value, country, expected):
    assert validate_tax_id(value, country) == expected


@pytest.mark.parametrize("value,country", [("FR12345678901", "DE"), ("!", "US"), ("", "US")])
def test_implausible_tax_ids_are_refused(value, country):
    with pytest.raises(InvalidTaxID):
        validate_tax_id(value, country)
