"""Settings for the gunicorn of tests/ops/test_rate_limits_across_workers.py: the app's URLs plus a view that
answers which worker process served it."""

from polar.settings.test import *  # noqa: F401,F403

ROOT_URLCONF = "tests.ops.ratelimit_urls"
