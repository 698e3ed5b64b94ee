from tests.billing.subscription_fixtures import *  # noqa: F401,F403
