"""Staff access to merchants (docs/back-office.md): the one place that says which staff member may see and
act on which organization, used by the Django admin, the support views and the ``staff_access`` command.

Two layers, both Django permissions:

- **roles** are the groups Support, Risk and Finance; each carries model permissions (``view_*`` of what its
  people read) and the capabilities of ``Organization.Meta.permissions`` (``refund_orders``, ``freeze_payouts``...);
- **which merchants**: the django-guardian object permission ``organizations.access_organization`` on each
  organization the staff member is assigned to. A role's capability applies only to those organizations.

Superusers see and may do everything. Granting and revoking access is audited (auditlog records the guardian
row and the group membership with the acting user and the reason, ``polar.audit.staff_action``).
"""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from polar.audit import staff_action
from polar.errors import NotPermitted, PolarRequestValidationError

from .models import Organization

ACCESS_PERMISSION = "organizations.access_organization"
ROLES = {"support": "Support", "risk": "Risk", "finance": "Finance"}

# What every role reads in the admin (app_label.model). Ledger, payouts and the audit log are for the people
# who move money and watch risk; support sees the customer's story.
_SUPPORT_VIEWS = [
    "organizations.organization",
    "customers.customer",
    "customers.member",
    "billing.subscription",
    "billing.order",
    "billing.orderitem",
    "billing.payment",
    "billing.refund",
    "billing.dispute",
    "billing.checkout",
    "billing.benefitgrant",
    "billing.licensekey",
    "billing.dunningcase",
    "billing.dunningattempt",
    "billing.event",
    "billing.approvalrequest",
    "webhooks.webhookdelivery",
]
_MONEY_VIEWS = [
    *_SUPPORT_VIEWS,
    "payouts.payout",
    "payouts.payoutaccount",
    "payouts.ledgeraccount",
    "payouts.ledgertransaction",
    "payouts.ledgerentry",
    "webhooks.webhookendpoint",
    "billing.product",
    "billing.discount",
    "auditlog.logentry",
]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    "support": [*(f"{model}:view" for model in _SUPPORT_VIEWS), "organizations.refund_orders"],
    "risk": [
        *(f"{model}:view" for model in _MONEY_VIEWS),
        "organizations.approve_four_eyes",
        "organizations.freeze_payouts",
        "organizations.hold_payouts",
        "organizations.block_checkouts",
        "organizations.record_dispute_evidence",
    ],
    "finance": [
        *(f"{model}:view" for model in _MONEY_VIEWS),
        "organizations.refund_orders",
        "organizations.request_payouts",
        "organizations.approve_four_eyes",
    ],
}


def _permissions(names: list[str]) -> list[Permission]:
    """Permission rows for ``app.model:view`` and ``app.codename`` names; names whose model is not
    installed (yet) are skipped, so this runs after any migration."""
    wanted = []
    for name in names:
        if ":" in name:
            label, action = name.split(":")
            app_label, model = label.split(".")
            wanted.append((app_label, f"{action}_{model}"))
        else:
            app_label, codename = name.split(".")
            wanted.append((app_label, codename))
    rows = Permission.objects.filter(content_type__app_label__in={a for a, _ in wanted}, codename__in={c for _, c in wanted})
    by_key = {(row.content_type.app_label, row.codename): row for row in rows.select_related("content_type")}
    return [by_key[key] for key in wanted if key in by_key]


def ensure_staff_roles() -> dict[str, Group]:
    """Create the Support, Risk and Finance groups with their permissions (idempotent; run after every
    ``migrate`` and by ``staff_access``). Returns {role: group}."""
    groups = {}
    for role, name in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*_permissions(ROLE_PERMISSIONS[role]))
        groups[role] = group
    return groups


def staff_roles(user) -> set[str]:
    """The roles of ``user`` ({"support", "risk", "finance"}); a superuser has them all."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    if user.is_superuser:
        return set(ROLES)
    names = {name: role for role, name in ROLES.items()}
    return {names[name] for name in user.groups.values_list("name", flat=True) if name in names}


def staff_organizations(user) -> QuerySet[Organization]:
    """The organizations ``user`` may see and act on: all for a superuser, none for an inactive or non-staff
    user, otherwise those it holds ``access_organization`` on (one query when filtered on, a subquery)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or not user.is_staff:
        return Organization.objects.none()
    if user.is_superuser:
        return Organization.objects.all()
    return get_objects_for_user(user, ACCESS_PERMISSION, klass=Organization, accept_global_perms=False, with_superuser=False)


def staff_may_access(user, organization) -> bool:
    """Whether ``user`` may see and act on ``organization`` (an instance or its id)."""
    if organization is None:
        return False
    organization_id = getattr(organization, "pk", organization)
    return staff_organizations(user).filter(pk=organization_id).exists()


def staff_may(user, capability: str, organization) -> bool:
    """Whether ``user`` has the role capability ``capability`` (a codename of ``Organization.Meta.permissions``,
    e.g. ``"refund_orders"``) and may access ``organization``."""
    return user.has_perm(f"organizations.{capability}") and staff_may_access(user, organization)


def staff_require(user, capability: str, organization) -> None:
    """Raise ``NotPermitted`` unless ``staff_may(user, capability, organization)``."""
    if not staff_may(user, capability, organization):
        raise NotPermitted(f"You may not {capability.replace('_', ' ')} for this organization.")


def _role_group(role: str) -> Group:
    if role not in ROLES:
        raise PolarRequestValidationError.single(["role"], f"Unknown role {role!r}: one of {', '.join(ROLES)}.")
    return ensure_staff_roles()[role]


def _require_assigner(actor) -> None:
    # ``actor`` None: a command run by the operator of the machine (bootstrapping), audited as the system.
    if actor is not None and not actor.has_perm("organizations.assign_staff"):
        raise NotPermitted("You may not grant or revoke staff access.")


def staff_user_get_or_create(*, email: str, password: str | None = None) -> tuple[object, str | None]:
    """The staff user with this e-mail (username = e-mail), created when missing. Returns (user, the
    generated password when one was generated, else None). An existing user's password is set only when
    ``password`` is given."""
    email = email.strip().lower()
    if "@" not in email:
        raise PolarRequestValidationError.single(["email"], "A staff member is named by an e-mail address.")
    user_model = get_user_model()
    user = user_model.objects.filter(email__iexact=email).order_by("pk").first()
    if password:
        try:
            validate_password(password, user or user_model(username=email, email=email))
        except ValidationError as error:
            raise PolarRequestValidationError.single(["password"], " ".join(error.messages)) from error
    generated = None
    if user is None:
        generated = None if password else secrets.token_urlsafe(18)
        user = user_model(username=email, email=email, is_staff=True)
        user.set_password(password or generated)
        user.save()
    else:
        if password:
            user.set_password(password)
        user.is_staff = True
        user.save()
    return user, generated


def staff_access_grant(*, actor, user, role: str, organization: Organization, reason: str) -> None:
    """Give ``user`` the role ``role`` and access to ``organization`` (marks the user staff). Idempotent.
    ``actor`` needs ``assign_staff`` (a superuser); None means the operator's command. Audited with the reason."""
    _require_assigner(actor)
    group = _role_group(role)
    with staff_action(actor=actor, action="staff_access_grant", reason=reason), transaction.atomic():
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        user.groups.add(group)
        assign_perm(ACCESS_PERMISSION, user, organization)


def staff_access_revoke(*, actor, user, organization: Organization, reason: str, role: str | None = None) -> None:
    """Take ``organization`` away from ``user``; with ``role``, the role too. A staff member left with no
    organization loses every role (and the admin: ``is_staff`` off). Idempotent; audited with the reason."""
    _require_assigner(actor)
    group = _role_group(role) if role else None
    with staff_action(actor=actor, action="staff_access_revoke", reason=reason), transaction.atomic():
        remove_perm(ACCESS_PERMISSION, user, organization)
        if group is not None:
            user.groups.remove(group)
        if not user.is_superuser and not staff_organizations(user).exists():
            user.groups.remove(*Group.objects.filter(name__in=ROLES.values()))
            user.is_staff = False
            user.save(update_fields=["is_staff"])
