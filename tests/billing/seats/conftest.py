import pytest

from billing.catalog.services import product_benefits_set
from billing.subscriptions import lifecycle
from polar import clock
from tests.billing.subscription_fixtures import *  # noqa: F401,F403
from tests.billing.subscription_fixtures import T0
from tests.factories.subscriptions import seat_product


@pytest.fixture
def team_product(organization, benefit):
    product = seat_product(organization, price_per_seat=500, min_seats=1, max_seats=10)
    product_benefits_set(product=product, benefits=[benefit.id])
    return product


@pytest.fixture
def team_subscription(organization, customer, team_product, card):
    """An active subscription of ``customer`` (the buyer) with 2 seats of a product granting ``benefit``."""
    with clock.freeze(T0):
        return lifecycle.subscription_create(organization=organization, customer=customer, product=team_product, seats=2)
