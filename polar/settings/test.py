"""Settings for the test suite: the same services as production (PostgreSQL, Redis), faster hashing."""

import os

# The suite runs on a developer's machine or CI: the public development key is fine (polar.settings.base).
os.environ.setdefault("POLAR_DEVELOPMENT", "1")

from .base import *
from .base import env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests run Celery tasks in-process unless a test starts a real worker on purpose.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
WEBHOOKS_ALLOW_LOOPBACK = True
LOGGING = {"level": env("LOG_LEVEL", default="WARNING"), "format": "console"}
# Each test run counts its rate limits under its own keys: counters left in the shared Redis by an earlier
# run (or by `make demo` on the same Redis) never make this run's requests a 429. A test that starts real
# gunicorn workers hands them its own prefix through the environment, so that they share its counters.
RATE_LIMIT_KEY_PREFIX = env("RATE_LIMIT_KEY_PREFIX", default=f"polar:ratelimit:test-{os.getpid()}:")
