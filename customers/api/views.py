"""``/v1/customers/``: thin views over customers.services and customers.selectors."""
from drf_spectacular.utils import extend_schema, extend_schema_view

from customers import selectors, services
from customers.api.serializers import (
    CustomerCreateInput,
    CustomerDeleteQuery,
    CustomerListQuery,
    CustomerUpdateExternalInput,
    CustomerUpdateInput,
)
from customers.payloads import CustomerOutput, CustomerStateOutput
from polar.api.metadata import parse_metadata_query
from polar.api.views import PolarAPIView
from polar.errors import ResourceNotFound


class _CustomerApi(PolarAPIView):
    scope = "customers"

    def get_customer(self, **lookup):
        if "id" in lookup:
            customer = selectors.customer_get(organization=self.organization, id=self.parse_id(lookup["id"]))
        else:
            customer = selectors.customer_get_by_external_id(
                organization=self.organization, external_id=lookup["external_id"]
            )
        if customer is None:
            raise ResourceNotFound("Customer not found.")
        return customer


class CustomerListCreateApi(_CustomerApi):
    sorting_fields = {"created_at": "created_at", "email": "email", "name": "name"}

    @extend_schema(operation_id="customers:list", parameters=[CustomerListQuery], responses=CustomerOutput(many=True))
    def get(self, request):
        query = self.parse_query(CustomerListQuery)
        queryset = selectors.customer_list(
            organization=self.organization,
            organization_ids=query.get("organization_id"),
            email=query.get("email"),
            query=query.get("query"),
            metadata=parse_metadata_query(request.query_params),
            active=query.get("active"),
        ).order_by(*self.sorting())
        return self.paginated(queryset, CustomerOutput)

    @extend_schema(operation_id="customers:create", request=CustomerCreateInput, responses={201: CustomerOutput})
    def post(self, request):
        data = self.parse_body(CustomerCreateInput)
        customer = services.customer_create(organization=self.organization, **data)
        return self.respond(CustomerOutput(customer).data, status=201)


class _CustomerItemApi(_CustomerApi):
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
        delete=extend_schema(
            operation_id=f"customers:delete{name}", parameters=[CustomerDeleteQuery], responses={204: None}
        ),
    )


@_item_schema("", CustomerUpdateInput)
class CustomerDetailApi(_CustomerItemApi):
    pass


@_item_schema("_external", CustomerUpdateExternalInput)
class CustomerExternalApi(_CustomerItemApi):
    update_input = CustomerUpdateExternalInput
    external = True


class CustomerStateApi(_CustomerApi):
    @extend_schema(operation_id="customers:get_state", responses=CustomerStateOutput)
    def get(self, request, **lookup):
        customer = self.get_customer(**lookup)
        state = selectors.customer_state(customer=customer)
        return self.respond(CustomerStateOutput(customer, context={"state": state}).data)


@extend_schema_view(get=extend_schema(operation_id="customers:get_state_external", responses=CustomerStateOutput))
class CustomerExternalStateApi(CustomerStateApi):
    pass
