"""Billing models, one module per subdomain; import them here so Django finds them."""
from .meters import Meter  # noqa: F401
