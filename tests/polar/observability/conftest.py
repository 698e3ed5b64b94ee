"""The webhook receiver and helpers, shared with the webhook tests (the metrics flows deliver webhooks too)."""

from tests.polar.webhooks.conftest import emit, make_endpoint, receiver, sweep  # noqa: F401 (fixtures)
