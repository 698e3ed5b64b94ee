"""Payment methods and charges through the services, against the persistent sandbox."""

import pytest

from billing.models import Payment, PaymentMethod, SandboxCharge
from billing.payments.processors import get_processor
from billing.payments.services import (
    IdempotencyKeyReusedError,
    PaymentError,
    PaymentMethodSetupFailed,
    PaymentProcessorTimeout,
    payment_charge,
    payment_method_attach,
    payment_method_delete,
    payment_reconcile,
    payments_reconcile_pending,
)
from polar.errors import PolarRequestValidationError, ResourceNotFound
from tests.factories import CustomerFactory
from tests.factories.payments import attach_card

pytestmark = pytest.mark.django_db


def charge(customer, method, key="order:1:attempt:1", amount=2000, currency="usd", **kwargs):
    return payment_charge(
        customer=customer, payment_method=method, amount=amount, currency=currency, idempotency_key=key, **kwargs
    )


# --- attaching ----------------------------------------------------------------------------------


def test_visa_token_attaches_with_display_details_and_becomes_default(customer):
    method = payment_method_attach(customer=customer, token="pm_card_visa", set_default=True)
    assert (method.brand, method.last4, method.exp_month, method.exp_year, method.processor) == (
        "visa",
        "4242",
        12,
        2034,
        "sandbox",
    )
    customer.refresh_from_db()
    assert customer.default_payment_method_id == method.id


def test_card_number_attaches_like_its_token(customer):
    method = payment_method_attach(customer=customer, token="4000 0000 0000 0341")
    assert method.last4 == "0341"
    payment = charge(customer, method)
    assert (payment.status, payment.decline_reason) == ("failed", "card_declined")


def test_declined_card_raises_setup_failed_with_the_code_and_writes_nothing(customer):
    with pytest.raises(PaymentMethodSetupFailed) as excinfo:
        payment_method_attach(customer=customer, token="pm_card_visa_chargeDeclined", set_default=True)
    assert excinfo.value.decline_code == "card_declined"
    assert excinfo.value.status_code == 402
    assert PaymentMethod.objects.count() == 0
    customer.refresh_from_db()
    assert customer.default_payment_method_id is None


def test_first_method_becomes_default_even_without_set_default(customer):
    method = payment_method_attach(customer=customer, token="pm_card_visa", set_default=False)
    customer.refresh_from_db()
    assert customer.default_payment_method_id == method.id


def test_second_method_without_set_default_keeps_the_default(customer):
    first = attach_card(customer)
    payment_method_attach(customer=customer, token="pm_card_mastercard", set_default=False)
    customer.refresh_from_db()
    assert customer.default_payment_method_id == first.id


def test_deleting_the_default_method_clears_the_default(customer):
    method = attach_card(customer)
    payment_method_delete(payment_method=method)
    method.refresh_from_db()
    customer.refresh_from_db()
    assert method.deleted_at is not None
    assert customer.default_payment_method_id is None


def test_deleting_twice_is_not_found(customer):
    method = attach_card(customer)
    payment_method_delete(payment_method=method)
    with pytest.raises(ResourceNotFound):
        payment_method_delete(payment_method=method)


def test_attach_timeout_raises_503_and_writes_nothing(customer, sandbox_fault):
    sandbox_fault("timeout")
    with pytest.raises(PaymentProcessorTimeout) as excinfo:
        payment_method_attach(customer=customer, token="pm_card_visa")
    assert excinfo.value.status_code == 503
    assert PaymentMethod.objects.count() == 0


# --- charging: each test card --------------------------------------------------------------------


def test_visa_charge_succeeds_with_fee_and_charge_ref(customer):
    method = attach_card(customer)
    payment = charge(customer, method, amount=2000, trigger="purchase")
    assert (payment.status, payment.amount, payment.currency, payment.fee, payment.trigger) == (
        "succeeded",
        2000,
        "usd",
        88,
        "purchase",
    )
    assert SandboxCharge.objects.get(ref=payment.processor_charge_ref).idempotency_key == "order:1:attempt:1"


def test_customer_fail_card_declines_every_charge_card_declined(customer):
    method = attach_card(customer, token="pm_card_chargeCustomerFail")
    payment = charge(customer, method)
    assert (payment.status, payment.decline_reason, payment.decline_message, payment.fee) == (
        "failed",
        "card_declined",
        "Your card was declined.",
        None,
    )


def test_insufficient_funds_card_declines_insufficient_funds(customer):
    method = attach_card(customer, token="pm_card_visa_chargeDeclinedInsufficientFunds")
    payment = charge(customer, method)
    assert (payment.status, payment.decline_reason) == ("failed", "insufficient_funds")


def test_dispute_card_charge_succeeds_and_the_dispute_is_reported(customer):
    method = attach_card(customer, token="pm_card_createDispute")
    payment = charge(customer, method, amount=4900)
    assert payment.status == "succeeded"
    import datetime as dt

    disputes = get_processor().list_disputes(since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert [(d.charge_ref, d.amount) for d in disputes] == [(payment.processor_charge_ref, 4900)]


# --- idempotency and crashes ---------------------------------------------------------------------


def test_same_key_gives_one_payment_and_one_processor_charge(customer):
    method = attach_card(customer)
    first = charge(customer, method)
    second = charge(customer, method)
    assert first.id == second.id
    assert Payment.objects.count() == 1
    assert SandboxCharge.objects.count() == 1


def test_same_key_with_another_amount_is_a_conflict(customer):
    method = attach_card(customer)
    charge(customer, method, amount=2000)
    with pytest.raises(IdempotencyKeyReusedError):
        charge(customer, method, amount=2500)
    assert Payment.objects.count() == 1


def test_crash_after_the_processor_charged_is_reconciled_without_a_second_charge(customer):
    method = attach_card(customer)
    # The dead process wrote its marker and the processor charged, but the answer was never recorded.
    marker = Payment.objects.create(
        organization=customer.organization,
        customer=customer,
        payment_method=method,
        amount=2000,
        currency="usd",
        processor="sandbox",
        idempotency_key="order:1:attempt:1",
    )
    made = get_processor().charge(
        payment_method_ref=method.processor_ref, amount=2000, currency="usd", idempotency_key="order:1:attempt:1"
    )
    payment = charge(customer, method)
    assert payment.id == marker.id
    assert (payment.status, payment.processor_charge_ref, payment.fee) == ("succeeded", made.charge_ref, 88)
    assert SandboxCharge.objects.count() == 1


def test_crash_before_the_processor_was_called_charges_once_on_retry(customer):
    method = attach_card(customer)
    Payment.objects.create(
        organization=customer.organization,
        customer=customer,
        payment_method=method,
        amount=2000,
        currency="usd",
        processor="sandbox",
        idempotency_key="order:1:attempt:1",
    )
    payment = charge(customer, method)
    assert payment.status == "succeeded"
    assert SandboxCharge.objects.count() == 1


def test_timeout_before_processing_leaves_pending_then_reconcile_charges_once(customer, sandbox_fault):
    method = attach_card(customer)
    sandbox_fault("timeout")
    with pytest.raises(PaymentProcessorTimeout) as excinfo:
        charge(customer, method)
    pending = excinfo.value.payment
    assert pending.status == "pending"
    assert pending.last_error.startswith("timeout")
    assert SandboxCharge.objects.count() == 0
    sandbox_fault("none")
    settled = payment_reconcile(payment=pending)
    assert settled.status == "succeeded"
    assert SandboxCharge.objects.count() == 1


def test_lost_answer_is_found_by_key_on_retry_without_a_second_charge(customer, sandbox_fault):
    method = attach_card(customer)
    sandbox_fault("timeout_after_charge")
    with pytest.raises(PaymentProcessorTimeout):
        charge(customer, method)
    assert Payment.objects.get().status == "pending"
    sandbox_fault("none")
    payment = charge(customer, method)
    assert payment.status == "succeeded"
    assert SandboxCharge.objects.count() == 1
    assert Payment.objects.count() == 1


def test_processor_error_fails_the_payment_with_a_502(customer, sandbox_fault):
    method = attach_card(customer)
    sandbox_fault("error")
    with pytest.raises(PaymentError) as excinfo:
        charge(customer, method)
    assert excinfo.value.status_code == 502
    payment = Payment.objects.get()
    assert (payment.status, payment.decline_reason) == ("failed", "processor_error")
    assert SandboxCharge.objects.count() == 0


# --- bad input -----------------------------------------------------------------------------------


def test_another_customers_method_is_refused_and_nothing_written(customer, organization):
    method = attach_card(CustomerFactory(organization=organization))
    with pytest.raises(PolarRequestValidationError) as excinfo:
        charge(customer, method)
    assert excinfo.value.errors[0]["loc"] == ["body", "payment_method_id"]
    assert Payment.objects.count() == 0


def test_deleted_method_is_refused(customer):
    method = attach_card(customer)
    payment_method_delete(payment_method=method)
    method.refresh_from_db()
    with pytest.raises(PolarRequestValidationError):
        charge(customer, method)


@pytest.mark.parametrize(
    ("amount", "currency", "loc"),
    [(0, "usd", "amount"), (-5, "usd", "amount"), (100, "USD", "currency"), (100, "xyz", "currency")],
)
def test_bad_amount_or_currency_is_refused(customer, amount, currency, loc):
    method = attach_card(customer)
    with pytest.raises(PolarRequestValidationError) as excinfo:
        charge(customer, method, amount=amount, currency=currency)
    assert excinfo.value.errors[0]["loc"] == ["body", loc]
    assert Payment.objects.count() == 0


def test_sweep_settles_old_pending_payments_once(customer, sandbox_fault):
    import datetime as dt

    method = attach_card(customer)
    sandbox_fault("timeout_after_charge")
    with pytest.raises(PaymentProcessorTimeout):
        charge(customer, method, key="order:s1:attempt:1")
    sandbox_fault("timeout")
    with pytest.raises(PaymentProcessorTimeout):
        charge(customer, method, key="order:s2:attempt:1")
    sandbox_fault("none")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert payments_reconcile_pending(created_before=later) == {"succeeded": 2, "failed": 0, "pending": 0}
    assert SandboxCharge.objects.count() == 2
    assert payments_reconcile_pending(created_before=later) == {"succeeded": 0, "failed": 0, "pending": 0}


def test_sweep_leaves_payments_pending_while_the_processor_is_down(customer, sandbox_fault):
    import datetime as dt

    method = attach_card(customer)
    sandbox_fault("timeout")
    with pytest.raises(PaymentProcessorTimeout):
        charge(customer, method)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert payments_reconcile_pending(created_before=later) == {"succeeded": 0, "failed": 0, "pending": 1}
    assert Payment.objects.get().status == "pending"


def test_payment_state_changes_are_audited(customer):
    from auditlog.models import LogEntry

    payment = charge(customer, attach_card(customer))
    actions = list(LogEntry.objects.get_for_object(payment).order_by("timestamp").values_list("action", flat=True))
    assert actions == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]


# --- payments_charge_many (renewal batches) ---------------------------------------------------------------------


def test_charge_many_records_each_outcome_and_reconciles_a_key_used_before(customer, organization):
    from billing.payments.services import ChargeRequest, payments_charge_many

    visa = attach_card(customer)
    other = CustomerFactory(organization=organization, email="other@example.com")
    declining = attach_card(other, "pm_card_chargeCustomerFail")
    # A crash left this one pending after the processor charged it.
    marker = Payment.objects.create(
        organization=organization,
        customer=customer,
        payment_method=visa,
        amount=500,
        currency="usd",
        processor="sandbox",
        idempotency_key="k-old",
    )
    get_processor().charge(payment_method_ref=visa.processor_ref, amount=500, currency="usd", idempotency_key="k-old")
    requests = [
        ChargeRequest(customer=customer, payment_method=visa, amount=2000, currency="usd", idempotency_key="k-new"),
        ChargeRequest(customer=other, payment_method=declining, amount=2000, currency="usd", idempotency_key="k-declined"),
        ChargeRequest(customer=customer, payment_method=visa, amount=500, currency="usd", idempotency_key="k-old"),
    ]
    new, declined, old = payments_charge_many(requests)
    assert (new.status, new.fee, declined.status, declined.decline_reason) == ("succeeded", 88, "failed", "card_declined")
    assert (old.id, old.status) == (marker.id, "succeeded")
    assert SandboxCharge.objects.count() == 3
    # Again: the same payments, nothing charged twice.
    assert [p.id for p in payments_charge_many(requests)] == [new.id, declined.id, old.id]
    assert SandboxCharge.objects.count() == 3
    assert Payment.objects.count() == 3


def test_charge_many_refuses_a_bad_request_before_writing_anything(customer):
    from billing.payments.services import ChargeRequest, payments_charge_many

    visa = attach_card(customer)
    with pytest.raises(PolarRequestValidationError):
        payments_charge_many(
            [
                ChargeRequest(customer=customer, payment_method=visa, amount=2000, currency="usd", idempotency_key="a"),
                ChargeRequest(customer=customer, payment_method=visa, amount=0, currency="usd", idempotency_key="b"),
            ]
        )
    assert not Payment.objects.exists()
