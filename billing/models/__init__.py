"""Billing models, one module per subdomain; import them here so Django finds them."""
from .meters import Meter  # noqa: F401
from .payments import Payment, PaymentMethod  # noqa: F401
from .sandbox import SandboxCharge, SandboxDispute, SandboxPaymentMethod, SandboxRefund, SandboxSettings  # noqa: F401
