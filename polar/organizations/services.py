"""Organizations and their access tokens. The admin, the CLI and tests all come through here."""

import datetime as dt

from django.db import transaction
from django.utils.text import slugify

from polar import clock, ratelimit
from polar.errors import PolarError, PolarRequestValidationError

from .models import ALL_SCOPES, ORGANIZATION_RATE_LIMIT_SCOPES, Organization, OrganizationAccessToken, generate_token, hash_token


def organization_get_or_create(*, slug: str, name: str | None = None) -> tuple[Organization, bool]:
    """Create the organization with this slug unless it exists. Idempotent by slug."""
    clean_slug = slugify(slug)
    if not clean_slug or clean_slug != slug:
        raise PolarRequestValidationError.single(["slug"], "Slug must be lowercase letters, digits and hyphens.")
    organization, created = Organization.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    return organization, created


@transaction.atomic
def access_token_create(
    *,
    organization: Organization,
    comment: str = "",
    scopes: list[str] | None = None,
    expires_in: dt.timedelta | None = None,
) -> tuple[OrganizationAccessToken, str]:
    """Mint a token. Returns the row and the raw token, which is never stored and cannot be shown again."""
    scopes = list(ALL_SCOPES if scopes is None else scopes)
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise PolarRequestValidationError.single(["scopes"], f"Unknown scopes: {', '.join(unknown)}")
    raw = generate_token()
    token = OrganizationAccessToken.objects.create(
        organization=organization,
        comment=comment,
        token_hash=hash_token(raw),
        token_hint=raw[: len("polar_oat_") + 6],
        scopes=scopes,
        expires_at=(clock.now() + expires_in) if expires_in else None,
    )
    return token, raw


@transaction.atomic
def access_token_revoke(*, token: OrganizationAccessToken) -> OrganizationAccessToken:
    """Revoke a token. Idempotent: revoking a revoked token keeps the first revocation time."""
    token = OrganizationAccessToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.modified_at = token.revoked_at
        token.save(update_fields=["revoked_at", "modified_at"])
    return token


# last_used_at is written at most once a minute per token, to keep the hot path free of writes.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def access_token_touch(*, token: OrganizationAccessToken) -> None:
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # A conditional UPDATE: no lock, no audit entry (last_used_at is excluded from the audit trail).
        OrganizationAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


_UPDATABLE = ("name", "email", "website", "default_presentment_currency", "proration_behavior", "allow_customer_updates")


def organization_update(*, organization: Organization, **changes) -> Organization:
    """The merchant's own settings (``PATCH /v1/organizations/{id}``): only the columns in ``_UPDATABLE``;
    the row is locked for the change."""
    unknown = set(changes) - set(_UPDATABLE)
    if unknown:
        raise TypeError(f"not updatable: {sorted(unknown)}")
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=organization.pk)
        for name, value in changes.items():
            setattr(organization, name, value)
        organization.modified_at = clock.now()
        organization.save(update_fields=[*changes, "modified_at"])
    return organization


def organization_rate_limits_set(*, organization: Organization, changes: dict[str, str | None]) -> Organization:
    """Set (a rate such as ``"5000/minute"``, or ``"off"``) or remove (``None``: the setting applies again) this
    organization's own rate limits, scope by scope. Validates every scope and rate before writing any; locks the
    row; the change is in the audit log. Takes effect on the next request (the throttle reads the row the
    authentication loaded)."""
    errors = []
    for scope, rate in changes.items():
        if scope not in ORGANIZATION_RATE_LIMIT_SCOPES:
            errors.append(f"unknown scope {scope!r} (one of {', '.join(ORGANIZATION_RATE_LIMIT_SCOPES)})")
            continue
        if rate is not None:
            try:
                ratelimit.parse_rate(rate)
            except ValueError as error:
                errors.append(str(error))
    if errors:
        raise PolarRequestValidationError.single(["rate_limits"], "; ".join(errors))
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=organization.pk)
        limits = dict(organization.rate_limits or {})
        for scope, rate in changes.items():
            if rate is None:
                limits.pop(scope, None)
            else:
                limits[scope] = rate.strip().lower()
        organization.rate_limits = limits
        organization.modified_at = clock.now()
        organization.save(update_fields=["rate_limits", "modified_at"])
    return organization


class CheckoutsBlocked(PolarError):
    status_code = 403
    error = "CheckoutsBlocked"

    def default_detail(self):
        return "This merchant cannot accept new checkouts at the moment."


def organization_require_checkouts_open(organization: Organization) -> None:
    """Raise ``CheckoutsBlocked`` (403) when the risk team blocked the organization's new checkouts.
    ``checkout_create`` calls it first, so the API, checkout links and the hosted pages all refuse."""
    if organization.checkouts_blocked:
        raise CheckoutsBlocked()


def organization_checkouts_block(*, organization: Organization, blocked: bool, reason: str) -> Organization:
    """Block (or unblock) new checkouts of the organization (the risk team, from the back office). Locks the
    row; the reason is kept on it. Audited with the staff actor and reason (``polar.audit.staff_action``,
    opened by the caller). Idempotent."""
    if not reason or not reason.strip():
        raise PolarRequestValidationError.single(["body", "reason"], "A reason is required.", "missing")
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=organization.pk)
        organization.checkouts_blocked = blocked
        organization.checkouts_blocked_reason = reason.strip()[:255]
        organization.modified_at = clock.now()
        organization.save(update_fields=["checkouts_blocked", "checkouts_blocked_reason", "modified_at"])
    return organization
