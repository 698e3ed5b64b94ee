from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = "Ledger and payouts"

    def ready(self):
        from payouts.metrics import ledger_state
        from polar.observability.metrics import SCRAPE_COLLECTORS

        from . import tasks  # noqa: F401  (registered in every process, as billing's)

        if ledger_state not in SCRAPE_COLLECTORS:
            SCRAPE_COLLECTORS.append(ledger_state)
