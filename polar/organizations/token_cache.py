"""A per-process cache of access tokens (with their organization), so that an API call does not read the
token from PostgreSQL every time (issue 20: that read and its ORM work were a fifth of the cost of an empty
authenticated call).

What keeps it correct:

- Entries are keyed by the token's hash, never by anything the caller chose, and hold one token with its
  own organization: a cached entry can only ever authenticate the token it was read for.
- An **epoch** in Redis (``epoch_key()``, a random value) is read on every call, in the same round trip as the
  failed-authentication lockout (``polar.ratelimit.blocked``). An entry is used only if it was stored under
  the epoch read now. Every write to a token or an organization (revocation, expiry, scopes, a denied
  organization, a settings change: from a service, the admin or a shell) sets a new epoch through the
  ``post_save``/``post_delete`` receivers below, at once and again on commit; so the next call of every
  worker reads the token again. The epoch read happens before the database read, so a worker that read the
  row just before a revocation committed stored it under an epoch that is already gone.
- If Redis cannot be read, the cache is not used. An entry older than ``MAX_AGE_SECONDS`` is read again,
  which bounds staleness should setting a new epoch ever fail (Redis down at that instant: logged).
- Each request gets its own copies of the token and organization: whatever a request caches on them
  (related objects) or changes stays in that request.

Expiry (``expires_at``) is checked by the caller at every call against the clock, cached or not.
``QuerySet.update()`` on these models bypasses the receivers; no code path does it except
``access_token_touch`` (``last_used_at``, which authentication does not read).
"""

from __future__ import annotations

import copy
import time
import uuid

import redis
import structlog
from django.db import transaction

from polar import ratelimit

from .models import OrganizationAccessToken, hash_token
from .selectors import access_token_get_by_raw

logger = structlog.get_logger(__name__)


def epoch_key() -> str:
    """Beside the rate-limit counters, under their prefix (each test run has its own; flushing the counters
    removes it too, and the next call sets a new one)."""
    return f"{ratelimit.key_prefix()}token-cache-epoch"


MAX_AGE_SECONDS = 60
MAX_ENTRIES = 10_000

# token hash -> (epoch it was stored under, monotonic time stored, token with its organization)
_entries: dict[str, tuple[bytes, float, OrganizationAccessToken]] = {}


def lookup(*, raw_token: str, epoch: bytes | None) -> OrganizationAccessToken | None:
    """The token for this raw value with its organization (copies of the cached rows), or None.
    ``epoch`` is the value of ``epoch_key()`` read for this request before anything else (None: unknown,
    the cache is bypassed)."""
    token_hash = hash_token(raw_token)
    entry = _entries.get(token_hash)
    if epoch is not None and entry is not None and entry[0] == epoch and time.monotonic() - entry[1] < MAX_AGE_SECONDS:
        return _copy(entry[2])
    token = access_token_get_by_raw(raw_token=raw_token)
    if token is None or epoch is None:
        _entries.pop(token_hash, None)
        return token
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()
    _entries[token_hash] = (epoch, time.monotonic(), token)
    return _copy(token)


def cached_token(raw_token: str) -> OrganizationAccessToken | None:
    """The cached row itself (not a copy), so that ``access_token_touch`` can record ``last_used_at`` on it."""
    entry = _entries.get(hash_token(raw_token))
    return entry[2] if entry is not None else None


def _copy(token: OrganizationAccessToken) -> OrganizationAccessToken:
    token_copy = copy.copy(token)
    token_copy.organization = copy.copy(token.organization)
    return token_copy


def epoch_missing() -> bytes | None:
    """No epoch in Redis yet (a fresh or flushed Redis): create one and return the one that is there now
    (None if Redis cannot be reached: the cache is then not used)."""
    try:
        client = ratelimit.redis_client()
        client.set(epoch_key(), uuid.uuid4().hex, nx=True)
        return client.get(epoch_key())
    except redis.RedisError:
        logger.warning("token_cache.redis_unavailable", exc_info=True)
        return None


def new_epoch() -> None:
    """Invalidate every worker's entries: the next call of each reads its token again."""
    _entries.clear()
    try:
        ratelimit.redis_client().set(epoch_key(), uuid.uuid4().hex)
    except redis.RedisError:
        # Entries elsewhere then live out MAX_AGE_SECONDS at most.
        logger.warning("token_cache.epoch_not_set", exc_info=True)


def access_changed(*, created: bool = False, **_kwargs) -> None:
    """``post_save``/``post_delete`` receiver for tokens and organizations (connected in the app's ready()).
    A new epoch now (this process, and any call that reads the uncommitted change) and again once the
    transaction commits (calls elsewhere that read the row before the commit stored it under the first).
    A row just created cannot be in any cache: nothing to do."""
    if created:
        return
    new_epoch()
    transaction.on_commit(new_epoch, robust=True)
