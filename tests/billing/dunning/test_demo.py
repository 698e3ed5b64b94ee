"""The demo's dunning path: one customer recovered through a new card, one still past due with its next
retry scheduled; seeding twice adds nothing."""

from django.apps import apps

from billing.dunning.demo import PAST_DUE_EMAIL, RECOVERED_EMAIL, seed_demo_dunning
from billing.models import DunningAttempt, DunningCase, DunningCaseStatus, Order
from billing.scheduler import billing_run
from polar import clock


def _counts():
    return {m._meta.label: m.objects.count() for app in ("billing", "customers") for m in apps.get_app_config(app).get_models()}


def test_the_demo_seeds_a_failing_card_all_the_way_to_recovery_and_one_still_past_due(organization, mailoutbox):
    result = seed_demo_dunning(organization=organization, billing_run=billing_run)

    assert result["recovered"] == {"customer": RECOVERED_EMAIL, "status": "active"}
    assert result["past_due"] == {"customer": PAST_DUE_EMAIL, "status": "past_due"}
    recovered = DunningCase.objects.get(customer__email=RECOVERED_EMAIL)
    assert recovered.status == DunningCaseStatus.RECOVERED
    # The renewal, two scheduled retries, and the customer's retry with the new card.
    assert list(DunningAttempt.objects.filter(case=recovered).values_list("kind", "status")) == [
        ("initial", "failed"),
        ("scheduled", "failed"),
        ("scheduled", "failed"),
        ("customer", "succeeded"),
    ]
    open_case = DunningCase.objects.get(customer__email=PAST_DUE_EMAIL)
    assert open_case.status == DunningCaseStatus.OPEN and open_case.next_slot == 3
    assert open_case.next_attempt_at > clock.now()
    assert Order.objects.get(pk=open_case.order_id).next_payment_attempt_at == open_case.next_attempt_at
    # Three failure e-mails each, one recovery e-mail.
    assert sorted(m.to[0] for m in mailoutbox) == [PAST_DUE_EMAIL] * 3 + [RECOVERED_EMAIL] * 4

    before = _counts()
    seed_demo_dunning(organization=organization, billing_run=billing_run)
    assert _counts() == before
    assert len(mailoutbox) == 7
