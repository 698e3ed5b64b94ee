from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = "Ledger and payouts"

    def ready(self):
        from auditlog.registry import auditlog

        from payouts.metrics import ledger_state, payouts_state
        from payouts.models import Payout, PayoutAccount
        from polar.observability.metrics import SCRAPE_COLLECTORS

        from . import tasks  # noqa: F401  (registered in every process, as billing's)

        # Bank details and the risk freeze (who froze, why) are audited; the ledger is its own audit trail.
        auditlog.register(PayoutAccount)
        auditlog.register(Payout)
        for collector in (ledger_state, payouts_state):
            if collector not in SCRAPE_COLLECTORS:
                SCRAPE_COLLECTORS.append(collector)
