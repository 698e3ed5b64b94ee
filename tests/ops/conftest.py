"""The webhook receiver fixtures, for the tests that run real workers delivering to it."""

from tests.polar.webhooks.conftest import make_endpoint, receiver  # noqa: F401 (fixtures)
