"""``Authorization: Bearer polar_oat_...``: the token's organization is the tenant of the call."""

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, Throttled

from polar import ratelimit
from polar.observability import context as observability_context
from polar.organizations import token_cache
from polar.organizations.services import access_token_touch


class TokenPrincipal:
    """The caller of an API request: an organization acting through one of its tokens."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False

    def __init__(self, token):
        self.token = token
        self.organization = token.organization
        self.scopes = frozenset(token.scopes)

    def __str__(self):
        return f"token:{self.token.token_hint}"


AUTH_FAILURES_SCOPE = "auth_failures"


class OrganizationTokenAuthentication(BaseAuthentication):
    keyword = "bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            raise NotAuthenticated("Missing Authorization header: send 'Authorization: Bearer polar_oat_...'.")
        # Failed attempts are counted per client address; past the limit every attempt from there is refused
        # until the window ends, a right token included (else the 429s would still confirm a right guess).
        # The token cache's epoch comes in the same Redis round trip (polar.organizations.token_cache).
        address = ratelimit.client_ip(request)
        lock, epoch = ratelimit.blocked_and_get(AUTH_FAILURES_SCOPE, address, token_cache.epoch_key())
        if not lock.allowed:
            # DRF adds "Expected available in N seconds."; the handler sets Retry-After.
            raise Throttled(wait=lock.retry_after, detail="Too many failed authentication attempts from this address.")
        if epoch == b"":
            epoch = token_cache.epoch_missing()
        try:
            return self._authenticate_header(header, epoch)
        except AuthenticationFailed:
            ratelimit.hit(AUTH_FAILURES_SCOPE, address)
            raise

    def _authenticate_header(self, header: str, epoch: bytes | None):
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != self.keyword:
            raise AuthenticationFailed("Malformed Authorization header: expected 'Bearer <token>'.")
        token = token_cache.lookup(raw_token=parts[1], epoch=epoch)
        if token is None:
            raise AuthenticationFailed("Invalid access token.")
        if token.is_revoked():
            raise AuthenticationFailed("This access token has been revoked.")
        if token.is_expired():
            raise AuthenticationFailed("This access token has expired.")
        if not token.organization.can_use_api():
            raise AuthenticationFailed("This organization cannot use the API.")
        # On the cached row too, so that the next calls of this worker know it was just written.
        access_token_touch(token=token_cache.cached_token(parts[1]) or token)
        observability_context.bind(organization_id=str(token.organization_id))
        return TokenPrincipal(token), token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
