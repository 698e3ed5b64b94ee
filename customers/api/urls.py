from django.urls import path

from . import views

# External ids may contain slashes (``path:``). The list, create and state routes are billing's
# (``billing.customers_urls``, included before this module, and ``billing.urls``): ``external/<id>/state``
# is the state of <id>, matched before ``external/<id>`` here.
urlpatterns = [
    path("customers/external/<path:external_id>", views.CustomerExternalApi.as_view(), name="customers-external"),
    path("customers/<str:id>", views.CustomerDetailApi.as_view(), name="customers-detail"),
]
