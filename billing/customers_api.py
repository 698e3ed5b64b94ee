"""The ``/v1/customers/`` operations that need billing, served by billing so that the customers app
imports nothing of it: the list (its ``active`` filter reads subscriptions), create (events ingested
under the new customer's external id are linked to it) and the customer state.

The URLconf routes them at the same paths and operation ids as the rest of ``/v1/customers/``
(``billing.customers_urls`` and ``billing.urls``); the lookups and the shapes are the customers app's.
"""

from drf_spectacular.utils import extend_schema, extend_schema_view

from billing import api_examples
from billing.customer_state import CustomerStateOutput, customer_ids_with_active_subscriptions, customer_state
from billing.usage import services as usage_services
from customers import selectors
from customers.api.serializers import CustomerCreateInput, CustomerListQuery
from customers.api.views import CustomerApiBase
from customers.payloads import CustomerOutput
from polar.api.metadata import parse_metadata_query


class CustomerListCreateApi(CustomerApiBase):
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
        )
        active = query.get("active")
        if active is not None:
            active_ids = customer_ids_with_active_subscriptions(organization=self.organization)
            queryset = queryset.filter(pk__in=active_ids) if active else queryset.exclude(pk__in=active_ids)
        return self.paginated(queryset.order_by(*self.sorting()), CustomerOutput)

    @extend_schema(
        operation_id="customers:create",
        request=CustomerCreateInput,
        examples=api_examples.CUSTOMERS_CREATE,
        responses={201: CustomerOutput},
    )
    def post(self, request):
        data = self.parse_body(CustomerCreateInput)
        customer = usage_services.customer_create(organization=self.organization, **data)
        return self.respond(CustomerOutput(customer).data, status=201)


class CustomerStateApi(CustomerApiBase):
    @extend_schema(operation_id="customers:get_state", responses=CustomerStateOutput)
    def get(self, request, **lookup):
        customer = self.get_customer(**lookup)
        state = customer_state(customer=customer)
        return self.respond(CustomerStateOutput(customer, context={"state": state}).data)


@extend_schema_view(get=extend_schema(operation_id="customers:get_state_external", responses=CustomerStateOutput))
class CustomerExternalStateApi(CustomerStateApi):
    pass
