"""``Authorization: Bearer polar_cst_...``: the caller is one customer, through a customer session.

The customer-portal views use this instead of the organization tokens: a session token answers nothing
outside the portal, and an organization token nothing inside it (both are 401)."""

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, Throttled
from rest_framework.permissions import BasePermission

from billing.models.portal import CUSTOMER_SESSION_TOKEN_PREFIX
from billing.portal.sessions import customer_session_authenticate
from polar import ratelimit
from polar.api.permissions import HasTokenScopes
from polar.observability import context as observability_context
from polar.organizations.authentication import AUTH_FAILURES_SCOPE, OrganizationTokenAuthentication


class CustomerSessionPrincipal:
    """The caller of a portal request: a customer of an organization, acting through one session."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    scopes = frozenset()

    def __init__(self, session):
        self.session = session
        self.customer = session.customer
        self.organization = session.organization

    def __str__(self):
        return f"customer_session:{self.session.id}"


class CustomerSessionAuthentication(BaseAuthentication):
    keyword = "bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            raise NotAuthenticated("Missing Authorization header: send 'Authorization: Bearer polar_cst_...'.")
        # Failed attempts count against the client address with the organization tokens' (one lockout).
        address = ratelimit.client_ip(request)
        lock = ratelimit.blocked(AUTH_FAILURES_SCOPE, address)
        if not lock.allowed:
            raise Throttled(wait=lock.retry_after, detail="Too many failed authentication attempts from this address.")
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != self.keyword:
            raise AuthenticationFailed("Malformed Authorization header: expected 'Bearer <token>'.")
        session = customer_session_authenticate(parts[1])
        if session is None:
            # Only a wrong session token counts as a guess: any other credential is refused here whether it is
            # valid or not (an organization token is never checked by the portal), so it reveals nothing.
            if parts[1].startswith(CUSTOMER_SESSION_TOKEN_PREFIX):
                ratelimit.hit(AUTH_FAILURES_SCOPE, address)
            raise AuthenticationFailed("Invalid or expired customer session token.")
        observability_context.bind(organization_id=str(session.organization_id))
        # request.auth is the session: rate limits count per session; the portal view names the audit actor.
        return CustomerSessionPrincipal(session), session

    def authenticate_header(self, request):
        return 'Bearer realm="customer-portal"'


class IsCustomerSession(BasePermission):
    message = "This operation needs a customer session token."

    def has_permission(self, request, view):
        return isinstance(request.user, CustomerSessionPrincipal)


class LicenseKeyCallerAuthentication(BaseAuthentication):
    """Polar's public license-key endpoints (validate, activate, deactivate): no credential at all (the key
    and the organization id are the credential, for software running on a customer's machine), a customer
    session token, or an organization token (as before: needs a license_keys scope)."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        if header.split()[-1].startswith(CUSTOMER_SESSION_TOKEN_PREFIX):
            return CustomerSessionAuthentication().authenticate(request)
        return OrganizationTokenAuthentication().authenticate(request)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class LicenseKeyCallerPermission(HasTokenScopes):
    """Anyone and customer sessions pass; an organization token needs ``license_keys:read`` or ``:write``."""

    def has_permission(self, request, view):
        if request.user is None or isinstance(request.user, CustomerSessionPrincipal):
            return True
        return super().has_permission(request, view)
