"""Benefits and benefit grants.

Other areas call two functions here:
- ``benefit_grants_create_for(customer=, product=, subscription_id= | order_id=)`` when a subscription
  starts or a one-time order is paid;
- ``benefit_grants_revoke_for(customer=, subscription_id= | order_id=)`` when it ends or is refunded.
Both are idempotent: a second call creates or revokes nothing and emits nothing.
"""

from __future__ import annotations

import uuid

import structlog
from django.db import IntegrityError, transaction

from billing.benefits.payloads import BenefitGrantOutput
from billing.catalog.payloads import BenefitOutput
from billing.catalog.services import product_webhook_emit
from billing.license_keys import services as license_key_services
from billing.models import Benefit, BenefitGrant, Meter, Product, ProductBenefit
from polar import clock
from polar.errors import NotPermitted, PolarRequestValidationError
from polar.webhooks.events import WebhookEventType
from polar.webhooks.services import webhook_event_emit

logger = structlog.get_logger(__name__)

_UNSET = object()


def _benefit_output(benefit: Benefit) -> dict:

    return BenefitOutput(benefit).data


def _grant_output(grant: BenefitGrant) -> dict:

    return BenefitGrantOutput(grant).data


def _normalize_properties(*, organization, benefit_type: str, properties: dict) -> tuple[dict, Meter | None]:
    """Validated properties as stored, plus the meter of a meter_credit benefit."""
    properties = dict(properties or {})
    if benefit_type == Benefit.Type.CUSTOM:
        return {"note": properties.get("note") or None}, None
    if benefit_type == Benefit.Type.FEATURE_FLAG:
        return {}, None
    if benefit_type == Benefit.Type.METER_CREDIT:
        meter = Meter.objects.filter(organization=organization, pk=properties.get("meter_id"), archived_at__isnull=True).first()
        if meter is None:
            raise PolarRequestValidationError.single(["body", "properties", "meter_id"], "Meter does not exist.")
        units = properties.get("units")
        if not isinstance(units, int) or units < 1:
            raise PolarRequestValidationError.single(
                ["body", "properties", "units"], "Input should be greater than 0", "greater_than"
            )
        return {"units": units, "rollover": bool(properties.get("rollover")), "meter_id": str(meter.pk)}, meter
    if benefit_type == Benefit.Type.LICENSE_KEYS:
        expires = properties.get("expires")
        activations = properties.get("activations")
        return (
            {
                "prefix": properties.get("prefix") or None,
                "expires": {"ttl": expires["ttl"], "timeframe": expires["timeframe"]} if expires else None,
                "activations": (
                    {"limit": activations["limit"], "enable_customer_admin": bool(activations["enable_customer_admin"])}
                    if activations
                    else None
                ),
                "limit_usage": properties.get("limit_usage"),
            },
            None,
        )
    raise PolarRequestValidationError.single(["body", "type"], f"Unsupported benefit type {benefit_type!r}.", "enum")


def benefit_create(
    *,
    organization,
    type: str,
    description: str,
    properties: dict | None = None,
    metadata: dict | None = None,
    visibility: str = Benefit.Visibility.PUBLIC,
) -> Benefit:
    """Create a benefit and emit ``benefit.created``. A meter_credit meter must be the organization's."""
    normalized, meter = _normalize_properties(organization=organization, benefit_type=type, properties=properties or {})
    with transaction.atomic():
        benefit = Benefit.objects.create(
            organization=organization,
            type=type,
            description=description,
            properties=normalized,
            meter=meter,
            metadata=metadata or {},
            visibility=visibility,
        )
        webhook_event_emit(organization=organization, type=WebhookEventType.BENEFIT_CREATED, data=_benefit_output(benefit))
    return benefit


def benefit_update(*, benefit: Benefit, description=_UNSET, properties=_UNSET, metadata=_UNSET, visibility=_UNSET) -> Benefit:
    """Change a benefit (its type never changes) and emit ``benefit.updated``. Locks the benefit row.

    Existing grants keep what they were granted (a license key keeps its limits); new grants use the
    new properties.
    """
    with transaction.atomic():
        benefit = Benefit.objects.select_for_update().get(pk=benefit.pk)
        fields = []
        if properties is not _UNSET:
            benefit.properties, benefit.meter = _normalize_properties(
                organization=benefit.organization, benefit_type=benefit.type, properties=properties
            )
            fields += ["properties", "meter"]
        if description is not _UNSET:
            benefit.description = description
            fields.append("description")
        if metadata is not _UNSET:
            benefit.metadata = metadata or {}
            fields.append("metadata")
        if visibility is not _UNSET:
            benefit.visibility = visibility
            fields.append("visibility")
        benefit.modified_at = clock.now()
        benefit.save(update_fields=[*fields, "modified_at"])
        webhook_event_emit(
            organization=benefit.organization, type=WebhookEventType.BENEFIT_UPDATED, data=_benefit_output(benefit)
        )
    return benefit


def benefit_delete(*, benefit: Benefit) -> Benefit:
    """Soft-delete a benefit: detach it from its products and revoke its active grants.

    Emits ``benefit.updated`` (Polar has no ``benefit.deleted``), ``product.updated`` for each product it
    left and ``benefit_grant.revoked`` per grant. Idempotent: deleting a deleted benefit changes nothing.
    Raises ``NotPermitted`` for a benefit that is not ``deletable``.
    """
    with transaction.atomic():
        benefit = Benefit.objects.select_for_update().get(pk=benefit.pk)
        if not benefit.deletable:
            raise NotPermitted("This benefit cannot be deleted.")
        if benefit.deleted_at is not None:
            return benefit
        now = clock.now()
        benefit.deleted_at = now
        benefit.modified_at = now
        benefit.save(update_fields=["deleted_at", "modified_at"])
        product_ids = []
        for link in ProductBenefit.objects.filter(benefit=benefit).order_by("pk"):
            product_ids.append(link.product_id)
            link.delete()
        grants = BenefitGrant.objects.select_for_update().filter(benefit=benefit, revoked_at__isnull=True).order_by("pk")
        for grant in grants:
            _grant_revoke(grant, now=now)
        webhook_event_emit(
            organization=benefit.organization, type=WebhookEventType.BENEFIT_UPDATED, data=_benefit_output(benefit)
        )
        for product in Product.objects.filter(pk__in=product_ids):
            product_webhook_emit(product, WebhookEventType.PRODUCT_UPDATED)
    return benefit


# --- grants -----------------------------------------------------------------


def _scope_filter(*, subscription_id, order_id) -> dict:
    if subscription_id is not None:
        return {"subscription_id": subscription_id}
    return {"subscription_id": None, "order_id": order_id}


def _grant_properties(grant: BenefitGrant, now) -> dict:
    benefit = grant.benefit
    if benefit.type == Benefit.Type.LICENSE_KEYS:
        key = license_key_services.license_key_issue(grant=grant)
        return {"license_key_id": str(key.pk), "display_key": key.display_key}
    if benefit.type == Benefit.Type.METER_CREDIT:
        # The credit itself is read by the usage module from active grants (see meter_credit_grants_active).
        return {
            "last_credited_meter_id": str(benefit.meter_id),
            "last_credited_units": benefit.properties["units"],
            "last_credited_at": now.isoformat().replace("+00:00", "Z"),
        }
    return {}


def benefit_grants_create_for(
    *, customer, product: Product, subscription_id: uuid.UUID | None = None, order_id: uuid.UUID | None = None
) -> list[BenefitGrant]:
    """Grant the customer every live benefit of ``product`` for this subscription (or order).

    Idempotent: a benefit that already has an active grant for the same (customer, subscription|order) is
    skipped, so calling twice creates nothing the second time; the partial unique indexes settle races
    (the loser's insert fails inside a savepoint and counts as "already granted"). License-key benefits
    issue a key per grant (re-granting after a revocation for the same subscription gives the customer
    their old key back). Emits ``benefit_grant.created`` per new grant, in the caller's transaction.
    Returns the grants created by this call.

    Never fails because of one benefit (this runs after the customer paid): a benefit that cannot be
    granted (its settings cannot be issued, the database refuses a value) is rolled back to a savepoint
    and recorded as a grant with ``error`` and no ``granted_at`` -- not active, nothing emitted -- which
    the next call, or ``benefit_grant_retry`` from the fulfilment sweep, grants again.
    """
    if subscription_id is None and order_id is None:
        raise ValueError("benefit_grants_create_for needs a subscription_id or an order_id")
    if customer.organization_id != product.organization_id:
        raise ValueError("customer and product belong to different organizations")
    created = []
    with transaction.atomic():
        benefits = [
            link.benefit
            for link in ProductBenefit.objects.filter(product=product, benefit__deleted_at__isnull=True)
            .select_related("benefit")
            .order_by("order", "created_at")
        ]
        scope = _scope_filter(subscription_id=subscription_id, order_id=order_id)
        for benefit in benefits:
            existing = BenefitGrant.objects.filter(customer=customer, benefit=benefit, revoked_at__isnull=True, **scope).first()
            if existing is not None and existing.granted_at is not None:
                continue
            grant = _grant_one(
                customer=customer, benefit=benefit, subscription_id=subscription_id, order_id=order_id, failed=existing
            )
            if grant is not None:
                created.append(grant)
    return created


def _grant_one(*, customer, benefit: Benefit, subscription_id, order_id, failed: BenefitGrant | None) -> BenefitGrant | None:
    """Grant one benefit in a savepoint (into ``failed``, an earlier grant recorded with an error, when
    given). Returns the grant made; None when it was already granted or could not be (then recorded)."""
    now = clock.now()
    try:
        with transaction.atomic():
            if failed is None:
                grant = BenefitGrant.objects.create(
                    organization_id=benefit.organization_id,
                    customer=customer,
                    benefit=benefit,
                    subscription_id=subscription_id,
                    order_id=order_id,
                    granted_at=now,
                )
            else:
                grant = BenefitGrant.objects.select_for_update().get(pk=failed.pk)
                if grant.granted_at is not None or grant.revoked_at is not None:
                    return None
                grant.granted_at = now
            grant.benefit = benefit
            grant.properties = _grant_properties(grant, now)
            grant.error = None
            grant.modified_at = now
            grant.save(update_fields=["granted_at", "properties", "error", "modified_at"])
    except IntegrityError:
        if (
            failed is None
            and BenefitGrant.objects.filter(
                customer=customer,
                benefit=benefit,
                revoked_at__isnull=True,
                **_scope_filter(subscription_id=subscription_id, order_id=order_id),
            ).exists()
        ):
            return None  # a concurrent call granted it first: already done
        _record_grant_error(customer=customer, benefit=benefit, subscription_id=subscription_id, order_id=order_id, failed=failed)
        return None
    except Exception:  # recorded on the grant and retried; the order stands
        _record_grant_error(customer=customer, benefit=benefit, subscription_id=subscription_id, order_id=order_id, failed=failed)
        return None
    webhook_event_emit(organization=benefit.organization, type=WebhookEventType.BENEFIT_GRANT_CREATED, data=_grant_output(grant))
    return grant


def _record_grant_error(*, customer, benefit: Benefit, subscription_id, order_id, failed: BenefitGrant | None) -> None:
    import sys
    import traceback

    exc = sys.exc_info()[1]
    logger.warning(
        "benefit_grant.failed",
        benefit_id=str(benefit.id),
        customer_id=str(customer.id),
        error=f"{type(exc).__name__}: {exc}",
        traceback="".join(traceback.format_exception(exc))[-2000:] if exc else None,
    )
    now = clock.now()
    attempts = int(((failed.error or {}) if failed is not None else {}).get("attempts") or 0) + 1
    error = {
        "type": type(exc).__name__ if exc else "Error",
        "message": str(exc)[:500],
        "attempts": attempts,
        "at": now.isoformat(),
    }
    try:
        with transaction.atomic():
            if failed is not None:
                row = BenefitGrant.objects.select_for_update().get(pk=failed.pk)
                if row.granted_at is None and row.revoked_at is None:
                    row.error = error
                    row.modified_at = now
                    row.save(update_fields=["error", "modified_at"])
            else:
                BenefitGrant.objects.create(
                    organization_id=benefit.organization_id,
                    customer=customer,
                    benefit=benefit,
                    subscription_id=subscription_id,
                    order_id=order_id,
                    granted_at=None,
                    error=error,
                )
    except IntegrityError:
        pass  # a concurrent call recorded (or made) the grant


def benefit_grant_retry(*, grant: BenefitGrant) -> bool:
    """Grant again a grant recorded with an error (the fulfilment sweep). True when it is now granted.
    Idempotent: a grant already granted or revoked is left as it is (True / False)."""
    grant.refresh_from_db()
    if grant.revoked_at is not None:
        return False
    if grant.granted_at is not None:
        return True
    with transaction.atomic():
        benefit = Benefit.objects.select_related("organization").get(pk=grant.benefit_id)
        if benefit.deleted_at is not None:
            return False
        made = _grant_one(
            customer=grant.customer, benefit=benefit, subscription_id=grant.subscription_id, order_id=grant.order_id, failed=grant
        )
    return made is not None


def _grant_revoke(grant: BenefitGrant, *, now) -> BenefitGrant:
    """Revoke one locked, active grant (and its license key); emits ``benefit_grant.revoked``."""
    grant.revoked_at = now
    grant.modified_at = now
    grant.save(update_fields=["revoked_at", "modified_at"])
    if grant.benefit.type == Benefit.Type.LICENSE_KEYS:
        license_key_services.license_key_revoke(grant=grant)
    if grant.granted_at is None:
        return grant  # recorded with an error, never granted: nothing was announced, nothing to take back
    webhook_event_emit(
        organization=grant.benefit.organization, type=WebhookEventType.BENEFIT_GRANT_REVOKED, data=_grant_output(grant)
    )
    return grant


def benefit_grants_revoke_for(
    *, customer, subscription_id: uuid.UUID | None = None, order_id: uuid.UUID | None = None, benefits=None
) -> list[BenefitGrant]:
    """Revoke the customer's active grants for this subscription (or order), optionally only for ``benefits``.

    Locks the grants (ordered by id) before changing them. Idempotent: revoked grants are not active,
    so a second call finds nothing and emits nothing. Returns the grants revoked by this call.
    """
    if subscription_id is None and order_id is None:
        raise ValueError("benefit_grants_revoke_for needs a subscription_id or an order_id")
    with transaction.atomic():
        grants = (
            BenefitGrant.objects.select_for_update()
            .filter(
                customer=customer, revoked_at__isnull=True, **_scope_filter(subscription_id=subscription_id, order_id=order_id)
            )
            .order_by("pk")
        )
        if benefits is not None:
            grants = grants.filter(benefit__in=benefits)
        grants = list(grants)
        now = clock.now()
        for grant in grants:
            grant.benefit = Benefit.objects.select_related("organization").get(pk=grant.benefit_id)
            _grant_revoke(grant, now=now)
    return grants


def benefit_grants_sync_for(*, customer, product: Product, subscription_id: uuid.UUID) -> tuple[list, list]:
    """Bring a subscription's grants in line with its product's current benefits (e.g. after a plan change
    or after benefits were attached/detached): grant the missing ones, revoke the ones no longer offered.
    Idempotent. Returns ``(created, revoked)``."""
    with transaction.atomic():
        wanted = set(
            ProductBenefit.objects.filter(product=product, benefit__deleted_at__isnull=True).values_list("benefit_id", flat=True)
        )
        stale = list(
            BenefitGrant.objects.filter(customer=customer, subscription_id=subscription_id, revoked_at__isnull=True)
            .exclude(benefit_id__in=wanted)
            .values_list("benefit_id", flat=True)
        )
        revoked = benefit_grants_revoke_for(customer=customer, subscription_id=subscription_id, benefits=stale) if stale else []
        created = benefit_grants_create_for(customer=customer, product=product, subscription_id=subscription_id)
    return created, revoked
