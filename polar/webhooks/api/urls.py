from django.urls import path

from . import views

# Polar's paths for webhooks have no trailing slash, collections included.
urlpatterns = [
    path("webhooks/endpoints", views.WebhookEndpointListApi.as_view(), name="webhook-endpoints-list"),
    path("webhooks/endpoints/<str:id>", views.WebhookEndpointDetailApi.as_view(), name="webhook-endpoints-detail"),
    path("webhooks/endpoints/<str:id>/secret", views.WebhookEndpointSecretApi.as_view(), name="webhook-endpoints-secret"),
    path("webhooks/deliveries", views.WebhookDeliveryListApi.as_view(), name="webhook-deliveries-list"),
    path("webhooks/events/<str:id>/redeliver", views.WebhookEventRedeliverApi.as_view(), name="webhook-events-redeliver"),
]
