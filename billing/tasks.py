"""Celery tasks of the billing app. Thin: each calls one service and is safe to run twice."""
from celery import shared_task


@shared_task(name="billing.tasks.events_partitions_ensure")
def events_partitions_ensure() -> list[str]:
    """Keep the events table's monthly partitions three months ahead (beat, daily)."""
    from billing.services.usage_partitions import ensure_partitions_ahead

    return ensure_partitions_ahead()
