from django.urls import path

from . import members, views

# An external id is one path segment, as on Polar (``/v1/customers/external/a/b`` is no customer's route:
# polar-sdk formats ids into the path unencoded). The list, create and state routes are billing's
# (``billing.customers_urls`` and ``billing.urls``).
urlpatterns = [
    path(
        "customers/external/<str:external_id>/members",
        members.CustomerExternalMemberListApi.as_view(),
        name="customers-external-members",
    ),
    path("customers/<str:id>/members", members.CustomerMemberListApi.as_view(), name="customers-members"),
    path("customers/external/<str:external_id>", views.CustomerExternalApi.as_view(), name="customers-external"),
    path("customers/<str:id>", views.CustomerDetailApi.as_view(), name="customers-detail"),
]
