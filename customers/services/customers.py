"""Writing customers. The API, the admin and other services create, change and delete customers here.

Uniqueness (email ignoring case, external id; both per organization, among customers not deleted)
is checked before writing so that the 422 is friendly, and enforced by the partial unique indexes
so that a concurrent duplicate fails the same way instead of slipping through.
"""

import hashlib

from django.db import IntegrityError, transaction

from customers.models import Customer, Member
from customers.payloads import CustomerOutput
from customers.services.members import member_create, members_delete_for_customer
from customers.tax_ids import InvalidTaxID, validate_tax_id
from polar import clock
from polar.api.metadata import validate_metadata
from polar.errors import PolarRequestValidationError, ResourceNotFound
from polar.webhooks.events import WebhookEventType
from polar.webhooks.services import webhook_event_emit

EMAIL_TAKEN = "A customer with this email address already exists."
EXTERNAL_ID_TAKEN = "A customer with this external ID already exists."

_CONSTRAINT_FIELDS = {
    "customer_email_unique_per_organization": ("email", EMAIL_TAKEN),
    "customer_external_id_unique_per_organization": ("external_id", EXTERNAL_ID_TAKEN),
}

# Fields a PATCH may set directly once the rules below have been applied.
_PLAIN_FIELDS = ("name", "locale", "metadata")


def _error(field: str, msg: str, value=None, type_: str = "value_error") -> dict:
    error = {"loc": ["body", field], "msg": msg, "type": type_}
    if value is not None:
        error["input"] = value
    return error


def _active(organization):
    return Customer.objects.filter(organization=organization, deleted_at__isnull=True)


def _email_taken(*, organization, email: str, exclude_id=None) -> bool:
    queryset = _active(organization).filter(email__iexact=email)
    if exclude_id is not None:
        queryset = queryset.exclude(pk=exclude_id)
    return queryset.exists()


def _external_id_taken(*, organization, external_id: str, exclude_id=None) -> bool:
    queryset = _active(organization).filter(external_id=external_id)
    if exclude_id is not None:
        queryset = queryset.exclude(pk=exclude_id)
    return queryset.exists()


def _save_unique(customer: Customer, **save_kwargs) -> None:
    """Save inside a savepoint, turning a lost uniqueness race into the same 422 as the pre-check.

    The savepoint keeps the caller's transaction usable after the IntegrityError, so nothing of the
    failed change is written and no webhook row is left behind (the caller raises before emitting).
    """
    try:
        with transaction.atomic():
            customer.save(**save_kwargs)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        if constraint in _CONSTRAINT_FIELDS:
            field, msg = _CONSTRAINT_FIELDS[constraint]
            raise PolarRequestValidationError([_error(field, msg, getattr(customer, field))]) from exc
        raise


def _tax_id(*, tax_id: str | None, billing_address: dict | None) -> list | None:
    if tax_id is None:
        return None
    if not billing_address or not billing_address.get("country"):
        raise PolarRequestValidationError([_error("billing_address", "Country is required to validate tax ID.", type_="missing")])
    try:
        return validate_tax_id(tax_id, billing_address["country"])
    except InvalidTaxID:
        raise PolarRequestValidationError([_error("tax_id", "Invalid tax ID.", tax_id, type_="invalid")])


def _emit(customer: Customer, type_: WebhookEventType) -> None:
    # Imported here: the output serializer belongs to the API layer, which imports this module.

    webhook_event_emit(organization=customer.organization, type=type_, data=CustomerOutput(customer).data)


@transaction.atomic
def customer_create(
    *,
    organization,
    type: str = Customer.Type.INDIVIDUAL,
    email: str | None = None,
    name: str | None = None,
    billing_address: dict | None = None,
    tax_id: str | None = None,
    locale: str | None = None,
    external_id: str | None = None,
    metadata: dict | None = None,
    owner: dict | None = None,
) -> Customer:
    """Create a customer and emit ``customer.created`` in the same transaction.

    Individuals need an email. A duplicate email (ignoring case) or external id among the
    organization's customers that are not deleted answers 422 naming the field, whether it is found
    by the pre-check or by the unique index (a concurrent create); nothing is written then.
    Not idempotent by itself: retries are made safe by the API's Idempotency-Key, or by the
    external id (a second create with it fails with 422). ``owner`` (Polar's ``MemberOwnerCreate``:
    email, name, external_id) adds the customer's owner member in the same transaction (and emits
    ``member.created`` after ``customer.created``). Billing creates customers through
    ``billing.usage.services.customer_create``, which also links the usage events ingested earlier.
    """
    if type not in Customer.Type.values:
        raise PolarRequestValidationError([_error("type", "Input should be 'individual' or 'team'", type, "enum")])
    if type == Customer.Type.INDIVIDUAL and not email:
        raise PolarRequestValidationError([_error("email", "Field required", type_="missing")])
    errors = []
    if email and _email_taken(organization=organization, email=email):
        errors.append(_error("email", EMAIL_TAKEN, email))
    if external_id is not None and _external_id_taken(organization=organization, external_id=external_id):
        errors.append(_error("external_id", EXTERNAL_ID_TAKEN, external_id))
    if errors:
        raise PolarRequestValidationError(errors)

    customer = Customer(
        organization=organization,
        type=type,
        email=email or None,
        name=name,
        billing_address=billing_address,
        tax_id=_tax_id(tax_id=tax_id, billing_address=billing_address),
        locale=locale,
        external_id=external_id,
        metadata=validate_metadata(metadata),
    )
    _save_unique(customer, force_insert=True)
    _emit(customer, WebhookEventType.CUSTOMER_CREATED)
    if owner is not None:
        member_create(
            customer=customer,
            email=owner["email"],
            name=owner.get("name"),
            external_id=owner.get("external_id"),
            role=Member.Role.OWNER,
        )
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, changes: dict, external: bool = False) -> Customer:
    """Apply a PATCH (``changes`` holds only the fields the caller sent) and emit ``customer.updated``.

    Locks the customer row. Polar's rules: a null email means "unchanged"; a new email is unverified
    until confirmed again; a billing address cannot be reset to null once set; an external id, once
    set, cannot change; a team cannot become an individual again. A customer deleted meanwhile is
    ResourceNotFound. ``external=True`` is the
    ``/external/{external_id}`` route, which cannot change the external id or the type.
    """
    customer = Customer.objects.select_for_update().select_related("organization").get(pk=customer.pk)
    if customer.deleted_at is not None:
        raise ResourceNotFound("Customer not found.")  # deleted while the request was on its way
    organization = customer.organization
    changes = dict(changes)
    if external:
        changes.pop("external_id", None)
        changes.pop("type", None)

    errors = []
    email = changes.get("email")
    if email is not None and (customer.email or "").lower() != email.lower():
        if _email_taken(organization=organization, email=email, exclude_id=customer.pk):
            errors.append(_error("email", EMAIL_TAKEN, email))
        customer.email = email
        customer.email_verified = False
    elif email is not None:
        customer.email = email  # same address, maybe another case: keep what the merchant sent

    if "billing_address" in changes and changes["billing_address"] is None and customer.billing_address:
        errors.append(_error("billing_address", "Customer billing address cannot be reset to null once set."))

    if "external_id" in changes and changes["external_id"] != customer.external_id:
        new_external_id = changes["external_id"]
        if customer.external_id is not None:
            errors.append(_error("external_id", "Customer external ID cannot be updated.", new_external_id))
        elif new_external_id is not None and _external_id_taken(
            organization=organization, external_id=new_external_id, exclude_id=customer.pk
        ):
            errors.append(_error("external_id", EXTERNAL_ID_TAKEN, new_external_id))
        else:
            customer.external_id = new_external_id

    new_type = changes.get("type")
    if new_type is not None and new_type != customer.type:
        if customer.type == Customer.Type.TEAM:
            errors.append(_error("type", "Customer type cannot be downgraded from 'team' to 'individual'.", new_type))
        else:
            customer.type = new_type
    if errors:
        raise PolarRequestValidationError(errors)

    if changes.get("billing_address") is not None:
        customer.billing_address = changes["billing_address"]
    if "tax_id" in changes or "billing_address" in changes:
        # Re-derive the tax id format whenever the country may have changed.
        tax_id = changes.get("tax_id") or (customer.tax_id[0] if customer.tax_id else None)
        customer.tax_id = _tax_id(tax_id=tax_id, billing_address=customer.billing_address)
    for field in _PLAIN_FIELDS:
        if field in changes:
            value = changes[field]
            setattr(customer, field, validate_metadata(value) if field == "metadata" else value)

    customer.modified_at = clock.now()
    _save_unique(customer)
    _emit(customer, WebhookEventType.CUSTOMER_UPDATED)
    return customer


def _anonymized(value: str, customer: Customer) -> str:
    return hashlib.sha256(f"{customer.pk}:{value}".encode()).hexdigest()[:32]


@transaction.atomic
def customer_delete(*, customer: Customer, anonymize: bool = False) -> Customer:
    """Soft-delete: set ``deleted_at`` and emit ``customer.deleted``. The email and external id become
    free for a new customer; orders and ledger rows keep pointing at this one.

    Locks the customer row. Idempotent: deleting a deleted customer changes nothing and emits nothing.
    ``anonymize=True`` also replaces personal data (email, name unless a business with a tax id,
    billing name, address) with hashes, for GDPR erasure requests; the external id and tax id stay.
    """
    customer = Customer.objects.select_for_update().select_related("organization").get(pk=customer.pk)
    if customer.deleted_at is not None:
        return customer
    now = clock.now()
    if anonymize:
        if customer.email:
            customer.email = f"{_anonymized(customer.email, customer)}@anonymized.invalid"
        customer.email_verified = False
        if customer.name and not customer.tax_id:
            customer.name = _anonymized(customer.name, customer)
        if customer.billing_name:
            customer.billing_name = _anonymized(customer.billing_name, customer)
        customer.billing_address = None
        customer.metadata = {**customer.metadata, "__anonymized_at": now.isoformat()}
    customer.deleted_at = now
    customer.modified_at = now
    customer.save()
    members_delete_for_customer(customer=customer)
    _emit(customer, WebhookEventType.CUSTOMER_DELETED)
    return customer
