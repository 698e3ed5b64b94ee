"""/metrics stays bounded whatever a client sends (issue 11, finding 5): every label of the request metrics
comes from a closed set, never from the raw method or path."""

import re
import uuid

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.content.decode()


def request_series(text: str) -> set[str]:
    return {line.split(" ")[0] for line in text.splitlines() if line.startswith("polar_http_requests_total{")}


def test_invented_methods_share_one_other_label():
    client = Client()
    for index in range(50):
        client.generic(f"INVENTED{index}", "/healthz")
    text = scrape(client)
    assert "INVENTED" not in text
    assert re.search(r'polar_http_requests_total\{method="other",route="/healthz",status="405"\}', text)


def test_many_invented_methods_and_paths_do_not_grow_metrics():
    client = Client()
    # Warm up: every label combination these requests can reach exists once.
    client.generic("INVENTED", f"/nowhere/{uuid.uuid4().hex}")
    client.generic("INVENTED", "/healthz")
    client.get(f"/v1/products/{uuid.uuid4()}")
    before = request_series(scrape(client))
    for _ in range(200):
        client.generic(f"X{uuid.uuid4().hex[:12].upper()}", f"/nowhere/{uuid.uuid4().hex}")
        client.generic(f"X{uuid.uuid4().hex[:12].upper()}", "/healthz")
        client.get(f"/v1/products/{uuid.uuid4()}")
    after = request_series(scrape(client))
    assert after - before <= {s for s in after if "/metrics" in s}


def test_route_label_is_the_url_pattern_not_the_path():
    client = Client()
    product_id = uuid.uuid4()
    client.get(f"/v1/products/{product_id}")
    text = scrape(client)
    assert str(product_id) not in text
    assert 'route="/v1/products/<str:id>"' in text


def test_unrouted_paths_are_labelled_unmatched():
    client = Client()
    path = f"/no-such-page-{uuid.uuid4().hex}"
    client.get(path)
    text = scrape(client)
    assert path not in text
    assert re.search(r'polar_http_requests_total\{method="GET",route="unmatched",status="404"\}', text)


@pytest.mark.parametrize(
    "status_code, label", [(200, "200"), (429, "429"), (418, "4xx"), (599, "5xx"), (999, "other"), (42, "other")]
)
def test_status_labels_come_from_a_fixed_set(status_code, label):
    from polar.observability.metrics import status_label

    assert status_label(status_code) == label
