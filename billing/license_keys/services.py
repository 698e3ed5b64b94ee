"""License keys: issued per grant of a ``license_keys`` benefit; validated, activated and deactivated by
the merchant's software through the customer-portal endpoints.

Every check-and-change (usage, activations) locks the key row first, so limits hold under concurrency.
"""

from __future__ import annotations

import calendar
import datetime as dt
import uuid

from django.db import transaction

from billing.models import BenefitGrant, LicenseKey, LicenseKeyActivation
from polar import clock
from polar.errors import (
    NotPermitted,
    PolarError,
    PolarRequestValidationError,
    ResourceNotFound,
)


class LicenseKeyBadRequest(PolarError):
    status_code = 400
    error = "BadRequest"


def _add_months(value: dt.datetime, months: int) -> dt.datetime:
    month_index = value.month - 1 + months
    year, month = value.year + month_index // 12, month_index % 12 + 1
    return value.replace(year=year, month=month, day=min(value.day, calendar.monthrange(year, month)[1]))


def license_key_expiry(*, start: dt.datetime, expires: dict | None) -> dt.datetime | None:
    if not expires:
        return None
    ttl, timeframe = expires["ttl"], expires["timeframe"]
    if timeframe == "day":
        return start + dt.timedelta(days=ttl)
    if timeframe == "month":
        return _add_months(start, ttl)
    return _add_months(start, 12 * ttl)


def _generate_key(prefix: str | None) -> str:
    body = str(uuid.uuid4()).upper()
    return f"{prefix.upper()}-{body}" if prefix else body


def license_key_issue(*, grant: BenefitGrant) -> LicenseKey:
    """The key of a new grant: the customer's revoked key from an earlier grant of the same subscription
    (or order) comes back to life; otherwise a new key is generated with the benefit's current limits.
    Call inside the grant's transaction."""
    benefit = grant.benefit
    scope = {"grant__subscription_id": grant.subscription_id} if grant.subscription_id else {"grant__order_id": grant.order_id}
    previous = (
        LicenseKey.objects.select_for_update()
        .filter(customer=grant.customer, benefit=benefit, status=LicenseKey.Status.REVOKED, **scope)
        .order_by("-created_at")
        .first()
    )
    now = clock.now()
    if previous is not None:
        previous.grant = grant
        previous.status = LicenseKey.Status.GRANTED
        previous.modified_at = now
        previous.save(update_fields=["grant", "status", "modified_at"])
        return previous
    properties = benefit.properties or {}
    activations = properties.get("activations") or None
    return LicenseKey.objects.create(
        organization_id=benefit.organization_id,
        customer=grant.customer,
        benefit=benefit,
        grant=grant,
        key=_generate_key(properties.get("prefix")),
        limit_activations=activations["limit"] if activations else None,
        limit_usage=properties.get("limit_usage"),
        expires_at=license_key_expiry(start=now, expires=properties.get("expires")),
    )


def license_key_revoke(*, grant: BenefitGrant) -> LicenseKey | None:
    """Revoke the key of a revoked grant. Idempotent."""
    key = LicenseKey.objects.select_for_update().filter(grant=grant).first()
    if key is not None and key.status != LicenseKey.Status.REVOKED:
        key.status = LicenseKey.Status.REVOKED
        key.modified_at = clock.now()
        key.save(update_fields=["status", "modified_at"])
    return key


_UNSET = object()


def license_key_update(
    *, license_key: LicenseKey, status=_UNSET, usage=_UNSET, limit_activations=_UNSET, limit_usage=_UNSET, expires_at=_UNSET
) -> LicenseKey:
    """The merchant's manual changes (disable a key, reset usage, raise limits). Locks the key row.

    ``usage`` cannot exceed ``limit_usage``; a lower ``limit_activations`` does not remove live
    activations, it only stops new ones.
    """
    with transaction.atomic():
        license_key = LicenseKey.objects.select_for_update().select_related("customer").get(pk=license_key.pk)
        fields = []
        for name, value in (
            ("status", status),
            ("usage", usage),
            ("limit_activations", limit_activations),
            ("limit_usage", limit_usage),
            ("expires_at", expires_at),
        ):
            if value is not _UNSET:
                setattr(license_key, name, value)
                fields.append(name)
        if license_key.limit_usage is not None and license_key.usage > license_key.limit_usage:
            loc = "usage" if usage is not _UNSET else "limit_usage"
            raise PolarRequestValidationError.single(["body", loc], "usage cannot exceed limit_usage.")
        license_key.modified_at = clock.now()
        license_key.save(update_fields=[*fields, "modified_at"])
    return license_key


class RotateNotPermitted(PolarError):
    status_code = 400
    error = "RotateNotPermitted"


def license_key_rotate(*, license_key: LicenseKey) -> LicenseKey:
    """A new key string for the same license key (Polar's ``rotate``): the previous string stops validating at
    once; status, usage, limits, expiry and activations are kept. Only a granted or disabled key rotates."""
    with transaction.atomic():
        license_key = LicenseKey.objects.select_for_update().select_related("customer", "benefit").get(pk=license_key.pk)
        if license_key.status not in (LicenseKey.Status.GRANTED, LicenseKey.Status.DISABLED):
            raise RotateNotPermitted(
                f"License key cannot be rotated in its current status ({license_key.status}). "
                "Allowed statuses: disabled, granted."
            )
        license_key.key = _generate_key((license_key.benefit.properties or {}).get("prefix"))
        license_key.modified_at = clock.now()
        license_key.save(update_fields=["key", "modified_at"])
    return license_key


def _locked_key(*, organization, key: str) -> LicenseKey:
    license_key = (
        LicenseKey.objects.select_for_update().select_related("customer").filter(organization=organization, key=key).first()
    )
    if license_key is None:
        raise ResourceNotFound("License key not found.")
    return license_key


def _check_usable(license_key: LicenseKey, now) -> None:
    if license_key.status != LicenseKey.Status.GRANTED:
        raise ResourceNotFound("License key is no longer valid.")
    if license_key.expires_at is not None and license_key.expires_at <= now:
        raise ResourceNotFound("License key has expired.")


def license_key_validate(
    *,
    organization,
    key: str,
    activation_id: uuid.UUID | None = None,
    benefit_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    increment_usage: int | None = None,
    conditions: dict | None = None,
) -> tuple[LicenseKey, LicenseKeyActivation | None]:
    """Check a key (and optionally one of its activations) and count the validation.

    404 ``ResourceNotFound`` for an unknown, revoked, disabled or expired key, a key of another benefit or
    customer than asked, or an unknown activation; 400 when ``increment_usage`` would pass ``limit_usage``
    (nothing is counted then). Locks the key row.
    """
    with transaction.atomic():
        license_key = _locked_key(organization=organization, key=key)
        now = clock.now()
        _check_usable(license_key, now)
        if benefit_id is not None and license_key.benefit_id != benefit_id:
            raise ResourceNotFound("License key not found.")
        if customer_id is not None and license_key.customer_id != customer_id:
            raise ResourceNotFound("License key not found.")
        activation = None
        if activation_id is not None:
            activation = license_key.activations.filter(pk=activation_id).first()
            if activation is None:
                raise ResourceNotFound("License key activation not found.")
            if activation.conditions and conditions != activation.conditions:
                raise LicenseKeyBadRequest("License key does not match the required conditions.")
        fields = ["validations", "last_validated_at", "modified_at"]
        if increment_usage:
            if license_key.limit_usage is not None and license_key.usage + increment_usage > license_key.limit_usage:
                remaining = license_key.limit_usage - license_key.usage
                raise LicenseKeyBadRequest(f"License key only has {remaining} more usages.")
            license_key.usage += increment_usage
            fields.append("usage")
        license_key.validations += 1
        license_key.last_validated_at = now
        license_key.modified_at = now
        license_key.save(update_fields=fields)
    return license_key, activation


def license_key_activate(
    *, organization, key: str, label: str, meta: dict | None = None, conditions: dict | None = None
) -> LicenseKeyActivation:
    """Add an activation. 403 ``NotPermitted`` when the key has no activation limit configured (Polar's
    rule: activations must be enabled on the benefit) or the limit is reached. Locks the key row, so two
    concurrent activations cannot both take the last slot."""
    with transaction.atomic():
        license_key = _locked_key(organization=organization, key=key)
        _check_usable(license_key, clock.now())
        if license_key.limit_activations is None:
            raise NotPermitted("This license key does not support activations.")
        if license_key.activations.count() >= license_key.limit_activations:
            raise NotPermitted(f"License key only supports {license_key.limit_activations} activations.")
        return LicenseKeyActivation.objects.create(
            license_key=license_key, label=label, meta=meta or {}, conditions=conditions or {}
        )


def license_key_deactivate(*, organization, key: str, activation_id: uuid.UUID) -> None:
    """Remove an activation, freeing its slot. 404 if the key or the activation is unknown. Locks the key."""
    with transaction.atomic():
        license_key = _locked_key(organization=organization, key=key)
        activation = license_key.activations.filter(pk=activation_id).first()
        if activation is None:
            raise ResourceNotFound("License key activation not found.")
        activation.delete()
