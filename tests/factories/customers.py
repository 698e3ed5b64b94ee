"""Customer factories. Behaviour under test goes through customers.services; these make surroundings."""

import factory

from customers.models import Customer
from polar import clock
from tests.factories import CustomerFactory, OrganizationFactory

__all__ = ["CustomerFactory", "TeamCustomerFactory", "DeletedCustomerFactory", "OrganizationFactory"]


class TeamCustomerFactory(CustomerFactory):
    type = Customer.Type.TEAM
    email = None


class DeletedCustomerFactory(CustomerFactory):
    deleted_at = factory.LazyFunction(clock.now)
