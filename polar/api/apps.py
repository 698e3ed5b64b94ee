from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "polar.api"
    label = "api"
    verbose_name = "API kernel"

    def ready(self):
        from . import schema  # noqa: F401  (registers the bearer-token security scheme)
