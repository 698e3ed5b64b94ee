"""The sandbox payment processor's own state. These tables stand for an outside system: only
``billing.payments.processors.sandbox`` reads or writes them, never our services, and nothing of ours has a
foreign key into them (we keep the processor's references as strings, as we would Stripe's ids).
"""

import uuid

from django.db import models


class SandboxSettings(models.Model):
    """A singleton row (pk 1) holding the sandbox's fault switch, editable in the admin.

    ``settings.SANDBOX_PROCESSOR_FAULT``, when set, overrides the row (handy in tests and CI).
    """

    class Fault(models.TextChoices):
        NONE = "none", "Answer normally"
        TIMEOUT = "timeout", "Time out before the request is processed (nothing happens)"
        TIMEOUT_AFTER_CHARGE = "timeout_after_charge", "Process the request, then time out (the answer is lost)"
        ERROR = "error", "Fail with a processor error (nothing happens)"

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    fault = models.CharField(max_length=32, choices=Fault.choices, default=Fault.NONE)

    class Meta:
        verbose_name = "sandbox processor settings"
        verbose_name_plural = "sandbox processor settings"

    def __str__(self):
        return f"Sandbox processor: {self.get_fault_display()}"


class SandboxPaymentMethod(models.Model):
    class Behaviour(models.TextChoices):
        SUCCEED = "succeed"
        DECLINE_CHARGES = "decline_charges"
        INSUFFICIENT_FUNDS = "insufficient_funds"
        DISPUTE = "dispute"
        LOST_CARD = "lost_card"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ref = models.CharField(max_length=64, unique=True)
    customer_ref = models.CharField(max_length=128)
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    behaviour = models.CharField(max_length=32, choices=Behaviour.choices)
    brand = models.CharField(max_length=32)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.ref


class SandboxCharge(models.Model):
    class Status(models.TextChoices):
        SUCCEEDED = "succeeded"
        DECLINED = "declined"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ref = models.CharField(max_length=64, unique=True)
    # The processor's promise: one charge per key, ever.
    idempotency_key = models.CharField(max_length=255, unique=True)
    payment_method = models.ForeignKey(SandboxPaymentMethod, on_delete=models.PROTECT, related_name="charges")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=512, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices)
    decline_code = models.CharField(max_length=64, null=True, blank=True)
    decline_message = models.CharField(max_length=512, null=True, blank=True)
    fee = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.ref


class SandboxRefund(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ref = models.CharField(max_length=64, unique=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    charge = models.ForeignKey(SandboxCharge, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField()
    status = models.CharField(max_length=16, default="succeeded")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.ref


class SandboxDispute(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ref = models.CharField(max_length=64, unique=True)
    charge = models.OneToOneField(SandboxCharge, on_delete=models.PROTECT, related_name="dispute")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=64, default="fraudulent")
    status = models.CharField(max_length=32, default="needs_response")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self):
        return self.ref
