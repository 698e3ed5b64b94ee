from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        from auditlog.registry import auditlog

        from .models import Payment, PaymentMethod

        auditlog.register(PaymentMethod)
        auditlog.register(Payment)
