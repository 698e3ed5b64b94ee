"""``/v1/customers/``: thin views over customers.services and customers.selectors.

The list, create and state operations read or write billing too; billing serves them
(``billing.customers_api``) on the same paths, so that this app imports nothing of billing.
"""

from drf_spectacular.utils import extend_schema, extend_schema_view

from customers import selectors, services
from customers.api.serializers import (
    CustomerDeleteQuery,
    CustomerUpdateExternalInput,
    CustomerUpdateInput,
)
from customers.payloads import CustomerOutput
from polar.api.views import PolarAPIView
from polar.errors import ResourceNotFound


# The base of the views of one customer of the token's organization, found by id or by external id (a comment:
# a docstring would become the operations' description in the OpenAPI schema).
class CustomerApiBase(PolarAPIView):
    scope = "customers"

    def get_customer(self, **lookup):
        if "id" in lookup:
            customer = selectors.customer_get(organization=self.organization, id=self.parse_id(lookup["id"]))
        else:
            customer = selectors.customer_get_by_external_id(organization=self.organization, external_id=lookup["external_id"])
        if customer is None:
            raise ResourceNotFound("Customer not found.")
        return customer


class _CustomerItemApi(CustomerApiBase):
    update_input = CustomerUpdateInput
    external = False

    def get(self, request, **lookup):
        return self.respond(CustomerOutput(self.get_customer(**lookup)).data)

    def patch(self, request, **lookup):
        customer = self.get_customer(**lookup)
        changes = self.parse_body(self.update_input, partial=True)
        customer = services.customer_update(customer=customer, changes=changes, external=self.external)
        return self.respond(CustomerOutput(customer).data)

    def delete(self, request, **lookup):
        query = self.parse_query(CustomerDeleteQuery)
        customer = self.get_customer(**lookup)
        services.customer_delete(customer=customer, anonymize=query["anonymize"])
        return self.respond(None, status=204)


def _item_schema(name: str, update_input):
    return extend_schema_view(
        get=extend_schema(operation_id=f"customers:get{name}", responses=CustomerOutput),
        patch=extend_schema(operation_id=f"customers:update{name}", request=update_input, responses=CustomerOutput),
        delete=extend_schema(operation_id=f"customers:delete{name}", parameters=[CustomerDeleteQuery], responses={204: None}),
    )


@_item_schema("", CustomerUpdateInput)
class CustomerDetailApi(_CustomerItemApi):
    pass


@_item_schema("_external", CustomerUpdateExternalInput)
class CustomerExternalApi(_CustomerItemApi):
    update_input = CustomerUpdateExternalInput
    external = True
