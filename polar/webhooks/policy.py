"""Delivery policy in one place: retry schedule, timeouts, endpoint health. docs/webhooks.md repeats it."""

import datetime as dt
import random

from django.conf import settings

# Delay before retry n (1-based) after the n-th failed attempt of a delivery. After the last one the
# delivery gives up (status failed): 10 attempts over about 3 days 3 hours.
RETRY_DELAYS: tuple[dt.timedelta, ...] = (
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
    dt.timedelta(hours=14),
    dt.timedelta(hours=20),
    dt.timedelta(hours=24),
)
# Each delay is multiplied by a random factor in [1 - JITTER, 1 + JITTER] so that the endpoints that
# failed together (a receiver outage) do not come back all at the same second.
RETRY_JITTER = 0.10

# An endpoint is disabled (and its organization's members emailed) when every attempt for this long failed,
# with at least this many failed attempts, and no success in between.
DISABLE_AFTER_FAILING_FOR = dt.timedelta(hours=24)
DISABLE_MIN_FAILED_ATTEMPTS = 5

# One HTTP attempt. The deadline (setting WEBHOOK_DELIVERY_DEADLINE_SECONDS, default 10 s) bounds the whole
# attempt on the wall clock: DNS, connect, TLS, writing the request, the answer's headers and body together.
# HTTP_TIMEOUT_SECONDS still bounds each socket operation (it only matters if it is shorter). Only the first
# RESPONSE_EXCERPT_BYTES of the answer are read and kept.
HTTP_TIMEOUT_SECONDS = 10.0
RESPONSE_EXCERPT_BYTES = 2048
# The per-endpoint lease is the attempt's deadline plus this margin (time to claim, record, and for a worker
# pause). The sender never works past its deadline, which ends at least the margin before the lease does, so
# a second worker can take the endpoint only once the first one has stopped talking to the receiver.
DELIVERY_LEASE_MARGIN = dt.timedelta(seconds=30)
# A delivery task starts no new attempt after this much time and re-enqueues itself instead (to the back of
# the queue): a slow endpoint holds a worker for at most this plus one deadline, then others go first.
DELIVERY_DRAIN_SECONDS = 1.0
# Deliveries sent by one task run at most, however fast the receiver.
DELIVERY_BATCH = 50


def delivery_deadline_seconds() -> float:
    return float(settings.WEBHOOK_DELIVERY_DEADLINE_SECONDS)


def delivery_lease() -> dt.timedelta:
    """How long a worker holds an endpoint: always longer than one attempt's deadline."""
    return dt.timedelta(seconds=delivery_deadline_seconds()) + DELIVERY_LEASE_MARGIN


def retry_delay(failed_attempts: int, *, rng: random.Random | None = None) -> dt.timedelta | None:
    """The jittered delay after ``failed_attempts`` failures in a row, or None when it is time to give up."""
    if failed_attempts < 1 or failed_attempts > len(RETRY_DELAYS):
        return None
    base = RETRY_DELAYS[failed_attempts - 1]
    factor = (rng or random).uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)
    return dt.timedelta(seconds=base.total_seconds() * factor)
