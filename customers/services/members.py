"""Writing members, the people of a customer (Polar's ``/v1/customers/{id}/members``).

Polar's rules: a customer has exactly one owner once it has members; an individual customer has only
its owner; emails and external ids are unique per customer among members not deleted (checked first
for a friendly 422, enforced by partial unique indexes). Every write locks the customer row first, so
that two requests changing the same customer's members (an ownership transfer and a delete, two
creates of the last allowed member) run one after the other.
"""

from django.db import IntegrityError, transaction

from customers.models import Customer, Member
from customers.payloads import member_output
from polar import clock
from polar.errors import NotPermitted, PolarRequestValidationError, ResourceNotFound
from polar.webhooks.events import WebhookEventType
from polar.webhooks.services import webhook_event_emit

EMAIL_TAKEN = "A member with this email already exists for this customer."
EXTERNAL_ID_TAKEN = "A member with this external ID already exists for this customer."
INDIVIDUAL_ONE_MEMBER = (
    "Individual customers can only have one member (the owner). Upgrade to a team customer to add more members."
)


def _invalid(field: str, msg: str, value=None) -> PolarRequestValidationError:
    error = {"loc": ["body", field] if field else ["body"], "msg": msg, "type": "value_error"}
    if value is not None:
        error["input"] = value
    return PolarRequestValidationError([error])


def _lock_customer(customer: Customer) -> Customer:
    locked = Customer.objects.select_for_update().select_related("organization").get(pk=customer.pk)
    if locked.deleted_at is not None:
        raise ResourceNotFound("Customer not found.")
    return locked


def _active(customer) -> "list[Member]":
    return list(Member.objects.filter(customer=customer, deleted_at__isnull=True).order_by("created_at", "pk"))


def _emit(member: Member, organization, type_: WebhookEventType) -> None:
    webhook_event_emit(organization=organization, type=type_, data=member_output(member))


def _insert(member: Member) -> None:
    """Insert in a savepoint: a concurrent duplicate (email, external id) becomes the same 422 as the pre-check."""
    try:
        with transaction.atomic():
            member.save(force_insert=True)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        if constraint == "member_external_id_unique_per_customer":
            raise _invalid("external_id", EXTERNAL_ID_TAKEN, member.external_id) from exc
        if constraint == "member_email_unique_per_customer":
            raise _invalid("email", EMAIL_TAKEN, member.email) from exc
        raise


@transaction.atomic
def member_create(
    *, customer: Customer, email: str, name: str | None = None, external_id: str | None = None, role: str = Member.Role.MEMBER
) -> tuple[Member, bool]:
    """Add a member to a customer and emit ``member.created``; returns ``(member, created)``.

    Locks the customer row. Idempotent by email, as on Polar: a live member with the same email (ignoring
    case) is returned unchanged with ``created=False`` and nothing is emitted. Refused: a second member of
    an individual customer (403 NotPermitted), an external id already used in the customer (422). The
    first member of a customer without an owner becomes its owner whatever ``role`` says (a customer has
    exactly one owner once it has members).
    """
    customer = _lock_customer(customer)
    email = email.strip()
    members = _active(customer)
    for member in members:
        if member.email.lower() == email.lower():
            return member, False
    if customer.type == Customer.Type.INDIVIDUAL and members:
        raise NotPermitted(INDIVIDUAL_ONE_MEMBER)
    if external_id is not None and any(m.external_id == external_id for m in members):
        raise _invalid("external_id", EXTERNAL_ID_TAKEN, external_id)
    if not any(m.role == Member.Role.OWNER for m in members):
        role = Member.Role.OWNER
    member = Member(
        organization_id=customer.organization_id,
        customer=customer,
        email=email,
        name=name,
        external_id=external_id,
        role=role,
    )
    _insert(member)
    _emit(member, customer.organization, WebhookEventType.MEMBER_CREATED)
    return member, True


@transaction.atomic
def member_update(*, member: Member, changes: dict) -> Member:
    """Apply a PATCH (``name``, ``email``, ``role``; only the keys sent) and emit ``member.updated`` if
    anything changed. Locks the customer row, then the members.

    Making a member the owner transfers ownership: the current owner becomes a billing manager (the
    merchant may do this through the API, as on Polar). Taking the role away from the only owner, or
    changing the email of an individual customer's owner (it follows the customer's email), is a 422;
    so is an email another member of the customer has.
    """
    customer = _lock_customer(member.customer)
    members = {m.pk: m for m in Member.objects.select_for_update().filter(customer=customer, deleted_at__isnull=True)}
    member = members.get(member.pk)
    if member is None:
        raise ResourceNotFound("Member not found")
    now = clock.now()
    changed = False
    role = changes.get("role")
    if role is not None and role != member.role:
        owner = next((m for m in members.values() if m.role == Member.Role.OWNER), None)
        if member.role == Member.Role.OWNER:
            raise _invalid("role", "Cannot change role. Customer must have exactly one owner.", role)
        if role == Member.Role.OWNER and owner is not None:
            # Demote first: the partial unique index allows one owner at a time.
            owner.role, owner.modified_at = Member.Role.BILLING_MANAGER, now
            owner.save(update_fields=["role", "modified_at"])
            _emit(owner, customer.organization, WebhookEventType.MEMBER_UPDATED)
        member.role = role
        changed = True
    email = changes.get("email")
    if email is not None and email.strip() != member.email:
        email = email.strip()
        if customer.type == Customer.Type.INDIVIDUAL and member.role == Member.Role.OWNER:
            raise _invalid(
                "email", "Cannot change the email of an individual customer's owner. Update the customer's email instead.", email
            )
        if any(m.pk != member.pk and m.email.lower() == email.lower() for m in members.values()):
            raise _invalid("email", EMAIL_TAKEN, email)
        member.email = email
        changed = True
    if changes.get("name") is not None and changes["name"] != member.name:
        member.name = changes["name"]
        changed = True
    if not changed:
        return member
    member.modified_at = now
    member.save()
    _emit(member, customer.organization, WebhookEventType.MEMBER_UPDATED)
    return member


@transaction.atomic
def member_delete(*, member: Member) -> Member:
    """Soft-delete a member and emit ``member.deleted``. Locks the customer row, then the member.

    The owner cannot be deleted (422: transfer ownership first), as on Polar: a customer with members
    always has exactly one owner. Idempotent: a deleted member is returned unchanged, nothing emitted.
    The API deletes through billing (``billing.seats.services.member_delete_with_seats``), which first
    revokes the seats the member holds; this app knows nothing of seats."""
    customer = _lock_customer(member.customer)
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.deleted_at is not None:
        return member
    if member.role == Member.Role.OWNER:
        raise _invalid("", "Cannot delete the only owner. Transfer ownership first.", str(member.pk))
    member.deleted_at = member.modified_at = clock.now()
    member.save(update_fields=["deleted_at", "modified_at"])
    _emit(member, customer.organization, WebhookEventType.MEMBER_DELETED)
    return member


def members_delete_for_customer(*, customer: Customer) -> int:
    """Soft-delete every member of a customer being deleted (in the caller's transaction, which holds the
    customer's lock), emitting ``member.deleted`` for each. Returns how many were deleted."""
    members = list(Member.objects.select_for_update().filter(customer=customer, deleted_at__isnull=True).order_by("pk"))
    now = clock.now()
    for member in members:
        member.deleted_at = member.modified_at = now
        member.save(update_fields=["deleted_at", "modified_at"])
        _emit(member, customer.organization, WebhookEventType.MEMBER_DELETED)
    return len(members)
