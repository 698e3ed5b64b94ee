"""Four-eyes staff payouts: at most the threshold, paid out at once; above it, a request that another staff
member approves; a frozen organization's payouts refused whoever asks."""

import pytest

from billing.approvals.services import SelfApprovalRefused, approval_approve, staff_payout
from billing.models import ApprovalRequest
from payouts.models import Payout
from payouts.services import PayoutsFrozen, payout_freeze
from polar.errors import NotPermitted
from tests.factories.staff import make_staff
from tests.payouts.conftest import available_funds, bank_account

pytestmark = pytest.mark.django_db

AVAILABLE = 2000 - 120  # a 2000 order less the platform fee (4 % + 40)


@pytest.fixture
def funded(organization, settings):
    settings.SANDBOX_PROCESSOR_FAULT = ""
    bank_account(organization)
    available_funds(organization, amount=2000)
    return organization


def test_a_payout_at_most_the_threshold_is_made_at_once(funded):
    finance = make_staff("finance", funded)
    payout = staff_payout(actor=finance, organization=funded, reason="Merchant asked by e-mail")
    assert isinstance(payout, Payout)
    assert (payout.amount, payout.currency) == (AVAILABLE, "usd")


def test_above_the_threshold_another_staff_member_approves_and_the_payout_is_made(funded):
    funded.four_eyes_threshold = 1000
    funded.save(update_fields=["four_eyes_threshold"])
    finance = make_staff("finance", funded)
    risk = make_staff("risk", funded)
    approval = staff_payout(actor=finance, organization=funded, reason="Quarter end")
    assert isinstance(approval, ApprovalRequest)
    assert (approval.kind, approval.amount, approval.status) == ("payout", AVAILABLE, "pending")
    assert not Payout.objects.exists()
    with pytest.raises(SelfApprovalRefused):
        approval_approve(actor=finance, approval_id=approval.pk, reason="mine")
    approval = approval_approve(actor=risk, approval_id=approval.pk, reason="Balance checked")
    payout = Payout.objects.get(pk=approval.result_id)
    assert (approval.status, payout.amount) == ("executed", AVAILABLE)


def test_a_frozen_organization_is_refused_and_support_may_not_pay_out(funded):
    payout_freeze(organization=funded, reason="review")
    with pytest.raises(PayoutsFrozen):
        staff_payout(actor=make_staff("finance", funded), organization=funded, reason="try")
    with pytest.raises(NotPermitted):
        staff_payout(actor=make_staff("support", funded), organization=funded, reason="try")
    assert not Payout.objects.exists()
