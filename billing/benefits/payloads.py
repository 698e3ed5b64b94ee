"""Output shapes of benefits: what the API returns and webhooks carry, computed from loaded rows."""

from rest_framework import serializers

from billing.catalog.payloads import BenefitOutput
from billing.models import BenefitGrant
from customers.payloads import customer_output
from polar.api.formatting import dt, sid


class BenefitGrantOutput(serializers.BaseSerializer):
    """Polar's ``BenefitGrant`` (also the ``benefit_grant.*`` webhook data)."""

    def to_representation(self, grant: BenefitGrant) -> dict:
        return {
            "id": str(grant.id),
            "created_at": dt(grant.created_at),
            "modified_at": dt(grant.modified_at),
            "granted_at": dt(grant.granted_at),
            "is_granted": grant.is_granted,
            "revoked_at": dt(grant.revoked_at),
            "is_revoked": grant.is_revoked,
            "subscription_id": sid(grant.subscription_id),
            "order_id": sid(grant.order_id),
            "customer_id": str(grant.customer_id),
            "member_id": None,
            "benefit_id": str(grant.benefit_id),
            "error": grant.error,
            "customer": customer_output(grant.customer),
            "member": None,
            "benefit": BenefitOutput(grant.benefit).data,
            "properties": grant.properties or {},
            "previous_properties": None,
        }


# --- input ------------------------------------------------------------------
