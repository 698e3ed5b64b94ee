from django.urls import path

from . import payments as payments_api

urlpatterns: list = []
urlpatterns += [
    path("customers/<str:id>/payment-methods", payments_api.CustomerPaymentMethodListApi.as_view(), name="customers-payment-methods"),
    path(
        "customers/<str:id>/payment-methods/<str:payment_method_id>",
        payments_api.CustomerPaymentMethodDetailApi.as_view(),
        name="customers-payment-methods-detail",
    ),
    path("payments/", payments_api.PaymentListApi.as_view(), name="payments-list"),
    path("payments/<str:id>", payments_api.PaymentDetailApi.as_view(), name="payments-detail"),
]
