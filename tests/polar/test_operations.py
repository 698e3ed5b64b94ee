import io
import json

import pytest
from django.core.management import call_command

from polar.organizations.models import Organization, OrganizationAccessToken


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_database_redis_and_migrations(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "migrations": "ok"}}


@pytest.mark.django_db
def test_readyz_reports_unreachable_redis(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("error")


@pytest.mark.django_db
def test_metrics_count_requests_by_route_and_status(api_client):
    api_client.get("/v1/organizations/")
    body = api_client.get("/metrics").content.decode()
    assert 'polar_http_requests_total{method="GET",route="/v1/organizations/",status="200"}' in body
    assert "polar_http_request_duration_seconds_bucket" in body


@pytest.mark.django_db
def test_createorganization_prints_json_and_is_idempotent_for_the_organization():
    out = io.StringIO()
    call_command("createorganization", "shop", "--name", "Shop", stdout=out)
    first = json.loads(out.getvalue())
    out = io.StringIO()
    call_command("createorganization", "shop", stdout=out)
    second = json.loads(out.getvalue())
    assert set(first) == {"organization_id", "slug", "token"}
    assert first["organization_id"] == second["organization_id"]
    assert first["slug"] == "shop"
    assert first["token"] != second["token"] and first["token"].startswith("polar_oat_")
    assert Organization.objects.filter(slug="shop").count() == 1
    assert OrganizationAccessToken.objects.filter(organization__slug="shop").count() == 2


@pytest.mark.django_db
def test_created_token_authenticates(client):
    out = io.StringIO()
    call_command("createorganization", "shop2", stdout=out)
    created = json.loads(out.getvalue())
    response = client.get("/v1/organizations/", HTTP_AUTHORIZATION=f"Bearer {created['token']}")
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [created["organization_id"]]


@pytest.mark.django_db
def test_migrations_are_in_sync_with_models():
    # makemigrations --check exits non-zero (SystemExit) when a model change has no migration.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_openapi_schema_is_served(client):
    response = client.get("/openapi.json?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert "/v1/organizations/" in schema["paths"]


def test_docs_page_serves_its_assets_locally(client):
    # The docs page must work on a machine without internet access: no CDN links.
    response = client.get("/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    asset = next(part.split('"')[0] for part in html.split('src="')[1:] if "swagger-ui" in part)
    assert client.get(asset).status_code == 200


@pytest.mark.django_db
def test_metrics_still_answer_when_a_state_gauge_cannot_be_read(client):
    from polar.observability import metrics

    def broken():
        raise RuntimeError("database unavailable")
        yield  # a generator, like the real ones

    metrics.SCRAPE_COLLECTORS.append(broken)
    try:
        response = client.get("/metrics")
    finally:
        metrics.SCRAPE_COLLECTORS.remove(broken)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'polar_state_gauge_errors{gauge="broken"} 1.0' in body
    assert "polar_renewals_due " in body  # the others are still read
