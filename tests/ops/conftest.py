"""The webhook receiver fixtures, for the tests that run real workers delivering to it, and the in-memory span
exporter."""

from tests.polar.observability.conftest import spans  # noqa: F401 (fixture)
from tests.polar.webhooks.conftest import make_endpoint, receiver  # noqa: F401 (fixtures)
