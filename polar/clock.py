"""The one ``now()`` of business time.

Everything that decides on time (periods, expiry, renewals) calls ``polar.clock.now()``.
``freeze(instant)`` moves it for a block, which is how ``run_billing --now`` and tests travel
in time without patching the standard library.
"""

import contextlib
import datetime as dt
from contextvars import ContextVar

_frozen: ContextVar[dt.datetime | None] = ContextVar("polar_clock_frozen", default=None)


def now() -> dt.datetime:
    frozen = _frozen.get()
    if frozen is not None:
        return frozen
    return dt.datetime.now(dt.UTC)


@contextlib.contextmanager
def freeze(instant: dt.datetime):
    if instant.tzinfo is None:
        raise ValueError("polar.clock.freeze needs an aware datetime")
    token = _frozen.set(instant.astimezone(dt.UTC))
    try:
        yield instant
    finally:
        _frozen.reset(token)
