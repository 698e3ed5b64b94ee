"""Delivery policy in one place: retry schedule, timeouts, endpoint health. docs/webhooks.md repeats it."""
import datetime as dt
import random

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

# One HTTP attempt: httpx timeout for each phase (connect, write, each read), and how much of the answer
# is kept.
HTTP_TIMEOUT_SECONDS = 10.0
RESPONSE_EXCERPT_BYTES = 2048
# The per-endpoint lease outlives the longest attempt (connect + write + read of the first 2 KB, each
# bounded by the timeout) with a margin; a worker that dies mid-attempt frees the endpoint after it.
DELIVERY_LEASE = dt.timedelta(minutes=2)
# Deliveries sent by one task run before it re-enqueues itself (fairness between endpoints).
DELIVERY_BATCH = 50


def retry_delay(failed_attempts: int, *, rng: random.Random | None = None) -> dt.timedelta | None:
    """The jittered delay after ``failed_attempts`` failures in a row, or None when it is time to give up."""
    if failed_attempts < 1 or failed_attempts > len(RETRY_DELAYS):
        return None
    base = RETRY_DELAYS[failed_attempts - 1]
    factor = (rng or random).uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)
    return dt.timedelta(seconds=base.total_seconds() * factor)
