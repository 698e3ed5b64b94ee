"""The ledger's state gauges for /metrics (see ``polar.observability.metrics.SCRAPE_COLLECTORS``).

``polar_ledger_breaches`` is the count of the last ``ledger_check`` (the nightly beat task or the
command), read from the cache: a scrape never runs the checks. Before any check ran it reads 0 and
``polar_ledger_check_last_run_timestamp_seconds`` reads 0 (alert on its age to catch a stopped beat).
"""

from prometheus_client.core import GaugeMetricFamily

from payouts.checks import ledger_check_last


def ledger_state():
    last = ledger_check_last() or {"breaches": 0, "at": 0}
    yield GaugeMetricFamily(
        "polar_ledger_breaches", "Ledger invariant breaches found by the last ledger check", value=last["breaches"]
    )
    yield GaugeMetricFamily(
        "polar_ledger_check_last_run_timestamp_seconds", "When the last ledger check ran (unix time)", value=last["at"]
    )
