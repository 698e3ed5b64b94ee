"""Payment processors behind one interface (``base.PaymentProcessor``); ``get_processor()`` returns
the one ``settings.PAYMENT_PROCESSOR`` names. The sandbox is built in (see docs/sandbox.md)."""

from django.conf import settings

from billing.payments.processors.base import (
    AttachResult,
    ChargeNotFound,
    ChargeResult,
    DisputeReport,
    IdempotencyKeyReused,
    PaymentProcessor,
    ProcessorAPIError,
    ProcessorError,
    ProcessorTimeout,
    RefundExceedsCharge,
    RefundResult,
)

_REGISTRY = {
    "sandbox": "billing.payments.processors.sandbox.SandboxProcessor",
}


def get_processor(name: str | None = None) -> PaymentProcessor:
    """The processor named ``name`` (default ``settings.PAYMENT_PROCESSOR``). Instances are stateless."""
    from django.utils.module_loading import import_string

    name = name or getattr(settings, "PAYMENT_PROCESSOR", "sandbox")
    try:
        path = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown payment processor {name!r}; known: {', '.join(_REGISTRY)}") from None
    return import_string(path)()


__all__ = [
    "AttachResult",
    "ChargeNotFound",
    "ChargeResult",
    "DisputeReport",
    "IdempotencyKeyReused",
    "PaymentProcessor",
    "ProcessorAPIError",
    "ProcessorError",
    "ProcessorTimeout",
    "RefundExceedsCharge",
    "RefundResult",
    "get_processor",
]
