"""Billing's view of a customer: what a merchant gates features on (Polar's ``CustomerState``).

The customers app holds the customer and knows nothing of billing; the state is read here, from the
subscriptions, benefit grants and meters of billing, and served at ``/v1/customers/{id}/state`` by
``billing.customers_api``.
"""

from rest_framework import serializers

from billing.benefits.selectors import benefit_grants_active
from billing.models import Subscription
from billing.orders.payloads import order_subscription_output
from billing.usage.selectors import customer_state_meters
from customers.models import Customer
from customers.payloads import CustomerOutput
from polar.api.formatting import dt


def customer_ids_with_active_subscriptions(*, organization):
    """Customers with a trialing, active or past_due subscription (a subquery, not a list)."""
    return Subscription.objects.filter(organization=organization, status__in=Subscription.ACTIVE_STATUSES).values("customer_id")


def customer_state(*, customer: Customer) -> dict:
    """What a merchant gates features on, in Polar's CustomerState shape (each list of dicts):

    - ``active_subscriptions``: trialing, active and past_due subscriptions (CustomerStateSubscription);
    - ``granted_benefits``: grants that are granted and not revoked (CustomerStateBenefitGrant);
    - ``active_meters``: the customer's meters for the current period with consumed and credited units
      and the balance (CustomerStateMeter), from the usage selectors.
    """
    subscriptions = Subscription.objects.filter(customer=customer, status__in=Subscription.ACTIVE_STATUSES).order_by(
        "created_at", "pk"
    )
    active_subscriptions = []
    for subscription in subscriptions:
        data = order_subscription_output(subscription)
        data.setdefault("seats", None)
        data["meters"] = []
        active_subscriptions.append(data)
    granted_benefits = [
        {
            "id": str(grant.id),
            "created_at": dt(grant.created_at),
            "modified_at": dt(grant.modified_at),
            "granted_at": dt(grant.granted_at),
            "benefit_id": str(grant.benefit_id),
            "benefit_type": grant.benefit.type,
            "benefit_metadata": grant.benefit.metadata or {},
            "properties": grant.properties or {},
        }
        for grant in benefit_grants_active(customer=customer)
    ]
    return {
        "active_subscriptions": active_subscriptions,
        "granted_benefits": granted_benefits,
        "active_meters": customer_state_meters(customer=customer),
    }


class CustomerStateOutput(CustomerOutput):
    """The customer plus what merchants gate features on; the lists come from ``customer_state()``."""

    active_subscriptions = serializers.SerializerMethodField()
    granted_benefits = serializers.SerializerMethodField()
    active_meters = serializers.SerializerMethodField()

    class Meta(CustomerOutput.Meta):
        fields = [*CustomerOutput.Meta.fields, "active_subscriptions", "granted_benefits", "active_meters"]

    def _state(self, customer) -> dict:
        return self.context["state"]

    def get_active_subscriptions(self, customer) -> list:
        return self._state(customer)["active_subscriptions"]

    def get_granted_benefits(self, customer) -> list:
        return self._state(customer)["granted_benefits"]

    def get_active_meters(self, customer) -> list:
        return self._state(customer)["active_meters"]
