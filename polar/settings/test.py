"""Settings for the test suite: the same services as production (PostgreSQL, Redis), faster hashing."""
from .base import *  # noqa: F401,F403
from .base import env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests run Celery tasks in-process unless a test starts a real worker on purpose.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
WEBHOOKS_ALLOW_LOOPBACK = True
LOGGING = {"level": env("LOG_LEVEL", default="WARNING"), "format": "console"}
