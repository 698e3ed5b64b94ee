"""``Idempotency-Key`` on POST and PATCH.

- first request with a key: a row is claimed (committed at once, outside any transaction), the view runs,
  and its status and body are stored;
- a retry with the same key and the same request: the stored status and body are replayed;
- the same key with another request: 400 ``IdempotencyKeyMismatch``;
- the same key while the first request is still running: 409 ``IdempotencyKeyInFlight``;
- a 5xx answer is not stored, so the client may retry with the same key -- **unless the request took
  money**: a request during which a charge succeeded (or was left pending at the processor) keeps its
  key whatever its answer, so a retry replays that answer and never charges again (the payments
  service calls ``note_money_taken``; fulfilment left unfinished by the failure is completed by the
  ``fulfilment_sweep`` beat step, see docs/fulfilment.md);
- keys live in a namespace inside the organization (``IdempotencyKey.namespace``): ``api`` for token
  callers, one per public credential (see ``PolarAPIView.idempotency_namespace``);
- keys live ``IDEMPOTENCY_KEY_TTL`` (24 h); ``idempotency_keys_prune`` deletes older ones.
"""

import contextvars
import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from polar import clock
from polar.errors import ConflictError, PolarError

from .models import IdempotencyKey

HEADER = "HTTP_IDEMPOTENCY_KEY"
METHODS = frozenset({"POST", "PATCH"})
MAX_KEY_LENGTH = 255


class IdempotencyKeyMismatch(PolarError):
    status_code = 400
    error = "IdempotencyKeyMismatch"


class IdempotencyKeyInFlight(ConflictError):
    error = "IdempotencyKeyInFlight"


class InvalidIdempotencyKey(PolarError):
    status_code = 400
    error = "InvalidIdempotencyKey"


# Set for the duration of one request by ``PolarAPIView``; True once the request took money.
_money_taken: contextvars.ContextVar[bool] = contextvars.ContextVar("idempotency_money_taken", default=False)


def request_started() -> contextvars.Token:
    """Start a request's record of money taken; pass the token to ``request_finished``."""
    return _money_taken.set(False)


def request_finished(token: contextvars.Token) -> None:
    _money_taken.reset(token)


def note_money_taken() -> None:
    """Called by the payments service when a charge succeeded or its outcome is unknown (pending at the
    processor): the running request's Idempotency-Key must then be kept, never released."""
    _money_taken.set(True)


def money_taken() -> bool:
    return _money_taken.get()


def request_fingerprint(request) -> str:
    django_request = request._request
    digest = hashlib.sha256()
    digest.update(django_request.method.encode())
    digest.update(b"\0")
    digest.update(django_request.get_full_path().encode())
    digest.update(b"\0")
    digest.update(django_request.body)
    return digest.hexdigest()


def claim(request, organization, namespace: str = IdempotencyKey.API_NAMESPACE) -> tuple[IdempotencyKey | None, Response | None]:
    """Claim the request's key in ``namespace`` of ``organization``. Returns (row to complete later,
    None) or (None, response to replay)."""
    if request.method not in METHODS:
        return None, None
    key = request.META.get(HEADER)
    if key is None:
        return None, None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidIdempotencyKey(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.")
    fingerprint = request_fingerprint(request)
    now = clock.now()
    expired_before = now - settings.IDEMPOTENCY_KEY_TTL
    for _attempt in range(2):
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    organization=organization,
                    namespace=namespace,
                    key=key,
                    request_method=request.method,
                    request_path=request._request.path[:2048],
                    request_fingerprint=fingerprint,
                    created_at=now,
                )
            return row, None
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(organization=organization, namespace=namespace, key=key).first()
            if existing is None:
                continue  # pruned between our insert and our read: try once more
            if existing.created_at < expired_before:
                IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
                continue
            if existing.request_fingerprint != fingerprint:
                raise IdempotencyKeyMismatch(
                    "This Idempotency-Key was already used with a different request. Use a new key for a new request."
                )
            if existing.status == IdempotencyKey.Status.IN_FLIGHT:
                raise IdempotencyKeyInFlight("A request with this Idempotency-Key is still being processed.")
            response = Response(existing.response_body, status=existing.response_status)
            response["Idempotent-Replayed"] = "true"
            return None, response
    raise IdempotencyKeyInFlight("A request with this Idempotency-Key is still being processed.")


def complete(row: IdempotencyKey, response) -> None:
    """Store the answer, or release the key when the server failed (5xx) so a retry can run -- except
    after a request that took money: its answer is stored even if it is a 5xx, so a retry replays it
    instead of charging a second time."""
    if response.status_code >= 500 and not money_taken():
        IdempotencyKey.objects.filter(pk=row.pk).delete()
        return
    body = None
    if getattr(response, "data", None) is not None:
        body = json.loads(JSONRenderer().render(response.data))
    IdempotencyKey.objects.filter(pk=row.pk).update(
        status=IdempotencyKey.Status.COMPLETED, response_status=response.status_code, response_body=body
    )


def release(row: IdempotencyKey) -> None:
    IdempotencyKey.objects.filter(pk=row.pk).delete()


def prune(*, now=None) -> int:
    """Delete keys older than the TTL. Safe to run at any time, any number of times."""
    cutoff = (now or clock.now()) - settings.IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
