"""The ``/v1/customers/`` routes billing serves (see ``billing.customers_api``), included before
``customers.api.urls``. An external id is one path segment, so no route shadows another here."""

from django.urls import path

from billing import customers_api
from billing.exports import api as exports_api
from billing.payments import api as payments_api
from billing.seats import api as seats_api

urlpatterns = [
    path("customers/", customers_api.CustomerListCreateApi.as_view(), name="customers-list"),
    path("customers/export", exports_api.CustomerExportApi.as_view(), name="customers-export"),
    path(
        "customers/external/<str:external_id>/state",
        customers_api.CustomerExternalStateApi.as_view(),
        name="customers-external-state",
    ),
    path(
        "customers/external/<str:external_id>/payment-methods",
        payments_api.CustomerExternalPaymentMethodListApi.as_view(),
        name="customers-external-payment-methods",
    ),
    # Member items: billing's, because deleting a member revokes its seats (billing.seats).
    path(
        "customers/external/<str:external_id>/members/<str:member_external_id>",
        seats_api.CustomerExternalMemberApi.as_view(),
        name="customers-external-members-detail",
    ),
    path("customers/<str:id>/members/<str:member_id>", seats_api.CustomerMemberApi.as_view(), name="customers-members-detail"),
]
