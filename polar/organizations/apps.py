from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "polar.organizations"
    label = "organizations"
    verbose_name = "Organizations and access"

    def ready(self):
        from auditlog.registry import auditlog
        from django.db.models.signals import post_delete, post_save

        from . import models, token_cache

        auditlog.register(models.Organization)
        auditlog.register(models.OrganizationMember)
        # last_used_at is telemetry, not a change of access: it is kept out of the audit trail.
        auditlog.register(models.OrganizationAccessToken, exclude_fields=["last_used_at", "token_hash"])
        # Staff access (polar.organizations.staff): which merchants (guardian rows) and which roles (groups).
        from django.contrib.auth import get_user_model
        from guardian.models import UserObjectPermission

        auditlog.register(UserObjectPermission)
        auditlog.register(
            get_user_model(), include_fields=["is_staff", "is_superuser", "is_active", "email"], m2m_fields={"groups"}
        )

        from django.db.models.signals import post_migrate

        post_migrate.connect(_ensure_staff_roles, dispatch_uid="organizations.ensure_staff_roles")

        # The token cache is invalidated by any write to a token or an organization, whichever path made it
        # (services, the admin, a shell): see polar/organizations/token_cache.py.
        for model in (models.Organization, models.OrganizationAccessToken):
            post_save.connect(token_cache.access_changed, sender=model, dispatch_uid=f"token_cache.{model.__name__}.save")
            post_delete.connect(token_cache.access_changed, sender=model, dispatch_uid=f"token_cache.{model.__name__}.delete")


def _ensure_staff_roles(sender, **kwargs):
    """After ``migrate``: the Support, Risk and Finance groups with their permissions. Permissions are
    created per app by the same signal, so this runs after each app and adds what exists by then."""
    from .staff import ensure_staff_roles

    if kwargs.get("using", "default") == "default":
        ensure_staff_roles()
