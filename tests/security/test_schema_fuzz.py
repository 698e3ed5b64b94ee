"""Every operation of every API version, fuzzed against that version's own OpenAPI schema (issue 21):
no 5xx, no undocumented status code, no response that violates the schema (docs/security.md).

In-process through the WSGI application, in the test's transaction, with a bounded number of generated
requests per operation (FUZZ_MAX_EXAMPLES; ``make fuzz`` runs many more). Organization operations are
called with an organization token, the customer portal's with a customer session, both on seeded rows.
"""

import os

import pytest

from polar import ratelimit
from polar.api import versions

from .fuzzing import fuzz_version, in_test_transaction
from .objects import path_parameters, seed_world

pytestmark = pytest.mark.django_db

# Per operation: the current version (what clients without Polar-Version get) is fuzzed hardest; the others
# share all but a few changes with it (polar/api/versions.py), so the suite keeps them to fewer requests.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "3"))
OTHER_VERSION_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "2"))
# make fuzz sets one (printed on failure, to run the same requests again); the suite's requests never change.
SEED = int(os.environ["FUZZ_SEED"]) if os.environ.get("FUZZ_SEED") else None


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """Thousands of requests from one token and one address in a few minutes: the rate limits (tested on
    their own in tests/polar/test_rate_limits.py) would answer 429 to most of them."""
    settings.RATE_LIMITS_ENABLED = False
    ratelimit.flush_all()
    yield
    ratelimit.flush_all()


@pytest.mark.parametrize("version", versions.VERSIONS)
def test_every_operation_answers_as_its_schema_says(version, api_client, organization, token, settings):
    ids = seed_world(api_client, organization, settings)

    def credentials(path):
        if path.startswith("/v1/customer-portal/members"):
            return f"Bearer {ids['portal_team_token']}"  # members are a team customer's
        return f"Bearer {ids['portal_token'] if path.startswith('/v1/customer-portal/') else token}"

    with in_test_transaction() as app:
        findings, sent = fuzz_version(
            app,
            version,
            credentials=credentials,
            path_parameters=lambda path: path_parameters(path, ids),
            max_examples=MAX_EXAMPLES if version == versions.CURRENT else OTHER_VERSION_EXAMPLES,
            seed=SEED,
        )
    assert sent > 0
    assert not findings, f"{len(findings)} findings in {sent} requests (FUZZ_SEED={SEED}):\n" + "\n".join(
        str(f) for f in findings
    )
