"""Customer sessions: short-lived bearer tokens with which a customer uses the customer portal (the
``/v1/customer-portal/`` API and the ``/portal/`` pages). Minted by the merchant (``POST
/v1/customer-sessions/``) or by the portal's e-mail links; only the SHA-256 of a token is stored."""

from django.db import models

from polar import clock
from polar.models import OrganizationOwnedModel

CUSTOMER_SESSION_TOKEN_PREFIX = "polar_cst_"


class CustomerSession(OrganizationOwnedModel):
    """One customer's session. The token is shown once, when minted; ``expires_at`` bounds it (an hour, as
    Polar's). A session sees its own customer only: every portal read is scoped to ``customer``."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(db_index=True)
    # Where the portal's back button leads (the merchant's site), if the merchant named one.
    return_url = models.CharField(max_length=2048, null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["customer", "created_at"])]

    def __str__(self):
        return f"Customer session of {self.customer} until {self.expires_at:%Y-%m-%d %H:%M} UTC"

    def is_expired(self, at=None) -> bool:
        return self.expires_at <= (at or clock.now())
