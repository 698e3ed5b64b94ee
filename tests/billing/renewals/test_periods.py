"""Period arithmetic at the subscription level: each renewal's order covers the next period exactly."""

import datetime as dt

import pytest
from django.core.management import call_command

from billing.models import Order
from tests.factories.subscriptions import monthly_product

from .conftest import subscribe


def utc(y, m, d, h=9):
    return dt.datetime(y, m, d, h, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("interval", "count", "start", "expected_ends"),
    [
        # month ends: the anchor (31st) is kept and clamped, never drifting to the 28th
        ("month", 1, utc(2026, 1, 31), [utc(2026, 2, 28), utc(2026, 3, 31), utc(2026, 4, 30), utc(2026, 5, 31)]),
        # leap year February
        ("month", 1, utc(2028, 1, 30), [utc(2028, 2, 29), utc(2028, 3, 30), utc(2028, 4, 30), utc(2028, 5, 30)]),
        # yearly on 29 February: 28 February in common years, 29 in leap years
        ("year", 1, utc(2024, 2, 29), [utc(2025, 2, 28), utc(2026, 2, 28), utc(2027, 2, 28), utc(2028, 2, 29)]),
        # quarterly (interval count 3) from a month end
        ("month", 3, utc(2026, 1, 31), [utc(2026, 4, 30), utc(2026, 7, 31), utc(2026, 10, 31), utc(2027, 1, 31)]),
        # weekly and fortnightly: exact multiples of 7 days
        ("week", 1, utc(2026, 2, 25), [utc(2026, 3, 4), utc(2026, 3, 11), utc(2026, 3, 18), utc(2026, 3, 25)]),
        ("week", 2, utc(2026, 12, 24), [utc(2027, 1, 7), utc(2027, 1, 21), utc(2027, 2, 4), utc(2027, 2, 18)]),
        ("day", 1, utc(2028, 2, 28), [utc(2028, 2, 29), utc(2028, 3, 1), utc(2028, 3, 2), utc(2028, 3, 3)]),
    ],
)
def test_renewals_follow_the_period_arithmetic(organization, customer, card, interval, count, start, expected_ends):
    product = monthly_product(organization, name="Plan", amount=500, recurring_interval=interval, recurring_interval_count=count)
    subscription = subscribe(organization, customer, product, at=start)
    assert subscription.current_period_end == expected_ends[0]

    call_command("run_billing", now=expected_ends[-1].isoformat())

    orders = Order.objects.filter(subscription=subscription, billing_reason="subscription_cycle").order_by("period_start")
    assert [(o.period_start, o.period_end) for o in orders] == list(zip(expected_ends[:-1], expected_ends[1:]))[:3] + [
        (expected_ends[-1], orders.last().period_end)
    ]
    assert [o.total_amount for o in orders] == [500] * 4
    subscription.refresh_from_db()
    assert subscription.current_period_start == expected_ends[-1]
