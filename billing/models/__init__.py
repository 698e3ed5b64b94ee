"""Billing models, one module per subdomain; import them here so Django finds them."""
from .meters import Meter  # noqa: F401
from .meters import CustomerMeter  # noqa: F401
from .events import Event, EventExternalId  # noqa: F401
