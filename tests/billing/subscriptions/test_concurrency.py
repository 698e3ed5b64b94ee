"""Transitions racing on one subscription: the row lock serialises them, so exactly one wins."""

import threading

import pytest
from django.db import connection

from billing.models import Subscription
from billing.subscriptions import lifecycle, services
from polar.webhooks.models import WebhookEvent


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_revokes_end_the_subscription_once(organization, customer, product, card):
    subscription = lifecycle.subscription_create(organization=organization, customer=customer, product=product)
    barrier = threading.Barrier(2)
    outcomes = []

    def revoke():
        try:
            barrier.wait()
            lifecycle.subscription_revoke(subscription=Subscription.objects.get(pk=subscription.pk))
            outcomes.append("revoked")
        except services.AlreadyCanceledSubscription:
            outcomes.append("already")
        finally:
            connection.close()

    threads = [threading.Thread(target=revoke) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already", "revoked"]
    assert WebhookEvent.objects.filter(type="subscription.revoked").count() == 1
