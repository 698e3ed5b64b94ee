"""The API's rate limits, one DRF throttle that classifies the request itself by the route it resolved to.

- ``events-ingest``: the "ingest" scope, per token (ingestion is bursty and large; its own budget);
- license-key validate/activate/deactivate: the "license_keys" scope, per token and per client address
  (these answer whether a guessed key exists);
- checkout client routes (``/v1/checkouts/client/...``): the "public" scope, per client address (no token:
  the client secret in the URL is the credential, and guessing it must be slow);
- any other authenticated call: the "token" scope, per token;
- any other anonymous DRF view (the OpenAPI schema, the docs): the "anonymous" scope, per address.

Ingestion is limited twice: by requests (above) and by events, the "ingest_events" scope per token, counted
by the view once the body is parsed (``throttle_ingested_events``): one request may carry 1,000 events.

An organization's own rates (``Organization.rate_limits``, set with ``manage.py organization_rate_limits``)
replace the settings' for the per-token counters; per-address counters are not any organization's to change.

The counters are in Redis (polar.ratelimit); refusals become 429 ``{"error": "TooManyRequests"}`` with
``Retry-After`` through polar.api.exceptions.
"""

from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

from polar import ratelimit

LICENSE_KEY_ROUTES = frozenset(
    {
        "license-keys-validate",
        "license-keys-activate",
        "license-keys-deactivate",
        "org-license-keys-validate",
        "org-license-keys-activate",
        "org-license-keys-deactivate",
    }
)
INGEST_ROUTES = frozenset({"events-ingest"})
PUBLIC_ROUTE_PREFIXES = ("checkouts-client-", "customer-seats-claim")


def _token_id(request) -> str | None:
    token = getattr(request, "auth", None)
    pk = getattr(token, "pk", None)
    return f"token:{pk}" if pk is not None else None


def organization_rate(request, scope: str) -> str | None:
    """The calling organization's own rate for ``scope``, or None (the setting applies)."""
    token = getattr(request, "auth", None)
    organization = getattr(token, "organization", None)
    return (getattr(organization, "rate_limits", None) or {}).get(scope)


def request_limits(request) -> list[tuple[str, str]]:
    """The (scope, identity) counters one API request counts against."""
    match = getattr(request, "resolver_match", None)
    name = (match.url_name if match is not None else None) or ""
    token = _token_id(request)
    address = f"ip:{ratelimit.client_ip(request)}"
    if name.startswith(PUBLIC_ROUTE_PREFIXES):
        return [("public", address)]
    if name in LICENSE_KEY_ROUTES:
        return [("license_keys", address)] + ([("license_keys", token)] if token else [])
    if name in INGEST_ROUTES and token:
        return [("ingest", token)]
    if token:
        return [("token", token)]
    return [("anonymous", address)]


class PolarRateThrottle(BaseThrottle):
    def __init__(self):
        self._wait = None

    def allow_request(self, request, view):
        for scope, identity in request_limits(request):
            override = organization_rate(request, scope) if identity.startswith("token:") else None
            decision = ratelimit.hit(scope, identity, override=override)
            if not decision.allowed:
                self._wait = decision.retry_after
                return False
        return True

    def wait(self):
        return self._wait


def throttle_ingested_events(request, count: int) -> None:
    """Count ``count`` ingested events against the token's "ingest_events" budget; raises Throttled (429 with
    Retry-After) when the batch does not fit in what is left of the window. A refused batch is not counted."""
    token = _token_id(request)
    if token is None:
        return
    decision = ratelimit.hit_weighted("ingest_events", token, count, override=organization_rate(request, "ingest_events"))
    if not decision.allowed:
        if count > decision.limit:
            detail = f"A batch of {count} events is more than this token may send in one window ({decision.limit}); split it."
        else:
            detail = f"Event ingestion limit reached ({decision.limit} events a window)."
        raise Throttled(wait=decision.retry_after, detail=detail)
