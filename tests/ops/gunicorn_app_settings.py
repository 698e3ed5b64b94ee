"""Settings for the gunicorn of tests/ops/test_gunicorn_shutdown.py: the app's own URLs plus one slow view, so
that a request is surely in flight when the master gets SIGTERM."""

from polar.settings.test import *  # noqa: F401,F403

ROOT_URLCONF = "tests.ops.slow_urls"
