"""The customer admin: searchable, read-only, deletion only through the soft-delete service."""

import pytest

from customers.models import Customer
from polar.webhooks.models import WebhookEvent
from tests.factories.customers import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("term", ["jane@", "user-7", "Jane Doe"])
def test_changelist_searches_email_external_id_and_name(admin_client, organization, term):
    CustomerFactory(organization=organization, email="jane@example.com", external_id="user-7", name="Jane Doe")
    CustomerFactory(organization=organization, email="other@example.com", name="Other")
    response = admin_client.get("/admin/customers/customer/", {"q": term})
    assert response.status_code == 200
    assert b"jane@example.com" in response.content
    assert b"other@example.com" not in response.content


def test_soft_delete_action_goes_through_the_service(admin_client, organization):
    customer = CustomerFactory(organization=organization)
    response = admin_client.post("/admin/customers/customer/", {"action": "soft_delete", "_selected_action": [str(customer.pk)]})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.deleted_at is not None
    assert Customer.objects.count() == 1
    assert WebhookEvent.objects.get().type == "customer.deleted"
