"""Output shapes of the customer portal: Polar's ``CustomerSession`` and the portal's own resources."""

from billing.portal.sessions import customer_portal_url
from customers.payloads import CustomerOutput
from polar.api.formatting import dt


def customer_session_output(session, *, token: str) -> dict:
    """Polar's ``CustomerSession``: the raw token is part of it, so it is only ever rendered at creation."""
    return {
        "id": str(session.id),
        "created_at": dt(session.created_at),
        "modified_at": dt(session.modified_at),
        "token": token,
        "expires_at": dt(session.expires_at),
        "return_url": session.return_url,
        "customer_portal_url": customer_portal_url(token=token),
        "customer_id": str(session.customer_id),
        "customer": CustomerOutput(session.customer).data,
    }
