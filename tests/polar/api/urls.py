"""A test-only URLconf: minimal views that exercise the API kernel (auth, idempotency, errors, pagination)
without depending on any product endpoint."""

import threading

from django.urls import include, path
from rest_framework import serializers

from customers.models import Customer
from polar.api.views import PolarAPIView
from polar.errors import ResourceNotFound

# Tests set this event to hold a request in flight while another one arrives.
hold_request = threading.Event()
release_request = threading.Event()


class ThingInput(serializers.Serializer):
    email = serializers.EmailField()
    hold = serializers.BooleanField(default=False)


class ThingOutput(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "email", "created_at"]


class ThingListQuery(serializers.Serializer):
    email = serializers.ListField(child=serializers.CharField(), required=False)


class ThingsApi(PolarAPIView):
    scope = "customers"
    sorting_fields = {"created_at": "created_at", "email": "email"}

    def get(self, request):
        query = self.parse_query(ThingListQuery)
        queryset = Customer.objects.filter(organization=self.organization)
        if "email" in query:
            queryset = queryset.filter(email__in=query["email"])
        return self.paginated(queryset.order_by(*self.sorting()), ThingOutput)

    def post(self, request):
        data = self.parse_body(ThingInput)
        if data["hold"]:
            hold_request.set()
            release_request.wait(10)
        customer = Customer.objects.create(organization=self.organization, email=data["email"])
        return self.respond(ThingOutput(customer).data, status=201)


class ThingApi(PolarAPIView):
    scope = "customers"

    def get(self, request, id):
        customer = Customer.objects.filter(organization=self.organization, pk=self.parse_id(id)).first()
        if customer is None:
            raise ResourceNotFound()
        return self.respond(ThingOutput(customer).data)

    def post(self, request, id):
        raise RuntimeError("boom")


urlpatterns = [
    path("v1/things/", ThingsApi.as_view()),
    path("v1/things/<str:id>", ThingApi.as_view()),
    path("", include("polar.urls")),
]

from polar.urls import handler400, handler403, handler404, handler500  # noqa: E402,F401
