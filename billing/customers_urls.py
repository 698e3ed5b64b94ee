"""The ``/v1/customers/`` routes billing serves (see ``billing.customers_api``) that must come before
``customers.api.urls``: external ids may contain slashes, so ``external/<id>/state`` is matched before
``external/<id>``. ``customers/<id>/state`` cannot be shadowed and is in ``billing.urls``."""

from django.urls import path

from billing import customers_api

urlpatterns = [
    path("customers/", customers_api.CustomerListCreateApi.as_view(), name="customers-list"),
    path(
        "customers/external/<path:external_id>/state",
        customers_api.CustomerExternalStateApi.as_view(),
        name="customers-external-state",
    ),
]
