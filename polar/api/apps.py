from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "polar.api"
    label = "api"
    verbose_name = "API kernel"
