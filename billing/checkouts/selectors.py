"""Reading checkouts: by organization for the API, by client secret for the buyer."""

from __future__ import annotations

from billing.models import Checkout


def checkout_get(*, organization, id) -> Checkout | None:
    return Checkout.objects.filter(organization=organization, pk=id).first()


def checkout_get_by_client_secret(*, client_secret: str) -> Checkout | None:
    """The client secret is the buyer's credential: it alone finds the checkout, in any organization."""
    if not client_secret:
        return None
    return Checkout.objects.select_related("organization").filter(client_secret=client_secret).first()
