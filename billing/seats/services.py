"""Writing seats: assign, claim, revoke, resend (Polar's ``/v1/customer-seats``).

A seat-based subscription (or paid one-time order) has ``seats``; the buyer hands them out to people by
e-mail, customer or member. Assigning locks the subscription (or order) row and counts the seats that
are not revoked, so two concurrent assignments can never hand out more seats than were paid for (the
same row a seat-count change locks). Claiming grants the holder the product's benefits for that
subscription (or order); revoking takes them back. Invitation e-mails go out after commit.
"""

import datetime as dt
import json
import secrets

import structlog
from django.db import IntegrityError, transaction

from billing.benefits.services import benefit_grants_create_for, benefit_grants_revoke_for
from billing.models import CustomerSeat, Order, OrderStatus, SeatStatus, Subscription
from billing.portal.sessions import customer_session_create
from billing.seats import emails
from billing.seats.payloads import seat_output
from billing.seats.selectors import seat_get_by_invitation_token, token_hash
from billing.usage import services as usage_services
from customers import selectors as customer_selectors
from customers import services as customer_services
from customers.models import Customer, Member
from polar import clock
from polar.errors import PolarError, PolarRequestValidationError, ResourceNotFound
from polar.webhooks.events import WebhookEventType
from polar.webhooks.services import webhook_event_emit

logger = structlog.get_logger(__name__)

INVITATION_TTL = dt.timedelta(days=7)
METADATA_MAX_KEYS = 10
METADATA_MAX_BYTES = 1024


class SeatNotAvailable(PolarError):
    status_code = 400
    error = "SeatNotAvailable"


class SeatAlreadyAssigned(PolarError):
    status_code = 400
    error = "SeatAlreadyAssigned"


class SeatNotPending(PolarError):
    status_code = 400
    error = "SeatNotPending"

    def default_detail(self):
        return "Seat is not in pending status"


class InvalidInvitationToken(PolarError):
    status_code = 400
    error = "InvalidInvitationToken"

    def default_detail(self):
        return "Invalid or expired invitation token"


class InvalidSeatAssignmentRequest(PolarError):
    status_code = 400
    error = "InvalidSeatAssignmentRequest"

    def default_detail(self):
        return "Exactly one of email, external_customer_id, customer_id, member_id or external_member_id must be provided"


class MemberEmailMismatch(PolarError):
    status_code = 400
    error = "MemberEmailMismatch"


def _emit(seat: CustomerSeat, type_: WebhookEventType) -> None:
    webhook_event_emit(organization=seat.organization, type=type_, data=seat_output(seat))


def _validate_metadata(metadata: dict | None) -> dict:
    metadata = metadata or {}
    if len(metadata) > METADATA_MAX_KEYS or len(json.dumps(metadata, default=str).encode()) > METADATA_MAX_BYTES:
        raise PolarRequestValidationError.single(
            ["body", "metadata"], f"Seat metadata allows at most {METADATA_MAX_KEYS} keys and {METADATA_MAX_BYTES} bytes."
        )
    return metadata


def _lock_container(*, subscription: Subscription | None, order: Order | None):
    """Lock and re-read the subscription (or order) row: the seat count is checked under this lock."""
    if subscription is not None:
        container = Subscription.objects.select_for_update().select_related("product", "customer").get(pk=subscription.pk)
        if container.seats is None:
            raise SeatNotAvailable(f"Subscription {container.pk} is not seat-based")
        if not container.is_active:
            raise SeatNotAvailable(f"Subscription {container.pk} is not active")
        return container
    container = Order.objects.select_for_update().select_related("product", "customer").get(pk=order.pk)
    if container.seats is None or container.product_id is None:
        raise SeatNotAvailable(f"Order {container.pk} is not seat-based")
    if container.status != OrderStatus.PAID:
        raise SeatNotAvailable("Order must be paid before assigning seats")
    return container


def _container_scope(seat_or_container) -> dict:
    if isinstance(seat_or_container, Subscription):
        return {"subscription_id": seat_or_container.pk}
    if isinstance(seat_or_container, Order):
        return {"order_id": seat_or_container.pk}
    if seat_or_container.subscription_id is not None:
        return {"subscription_id": seat_or_container.subscription_id}
    return {"order_id": seat_or_container.order_id}


def _customer_by_email(*, organization, email: str) -> Customer:
    existing = customer_selectors.customer_list(organization=organization, email=email).first()
    if existing is not None:
        return existing
    return usage_services.customer_create(organization=organization, email=email)


def _resolve_member(*, buyer: Customer, email, member_id, external_member_id) -> Member:
    """The buyer's member a seat is assigned to: by id, or by external id (created with ``email`` when new)."""
    if member_id is not None:
        member = customer_selectors.member_get(customer=buyer, id=member_id)
        if member is None:
            raise ResourceNotFound(f"Member not found: {member_id}")
        return member
    member = customer_selectors.member_get_by_external_id(customer=buyer, external_id=external_member_id)
    if member is not None:
        if email and member.email.lower() != email.lower():
            raise MemberEmailMismatch(
                f"Member with external_member_id '{external_member_id}' exists but has a different email than '{email}'"
            )
        return member
    if not email:
        raise ResourceNotFound(f"Member not found: {external_member_id}")
    member, _created = customer_services.member_create(customer=buyer, email=email, external_id=external_member_id)
    return member


def _resolve_holder(*, organization, buyer, email, customer_id, external_customer_id, member_id, external_member_id):
    """(holder customer, member or None, e-mail) of a new seat; refuses ambiguous or unknown targets."""
    if member_id is not None or external_member_id is not None:
        if customer_id is not None or external_customer_id is not None:
            raise InvalidSeatAssignmentRequest()
        member = _resolve_member(buyer=buyer, email=email, member_id=member_id, external_member_id=external_member_id)
        return _customer_by_email(organization=organization, email=member.email), member, member.email
    given = [value for value in (email, customer_id, external_customer_id) if value is not None]
    if len(given) != 1:
        raise InvalidSeatAssignmentRequest()
    if customer_id is not None:
        customer = customer_selectors.customer_get(organization=organization, id=customer_id)
        if customer is None:
            raise ResourceNotFound(f"Customer not found: {customer_id}")
        return customer, None, customer.email
    if external_customer_id is not None:
        customer = customer_selectors.customer_get_by_external_id(organization=organization, external_id=external_customer_id)
        if customer is None:
            raise ResourceNotFound(f"Customer not found: {external_customer_id}")
        return customer, None, customer.email
    return _customer_by_email(organization=organization, email=email), None, email


def _new_invitation(seat: CustomerSeat) -> str:
    token = secrets.token_urlsafe(32)
    seat.invitation_token_hash = token_hash(token)
    seat.invitation_token_expires_at = clock.now() + INVITATION_TTL
    return token


def _send_invitation_on_commit(seat: CustomerSeat, token: str) -> None:
    # The raw token exists only here (the row keeps its hash), so the mail is sent from this process once
    # the seat is committed; if sending fails the merchant resends, which issues a new token.
    seat_id = seat.pk
    transaction.on_commit(lambda: emails.seat_invitation_send_safely(seat_id=seat_id, token=token))


def _grant(seat: CustomerSeat, container) -> None:
    benefit_grants_create_for(customer=seat.customer, product=container.product, **_container_scope(container))


@transaction.atomic
def seat_assign(
    *,
    organization,
    subscription: Subscription | None = None,
    order: Order | None = None,
    email: str | None = None,
    customer_id=None,
    external_customer_id: str | None = None,
    member_id=None,
    external_member_id: str | None = None,
    metadata: dict | None = None,
    immediate_claim: bool = False,
) -> CustomerSeat:
    """Hand one seat of a subscription (or paid order) to a person; emits ``customer_seat.assigned`` (or,
    with ``immediate_claim``, grants the benefits and emits ``customer_seat.claimed``).

    Locks the container row, then counts live seats: none free answers 400 ``SeatNotAvailable``; a holder
    who already has a live seat in it answers 400 ``SeatAlreadyAssigned`` (also enforced by a partial
    unique index, so a concurrent duplicate fails the same way). The holder is a customer of the
    organization, found by id, external id or e-mail (created when the e-mail is new), or the customer of
    one of the buyer's members. Not idempotent by itself: the API's Idempotency-Key makes retries safe.
    """
    metadata = _validate_metadata(metadata)
    container = _lock_container(subscription=subscription, order=order)
    if container.organization_id != organization.id:
        raise ResourceNotFound("Subscription or order not found")
    live = CustomerSeat.objects.filter(**_container_scope(container)).exclude(status=SeatStatus.REVOKED)
    if live.count() >= container.seats:
        raise SeatNotAvailable(f"No available seats for {container.pk}")
    holder, member, seat_email = _resolve_holder(
        organization=organization,
        buyer=container.customer,
        email=email,
        customer_id=customer_id,
        external_customer_id=external_customer_id,
        member_id=member_id,
        external_member_id=external_member_id,
    )
    if live.filter(customer=holder).exists():
        raise SeatAlreadyAssigned(f"Seat already assigned to customer {holder.email or holder.pk}")
    now = clock.now()
    seat = CustomerSeat(
        organization=organization,
        status=SeatStatus.CLAIMED if immediate_claim else SeatStatus.PENDING,
        customer=holder,
        member=member,
        email=seat_email,
        seat_metadata=metadata,
        claimed_at=now if immediate_claim else None,
        **_container_scope(container),
    )
    token = None if immediate_claim else _new_invitation(seat)
    try:
        with transaction.atomic():
            seat.save(force_insert=True)
    except IntegrityError:
        raise SeatAlreadyAssigned(f"Seat already assigned to customer {holder.email or holder.pk}")
    if immediate_claim:
        _grant(seat, container)
        _emit(seat, WebhookEventType.CUSTOMER_SEAT_CLAIMED)
    else:
        _emit(seat, WebhookEventType.CUSTOMER_SEAT_ASSIGNED)
        if seat_email:
            _send_invitation_on_commit(seat, token)
    return seat


def _lock_seat(seat_id) -> CustomerSeat:
    return (
        CustomerSeat.objects.select_for_update(of=("self",))
        .select_related("organization", "customer", "member", "subscription__product", "order__product")
        .get(pk=seat_id)
    )


@transaction.atomic
def seat_claim(*, invitation_token: str) -> tuple[CustomerSeat, str]:
    """The invited person accepts: the seat becomes ``claimed``, the holder is granted the product's
    benefits for the subscription (or order), ``customer_seat.claimed`` is emitted, and a customer
    session is opened for the holder; returns the seat and the session's raw token.

    Locks the seat row. A wrong, expired or used token, or a container that is no longer active, is 400
    ``InvalidInvitationToken`` (a claimed seat is not pending, so a second claim is refused; its token hash
    stays so that a retry with the same Idempotency-Key finds the organization whose stored answer replays)."""
    found = seat_get_by_invitation_token(invitation_token)
    if found is None:
        raise InvalidInvitationToken()
    seat = _lock_seat(found.pk)
    if seat.status != SeatStatus.PENDING or seat.invitation_token_hash != token_hash(invitation_token):
        raise InvalidInvitationToken()
    container = seat.subscription or seat.order
    if seat.subscription is not None and not seat.subscription.is_active:
        raise InvalidInvitationToken()
    seat.status = SeatStatus.CLAIMED
    seat.claimed_at = seat.modified_at = clock.now()
    seat.save(update_fields=["status", "claimed_at", "modified_at"])
    _grant(seat, container)
    _emit(seat, WebhookEventType.CUSTOMER_SEAT_CLAIMED)
    _session, session_token = customer_session_create(customer=seat.customer)
    return seat, session_token


def _revoke_locked(seat: CustomerSeat, *, now) -> None:
    container = seat.subscription or seat.order
    # The buyer holding one of their own seats keeps the grants their purchase gave them.
    if seat.status == SeatStatus.CLAIMED and seat.customer_id != container.customer_id:
        benefit_grants_revoke_for(customer=seat.customer, **_container_scope(seat))
    seat.status = SeatStatus.REVOKED
    seat.revoked_at = seat.modified_at = now
    seat.invitation_token_hash = None
    seat.save(update_fields=["status", "revoked_at", "modified_at", "invitation_token_hash"])
    _emit(seat, WebhookEventType.CUSTOMER_SEAT_REVOKED)


@transaction.atomic
def seat_revoke(*, seat: CustomerSeat) -> CustomerSeat:
    """Take a seat back: a claimed holder's benefits for the container are revoked, the invitation is
    voided, ``customer_seat.revoked`` is emitted, and the seat counts as free again.

    Locks the seat row. Idempotent: revoking a revoked seat changes nothing and emits nothing."""
    seat = _lock_seat(seat.pk)
    if seat.status != SeatStatus.REVOKED:
        _revoke_locked(seat, now=clock.now())
    return seat


@transaction.atomic
def seats_revoke_for_ended_subscription(subscription: Subscription) -> list[CustomerSeat]:
    """A subscription ended (``billing.subscriptions.services.SUBSCRIPTION_ENDED_HOOKS``): every seat that is
    not revoked yet is revoked as by ``seat_revoke``, so claimed holders lose their grants
    (``benefit_grant.revoked``), pending invitations stop working, and each seat emits
    ``customer_seat.revoked`` (Polar revokes all seats of a subscription that is no longer active).

    Runs inside the ending transaction, with the subscription locked; locks the seats, ordered by id.
    Idempotent: revoked seats are skipped, so a second call changes and emits nothing."""
    seats = list(
        CustomerSeat.objects.select_for_update(of=("self",))
        .filter(subscription_id=subscription.pk)
        .exclude(status=SeatStatus.REVOKED)
        .select_related("organization", "customer", "member", "subscription", "order")
        .order_by("pk")
    )
    now = clock.now()
    for seat in seats:
        _revoke_locked(seat, now=now)
    return seats


@transaction.atomic
def seat_resend_invitation(*, seat: CustomerSeat) -> CustomerSeat:
    """Send the invitation of a pending seat again, with a new token (the old one stops working) and a new
    expiry. Locks the seat row. A seat that is not pending is 400 ``SeatNotPending``. Emits nothing."""
    seat = _lock_seat(seat.pk)
    if seat.status != SeatStatus.PENDING:
        raise SeatNotPending()
    token = _new_invitation(seat)
    seat.modified_at = clock.now()
    seat.save(update_fields=["invitation_token_hash", "invitation_token_expires_at", "modified_at"])
    if seat.email:
        _send_invitation_on_commit(seat, token)
    return seat


@transaction.atomic
def member_delete_with_seats(*, member: Member) -> Member:
    """Delete a member (``customers.services.member_delete``) after revoking the live seats assigned to it,
    in one transaction: a refused delete (the owner) revokes nothing. Locks the seats, ordered by id."""
    seats = list(
        CustomerSeat.objects.select_for_update(of=("self",))
        .filter(member=member)
        .exclude(status=SeatStatus.REVOKED)
        .select_related("organization", "customer", "member", "subscription", "order")
        .order_by("pk")
    )
    deleted = customer_services.member_delete(member=member)
    now = clock.now()
    for seat in seats:
        _revoke_locked(seat, now=now)
    return deleted
