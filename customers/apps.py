from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers"

    def ready(self):
        from auditlog.registry import auditlog

        from . import models

        auditlog.register(models.Customer)
        auditlog.register(models.Member)
