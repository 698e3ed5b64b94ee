"""Settings for the real Celery worker the killed-worker test starts: tasks really go through Redis,
and an unacknowledged message of a killed worker becomes visible again after 2 s (not 1 h)."""
from polar.settings.test import *  # noqa: F401,F403

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2, "unacked_restore_interval": 1, "unacked_restore_throttle": 1}
