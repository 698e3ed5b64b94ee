from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "polar.organizations"
    label = "organizations"
    verbose_name = "Organizations and access"

    def ready(self):
        from auditlog.registry import auditlog

        from . import models

        auditlog.register(models.Organization)
        auditlog.register(models.OrganizationMember)
        # last_used_at is telemetry, not a change of access: it is kept out of the audit trail.
        auditlog.register(models.OrganizationAccessToken, exclude_fields=["last_used_at", "token_hash"])
