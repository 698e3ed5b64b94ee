from django.urls import path

from . import views

# External ids may contain slashes (``path:``); the state route is listed first so that
# ``external/<id>/state`` is the state of <id>.
urlpatterns = [
    path("customers/", views.CustomerListCreateApi.as_view(), name="customers-list"),
    path(
        "customers/external/<path:external_id>/state",
        views.CustomerExternalStateApi.as_view(),
        name="customers-external-state",
    ),
    path("customers/external/<path:external_id>", views.CustomerExternalApi.as_view(), name="customers-external"),
    path("customers/<str:id>/state", views.CustomerStateApi.as_view(), name="customers-state"),
    path("customers/<str:id>", views.CustomerDetailApi.as_view(), name="customers-detail"),
]
