"""Settings for the test suite: the same services as production (PostgreSQL, Redis), faster hashing."""
import os

# The suite runs on a developer's machine or CI: the public development key is fine (polar.settings.base).
os.environ.setdefault("POLAR_DEVELOPMENT", "1")

from .base import *  # noqa: E402,F401,F403
from .base import env  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests run Celery tasks in-process unless a test starts a real worker on purpose.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
WEBHOOKS_ALLOW_LOOPBACK = True
LOGGING = {"level": env("LOG_LEVEL", default="WARNING"), "format": "console"}
