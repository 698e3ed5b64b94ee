"""``/healthz``: the process answers. ``/readyz``: the database, Redis and the migrations are in order."""

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from .metrics import render


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database():
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis():
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


def _check_migrations():
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise RuntimeError(f"{len(plan)} unapplied migration(s)")


@require_GET
def readyz(request):
    checks = {}
    ready = True
    for name, check in (("database", _check_database), ("redis", _check_redis), ("migrations", _check_migrations)):
        try:
            check()
            checks[name] = "ok"
        except Exception as error:  # a readiness probe reports every failure, whatever its kind
            checks[name] = f"error: {type(error).__name__}: {error}"[:300]
            ready = False
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


@require_GET
def metrics(request):
    body, content_type = render()
    return HttpResponse(body, content_type=content_type)
