"""Reads of the customer portal. The merchant-side reads are scoped to the organization; every read a
customer session makes is scoped to ``customer`` (its own), so another customer's rows do not exist."""

from customers import selectors as customer_selectors


def portal_customer_get(*, organization, id=None, external_id: str | None = None):
    """The organization's (not deleted) customer by id or by external id, for minting a session."""
    if id is not None:
        return customer_selectors.customer_get(organization=organization, id=id)
    return customer_selectors.customer_get_by_external_id(organization=organization, external_id=external_id)
