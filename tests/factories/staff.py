"""Staff members with a role on one organization (polar.organizations.staff), as the command makes them."""

from django.contrib.auth import get_user_model

from polar.organizations.staff import staff_access_grant, staff_user_get_or_create


def make_staff(role: str, organization=None, *, email: str | None = None, password: str = "a-long-staff-password"):
    """A staff user with ``role`` (support|risk|finance) and access to ``organization`` (None: a staff user
    with no role and no organization)."""
    email = email or f"{role}-{get_user_model().objects.count() + 1}@staff.example"
    user, _ = staff_user_get_or_create(email=email, password=password)
    if organization is not None:
        staff_access_grant(actor=None, user=user, role=role, organization=organization, reason="test set-up")
    return get_user_model().objects.get(pk=user.pk)  # fresh: no permission cache


def make_superuser(email: str = "root@staff.example", password: str = "a-long-staff-password"):
    return get_user_model().objects.create_superuser(username=email, email=email, password=password)
