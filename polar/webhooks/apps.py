from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "polar.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
