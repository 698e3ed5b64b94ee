from celery import shared_task

from . import idempotency


@shared_task(name="polar.api.tasks.idempotency_keys_prune")
def idempotency_keys_prune() -> int:
    return idempotency.prune()
