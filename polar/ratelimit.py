"""Rate limits and lockouts, counted in Redis so that they hold across gunicorn workers and hosts.

A limit is a fixed window per (scope, identity): the first hit creates the counter with the window as its
expiry, every hit increments it, in one Lua script (INCR and PEXPIRE cannot be separated by a crash or by
another worker). Past the limit the caller answers 429 with ``Retry-After`` = what is left of the window.

Where the limits apply (docs/security.md):

- DRF views, through ``polar.api.throttling.PolarRateThrottle`` (REST_FRAMEWORK's throttle classes);
- failed token authentication per client address, in ``polar.organizations.authentication``;
- the hosted checkout page and the admin login (not DRF views), through ``RateLimitMiddleware``.

The rates come from ``settings.RATE_LIMITS`` (scope -> "N/period"), read at each request so tests can lower
them with the ``settings`` fixture; a caller may pass an organization's own rate instead (``Organization.rate_limits``,
applied by polar.api.throttling). A hit may weigh more than one (``hit_weighted``: the events of an ingestion batch). If Redis cannot be reached the request is let through and a warning
logged: an outage of the counter must not take the API down with it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
from dataclasses import dataclass
from functools import lru_cache

import redis
import structlog
from django.conf import settings
from django.http import JsonResponse

logger = structlog.get_logger(__name__)

DEFAULT_KEY_PREFIX = "polar:ratelimit:"


def key_prefix() -> str:
    return getattr(settings, "RATE_LIMIT_KEY_PREFIX", None) or DEFAULT_KEY_PREFIX


_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")

# INCR and set the window on the first hit, atomically; returns the count and the milliseconds left.
_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""

# A weighted hit that is refused does not count: a batch bigger than what is left of the window is turned away
# whole and the budget stays for smaller ones (else one oversized retry loop would starve the token).
_WEIGHTED_HIT_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local weight = tonumber(ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if current + weight > tonumber(ARGV[3]) then
    if ttl < 0 then ttl = tonumber(ARGV[1]) end
    return {current, ttl, 0}
end
local count = redis.call('INCRBY', KEYS[1], weight)
if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl, 1}
"""


@dataclass(frozen=True)
class Rate:
    limit: int
    window_seconds: int


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # whole seconds until the window ends (at least 1 when refused)


def parse_rate(value: str | None) -> Rate | None:
    """``"100/minute"``, ``"20/15m"``, ``"5/10s"`` -> Rate; empty, ``"off"`` or ``"none"`` -> no limit."""
    if value is None or str(value).strip().lower() in ("", "off", "none"):
        return None
    match = _RATE.match(str(value).lower())
    if not match or match.group(3) not in _PERIODS:
        raise ValueError(f"invalid rate {value!r}: expected 'N/period' such as '100/minute' or '20/15m'")
    count, multiplier, unit = match.groups()
    return Rate(limit=int(count), window_seconds=int(multiplier or 1) * _PERIODS[unit])


def rate_for(scope: str, override: str | None = None) -> Rate | None:
    """The rate of ``scope``: ``override`` (an organization's own, "off" included) when given, else the setting."""
    if not getattr(settings, "RATE_LIMITS_ENABLED", True):
        return None
    return parse_rate(override if override is not None else getattr(settings, "RATE_LIMITS", {}).get(scope))


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    # Short timeouts: a slow Redis must not hold every request (the limit fails open, see below).
    return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)


def redis_client() -> redis.Redis:
    return _client(getattr(settings, "RATE_LIMIT_REDIS_URL", None) or settings.REDIS_URL)


def _key(scope: str, identity: str) -> str:
    # Identities can be long or carry user input (a username): hash them to a fixed, safe key.
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{key_prefix()}{scope}:{digest}"


def hit(scope: str, identity: str, *, override: str | None = None) -> Decision:
    """Count one hit of ``identity`` in ``scope``; refused once the window's count passes the limit."""
    rate = rate_for(scope, override)
    if rate is None:
        return Decision(allowed=True, count=0, limit=0, retry_after=0)
    try:
        count, ttl_ms = redis_client().eval(_HIT_SCRIPT, 1, _key(scope, identity), rate.window_seconds * 1000)
    except redis.RedisError:
        logger.warning("ratelimit.redis_unavailable", scope=scope, exc_info=True)
        return Decision(allowed=True, count=0, limit=rate.limit, retry_after=0)
    count, ttl_ms = int(count), int(ttl_ms)
    retry_after = max(1, math.ceil(ttl_ms / 1000))
    return Decision(allowed=count <= rate.limit, count=count, limit=rate.limit, retry_after=retry_after)


def hit_weighted(scope: str, identity: str, weight: int, *, override: str | None = None) -> Decision:
    """Count ``weight`` hits at once, all or none: refused (and nothing counted) when they would pass the limit.
    A weight above the limit itself is always refused: the caller must split it."""
    rate = rate_for(scope, override)
    if rate is None or weight <= 0:
        return Decision(allowed=True, count=0, limit=0 if rate is None else rate.limit, retry_after=0)
    try:
        count, ttl_ms, allowed = redis_client().eval(
            _WEIGHTED_HIT_SCRIPT, 1, _key(scope, identity), rate.window_seconds * 1000, weight, rate.limit
        )
    except redis.RedisError:
        logger.warning("ratelimit.redis_unavailable", scope=scope, exc_info=True)
        return Decision(allowed=True, count=0, limit=rate.limit, retry_after=0)
    retry_after = max(1, math.ceil(int(ttl_ms) / 1000))
    return Decision(allowed=bool(allowed), count=int(count), limit=rate.limit, retry_after=retry_after)


def blocked(scope: str, identity: str) -> Decision:
    """Without counting: is ``identity`` at or past its limit in ``scope``? For lockouts, where only
    failures count but every attempt is refused while the lock holds (else a right guess still gets in)."""
    rate = rate_for(scope)
    if rate is None:
        return Decision(allowed=True, count=0, limit=0, retry_after=0)
    try:
        pipe = redis_client().pipeline(transaction=False)
        key = _key(scope, identity)
        pipe.get(key)
        pipe.pttl(key)
        raw_count, ttl_ms = pipe.execute()
    except redis.RedisError:
        logger.warning("ratelimit.redis_unavailable", scope=scope, exc_info=True)
        return Decision(allowed=True, count=0, limit=rate.limit, retry_after=0)
    count = int(raw_count or 0)
    retry_after = max(1, math.ceil(max(ttl_ms, 0) / 1000))
    return Decision(allowed=count < rate.limit, count=count, limit=rate.limit, retry_after=retry_after)


def blocked_and_get(scope: str, identity: str, key: str) -> tuple[Decision, bytes | None]:
    """``blocked`` and the value of another Redis ``key`` in one round trip (authentication reads the token
    cache's epoch so, polar.organizations.token_cache). The value is ``b""`` when the key does not exist and
    None when Redis cannot be read."""
    rate = rate_for(scope)
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.get(key)
        if rate is not None:
            counter = _key(scope, identity)
            pipe.get(counter)
            pipe.pttl(counter)
        value, *lock = pipe.execute()
        value = b"" if value is None else value
    except redis.RedisError:
        logger.warning("ratelimit.redis_unavailable", scope=scope, exc_info=True)
        return Decision(allowed=True, count=0, limit=rate.limit if rate else 0, retry_after=0), None
    if rate is None:
        return Decision(allowed=True, count=0, limit=0, retry_after=0), value
    raw_count, ttl_ms = lock
    count = int(raw_count or 0)
    retry_after = max(1, math.ceil(max(ttl_ms, 0) / 1000))
    return Decision(allowed=count < rate.limit, count=count, limit=rate.limit, retry_after=retry_after), value


def reset(scope: str, identity: str) -> None:
    try:
        redis_client().delete(_key(scope, identity))
    except redis.RedisError:
        logger.warning("ratelimit.redis_unavailable", scope=scope, exc_info=True)


def flush_all() -> None:
    """Delete every counter (tests, or an operator lifting all lockouts at once)."""
    client = redis_client()
    keys = list(client.scan_iter(match=f"{key_prefix()}*", count=1000))
    if keys:
        client.delete(*keys)


# --- Client address and trusted proxies ----------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies if proxy.strip())


def _trusted(address: str) -> bool:
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    if not networks:
        return False
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request) -> str:
    """The address limits count against: the TCP peer, or, when the peer is one of TRUSTED_PROXIES, the
    last address in X-Forwarded-For that is not itself a trusted proxy. A client cannot pick its own
    address by sending the header: it is read only from a trusted peer."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    if not _trusted(remote):
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    for address in reversed(forwarded):
        if not _trusted(address):
            return address
    return remote


def too_many_requests(detail: str, retry_after: int) -> JsonResponse:
    response = JsonResponse({"error": "TooManyRequests", "detail": detail}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


# --- Middleware ----------------------------------------------------------------------------------------


class TrustedProxyMiddleware:
    """First in the chain: X-Forwarded-Proto/-For/-Host from a peer that is not a trusted proxy are dropped,
    so Django's SECURE_PROXY_SSL_HEADER and client_ip() only ever see what a trusted proxy set. With no
    TRUSTED_PROXIES configured nothing is dropped (and production trusts X-Forwarded-Proto only with
    DJANGO_TRUST_X_FORWARDED_PROTO)."""

    FORWARDED_HEADERS = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST", "HTTP_FORWARDED")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if getattr(settings, "TRUSTED_PROXIES", None) and not _trusted(request.META.get("REMOTE_ADDR", "")):
            for header in self.FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)


ADMIN_LOGIN_VIEW = "admin:login"


def _admin_login_identities(request) -> list[tuple[str, str]]:
    identities = [("admin_login_ip", client_ip(request))]
    username = (request.POST.get("username") or "").strip().lower()
    if username:
        identities.append(("admin_login_user", username))
    return identities


class RateLimitMiddleware:
    """Limits for pages that are not DRF views: the hosted checkout page (per client address, "public"
    scope) and the admin login (lockout per address and per username after repeated failures)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "_polar_admin_login_attempt", False):
            identities = _admin_login_identities(request)
            if response.status_code == 200:
                # The login form came back: wrong username or password (a success redirects).
                for scope, identity in identities:
                    hit(scope, identity)
                logger.warning("admin.login_failed", client_ip=identities[0][1])
            elif 300 <= response.status_code < 400:
                for scope, identity in identities[1:]:
                    reset(scope, identity)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None:
            return None
        if match.url_name == "checkout-page":
            decision = hit("public", client_ip(request))
            if not decision.allowed:
                return too_many_requests(
                    f"Too many requests from this address; retry in {decision.retry_after} seconds.", decision.retry_after
                )
        elif match.view_name == ADMIN_LOGIN_VIEW and request.method == "POST":
            for scope, identity in _admin_login_identities(request):
                decision = blocked(scope, identity)
                if not decision.allowed:
                    logger.warning("admin.login_locked", scope=scope, client_ip=client_ip(request))
                    return too_many_requests(
                        f"Too many failed login attempts; retry in {decision.retry_after} seconds.", decision.retry_after
                    )
            request._polar_admin_login_attempt = True
        return None
