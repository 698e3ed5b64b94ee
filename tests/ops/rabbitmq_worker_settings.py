"""Settings for the real Celery worker of tests/ops/test_rabbitmq_broker.py: the broker is RabbitMQ (AMQP), not
Redis, and the worker consumes a queue of the test's own so that nothing else on the broker meets it."""

import os

from polar.settings.test import *  # noqa: F401,F403

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = os.environ["POLAR_TEST_BROKER_URL"]
CELERY_TASK_DEFAULT_QUEUE = os.environ["POLAR_TEST_QUEUE"]
# The Redis transport's options (visibility timeout) mean nothing to AMQP, which redelivers on a lost channel.
CELERY_BROKER_TRANSPORT_OPTIONS = {}
