"""The ledger's and the payouts' state gauges for /metrics (see ``polar.observability.metrics.SCRAPE_COLLECTORS``).

``polar_ledger_breaches`` is the count of the last ``ledger_check`` (the nightly beat task or the
command), read from the cache: a scrape never runs the checks. Before any check ran it reads 0 and
``polar_ledger_check_last_run_timestamp_seconds`` reads 0 (alert on its age to catch a stopped beat).

The payout gauges are three small indexed queries at scrape time: payouts in transit (count and amount),
payouts failed in the last 24 hours, organizations whose payouts are frozen (docs/runbooks/PolarPayoutsFailed.md).
"""

import datetime as dt

from django.db.models import Count, Sum
from prometheus_client.core import GaugeMetricFamily

from payouts.checks import ledger_check_last
from payouts.models import Payout, PayoutAccount, PayoutStatus
from polar import clock


def ledger_state():
    last = ledger_check_last() or {"breaches": 0, "at": 0}
    yield GaugeMetricFamily(
        "polar_ledger_breaches", "Ledger invariant breaches found by the last ledger check", value=last["breaches"]
    )
    yield GaugeMetricFamily(
        "polar_ledger_check_last_run_timestamp_seconds", "When the last ledger check ran (unix time)", value=last["at"]
    )


def payouts_state():
    in_transit = GaugeMetricFamily("polar_payouts_in_transit", "Payouts sent and not settled yet", labels=["currency"])
    amount = GaugeMetricFamily(
        "polar_payouts_in_transit_amount", "Minor units of the payouts sent and not settled yet", labels=["currency"]
    )
    rows = (
        Payout.objects.filter(status__in=[PayoutStatus.PENDING, PayoutStatus.IN_TRANSIT])
        .values("currency")
        .annotate(n=Count("id"), total=Sum("amount"))
        .order_by("currency")
    )
    for row in rows:
        in_transit.add_metric([row["currency"]], row["n"])
        amount.add_metric([row["currency"]], row["total"])
    yield in_transit
    yield amount
    since = clock.now() - dt.timedelta(days=1)
    yield GaugeMetricFamily(
        "polar_payouts_failed_last_day",
        "Payouts that failed (returned by the bank) in the last 24 hours",
        value=Payout.objects.filter(status=PayoutStatus.FAILED, modified_at__gte=since).count(),
    )
    yield GaugeMetricFamily(
        "polar_payouts_frozen_organizations",
        "Organizations whose payouts the risk team froze",
        value=PayoutAccount.objects.filter(payouts_frozen=True).count(),
    )
