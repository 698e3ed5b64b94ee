"""The soak's traffic (bench/soak.py runs it headless): merchants' integrations on loopback, mixed.

Weights (of 20): ingestion 6 (batches of 20 events), reads 9 (a customer, its state, lists of customers,
products, subscriptions and orders, events), checkouts 3 (create with the merchant's token, then confirm on the
public client route with a sandbox card: an order is paid), refunds 2 (1 cent of a paid order). Every POST
carries an Idempotency-Key. The ids come from the JSON file named by ``SOAK_CONTEXT`` (written by soak.py).
"""

import itertools
import json
import os
import random
import uuid

from locust import HttpUser, between, task

CONTEXT = json.loads(open(os.environ["SOAK_CONTEXT"]).read()) if os.environ.get("SOAK_CONTEXT") else {}
_sequence = itertools.count()


class Merchant(HttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self):
        self.client.headers.update({"Authorization": f"Bearer {CONTEXT['token']}"})
        self.prefix = uuid.uuid4().hex[:8]

    def _post(self, path, body, name=None, auth=True):
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        if not auth:
            headers["Authorization"] = ""
        return self.client.post(path, json=body, headers=headers, name=name or path)

    @task(6)
    def ingest(self):
        customer = random.choice(CONTEXT["external_ids"])
        events = [
            {"name": "api_call", "external_customer_id": customer, "external_id": f"{self.prefix}-{next(_sequence)}"}
            for _ in range(20)
        ]
        self._post("/v1/events/ingest", {"events": events}, name="POST /v1/events/ingest (20 events)")

    @task(2)
    def customer(self):
        self.client.get(f"/v1/customers/{random.choice(CONTEXT['customer_ids'])}", name="GET /v1/customers/{id}")

    @task(2)
    def customer_state(self):
        self.client.get(f"/v1/customers/{random.choice(CONTEXT['customer_ids'])}/state", name="GET /v1/customers/{id}/state")

    @task(1)
    def customers(self):
        self.client.get("/v1/customers/?limit=10", name="GET /v1/customers/")

    @task(1)
    def products(self):
        self.client.get("/v1/products/?limit=10", name="GET /v1/products/")

    @task(1)
    def subscriptions(self):
        self.client.get("/v1/subscriptions/?limit=10", name="GET /v1/subscriptions/")

    @task(1)
    def orders(self):
        self.client.get("/v1/orders/?limit=10", name="GET /v1/orders/")

    @task(1)
    def events(self):
        self.client.get("/v1/events/?limit=10", name="GET /v1/events/")

    @task(3)
    def checkout(self):
        created = self._post("/v1/checkouts/", {"products": [CONTEXT["one_time_product_id"]]}, name="POST /v1/checkouts/")
        if created.status_code != 201:
            return
        secret = created.json()["client_secret"]
        n = next(_sequence)
        body = {"customer_email": f"soak-{self.prefix}-{n}@bench.test", "customer_name": f"Soak {n}"}
        body["confirmation_token_id"] = "pm_card_visa"
        self._post(f"/v1/checkouts/client/{secret}/confirm", body, name="POST /v1/checkouts/client/{secret}/confirm", auth=False)

    @task(2)
    def refund(self):
        body = {"order_id": random.choice(CONTEXT["order_ids"]), "amount": 1, "reason": "customer_request"}
        self._post("/v1/refunds/", body, name="POST /v1/refunds/ (1 cent)")
