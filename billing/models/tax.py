"""Tax rates a merchant charges, per country of the buyer."""

from django.db import models
from django.db.models import Q

from polar.models import OrganizationOwnedModel


class TaxRate(OrganizationOwnedModel):
    """The rate (basis points: 2000 = 20 %) an organization charges buyers in ``country``.

    A country without a row is taxed at zero; every order line states the rate it was taxed at, so a
    later change of this table never changes an order already priced.
    """

    country = models.CharField(max_length=2)  # ISO 3166-1 alpha-2, upper case
    basis_points = models.PositiveIntegerField()
    label = models.CharField(max_length=64, default="VAT")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "country"], name="tax_rate_unique_country"),
            models.CheckConstraint(condition=Q(basis_points__lte=10_000), name="tax_rate_at_most_100_percent"),
        ]

    def __str__(self):
        return f"{self.country} {self.basis_points} bps"
