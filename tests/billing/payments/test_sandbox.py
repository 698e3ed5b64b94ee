"""The sandbox processor on its own: its promises (idempotency, fees, refunds, disputes, faults)."""

import datetime as dt

import pytest

from billing.models import SandboxCharge, SandboxDispute, SandboxPaymentMethod, SandboxRefund
from billing.payments.processors import (
    IdempotencyKeyReused,
    ProcessorAPIError,
    ProcessorTimeout,
    RefundExceedsCharge,
    get_processor,
)
from billing.payments.processors.sandbox import sandbox_fee

pytestmark = pytest.mark.django_db


@pytest.fixture
def processor():
    return get_processor()


def attach(processor, token="pm_card_visa", key="pm-key-1"):
    return processor.attach_payment_method(token=token, customer_ref="cus_1", idempotency_key=key)


def test_get_processor_returns_the_sandbox_by_default(processor):
    assert processor.name == "sandbox"


def test_get_processor_refuses_an_unknown_name():
    with pytest.raises(ValueError):
        get_processor("paypal")


@pytest.mark.parametrize(
    ("amount", "fee"),
    [(2000, 88), (1050, 60), (1550, 75), (1, 30)],  # 2.9 %: 58, 30.45→30, 44.95→45, 0.029→0; + 30
)
def test_fee_is_2_9_percent_rounded_half_away_from_zero_plus_30(amount, fee):
    assert sandbox_fee(amount) == fee


def test_visa_charge_succeeds_and_records_the_fee(processor):
    method = attach(processor)
    result = processor.charge(payment_method_ref=method.payment_method_ref, amount=2000, currency="usd", idempotency_key="k1")
    assert (result.status, result.amount, result.fee) == ("succeeded", 2000, 88)
    assert SandboxCharge.objects.get(ref=result.charge_ref).fee == 88


def test_same_key_same_parameters_returns_the_same_charge(processor):
    method = attach(processor)
    first = processor.charge(payment_method_ref=method.payment_method_ref, amount=2000, currency="usd", idempotency_key="k1")
    second = processor.charge(payment_method_ref=method.payment_method_ref, amount=2000, currency="usd", idempotency_key="k1")
    assert first == second
    assert SandboxCharge.objects.count() == 1


def test_same_key_different_amount_is_refused(processor):
    method = attach(processor)
    processor.charge(payment_method_ref=method.payment_method_ref, amount=2000, currency="usd", idempotency_key="k1")
    with pytest.raises(IdempotencyKeyReused):
        processor.charge(payment_method_ref=method.payment_method_ref, amount=2001, currency="usd", idempotency_key="k1")
    assert SandboxCharge.objects.count() == 1


def test_attach_with_the_same_key_returns_the_same_method(processor):
    assert attach(processor) == attach(processor)
    assert SandboxPaymentMethod.objects.count() == 1


def test_retrieve_by_key_finds_the_charge_or_none(processor):
    method = attach(processor)
    made = processor.charge(payment_method_ref=method.payment_method_ref, amount=500, currency="eur", idempotency_key="k1")
    assert processor.retrieve_charge_by_idempotency_key("k1") == made
    assert processor.retrieve_charge_by_idempotency_key("never-used") is None


def test_unknown_token_and_bad_card_number_are_declined(processor):
    assert attach(processor, token="pm_card_unknown").decline_code == "invalid_token"
    assert attach(processor, token="4242 4242 4242 4241", key="k2").decline_code == "incorrect_number"


def test_other_luhn_valid_numbers_attach_with_their_brand(processor):
    result = attach(processor, token="5105 1051 0510 5100")
    assert (result.status, result.brand, result.last4) == ("succeeded", "mastercard", "5100")


def test_refunds_are_idempotent_and_cannot_exceed_the_charge(processor):
    method = attach(processor)
    charge = processor.charge(payment_method_ref=method.payment_method_ref, amount=1000, currency="usd", idempotency_key="k1")
    first = processor.refund(charge_ref=charge.charge_ref, amount=600, idempotency_key="refund:1")
    assert processor.refund(charge_ref=charge.charge_ref, amount=600, idempotency_key="refund:1") == first
    with pytest.raises(RefundExceedsCharge):
        processor.refund(charge_ref=charge.charge_ref, amount=401, idempotency_key="refund:2")
    processor.refund(charge_ref=charge.charge_ref, amount=400, idempotency_key="refund:3")
    assert sum(SandboxRefund.objects.values_list("amount", flat=True)) == 1000


def test_declined_charge_cannot_be_refunded(processor):
    method = attach(processor, token="pm_card_chargeCustomerFail")
    charge = processor.charge(payment_method_ref=method.payment_method_ref, amount=1000, currency="usd", idempotency_key="k1")
    with pytest.raises(ProcessorAPIError):
        processor.refund(charge_ref=charge.charge_ref, amount=100, idempotency_key="refund:1")


def test_dispute_card_opens_a_dispute_reported_since_the_charge(processor):
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    method = attach(processor, token="pm_card_createDispute")
    charge = processor.charge(payment_method_ref=method.payment_method_ref, amount=1234, currency="usd", idempotency_key="k1")
    assert charge.status == "succeeded"
    disputes = processor.list_disputes(since=since)
    assert [(d.charge_ref, d.amount, d.reason) for d in disputes] == [(charge.charge_ref, 1234, "fraudulent")]
    assert processor.list_disputes(since=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)) == []


def test_timeout_fault_does_nothing(processor, sandbox_fault):
    method = attach(processor)
    sandbox_fault("timeout")
    with pytest.raises(ProcessorTimeout):
        processor.charge(payment_method_ref=method.payment_method_ref, amount=1000, currency="usd", idempotency_key="k1")
    assert SandboxCharge.objects.count() == 0


def test_timeout_after_charge_fault_charges_and_loses_the_answer(processor, sandbox_fault):
    method = attach(processor)
    sandbox_fault("timeout_after_charge")
    with pytest.raises(ProcessorTimeout):
        processor.charge(payment_method_ref=method.payment_method_ref, amount=1000, currency="usd", idempotency_key="k1")
    assert SandboxCharge.objects.filter(idempotency_key="k1").count() == 1


def test_setting_overrides_the_fault_row(processor, settings):
    settings.SANDBOX_PROCESSOR_FAULT = "error"
    with pytest.raises(ProcessorAPIError):
        attach(processor)


# --- charge_many: the batch the renewals use -------------------------------------------------------------------


def _requests(methods, prefix, amount=2000):
    return [
        {"payment_method_ref": m.payment_method_ref, "amount": amount, "currency": "usd", "idempotency_key": f"{prefix}-{i}"}
        for i, m in enumerate(methods)
    ]


def _comparable(result):
    return (result.status, result.amount, result.currency, result.fee, result.decline_code, result.decline_message)


def test_charge_many_answers_each_charge_as_charge_would(processor):
    tokens = ["pm_card_visa", "pm_card_chargeCustomerFail", "pm_card_visa_chargeDeclinedInsufficientFunds", "pm_card_mastercard"]
    methods = [attach(processor, token, key=f"m-{token}") for token in tokens]
    batch = processor.charge_many(_requests(methods, "batch"))
    one_by_one = [processor.charge(**request) for request in _requests(methods, "single")]
    assert [_comparable(r) for r in batch] == [_comparable(r) for r in one_by_one]
    assert [r.status for r in batch] == ["succeeded", "declined", "declined", "succeeded"]
    # The same keys again: the same charges, nothing new.
    assert processor.charge_many(_requests(methods, "batch")) == batch
    assert SandboxCharge.objects.count() == 8


def test_charge_many_keeps_the_dispute_card_and_the_fault_switch_behaviour(processor, sandbox_fault):
    visa, disputed = attach(processor, key="a"), attach(processor, "pm_card_createDispute", key="b")
    results = processor.charge_many(_requests([visa, disputed], "d"))
    assert [r.status for r in results] == ["succeeded", "succeeded"]
    assert SandboxDispute.objects.filter(charge__ref=results[1].charge_ref).count() == 1

    sandbox_fault("timeout")
    answers = processor.charge_many(_requests([visa], "t"))
    assert isinstance(answers[0], ProcessorTimeout)
    assert not SandboxCharge.objects.filter(idempotency_key="t-0").exists()
