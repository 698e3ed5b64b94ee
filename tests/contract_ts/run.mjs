// Drives the live server through the official TypeScript SDK (@polar-sh/sdk, pinned in package.json) for one
// API version: node run.mjs <baseUrl> <organization token> <2026-10|2026-04>. Prints one JSON line per check
// and exits 1 on the first failure. Started by test_typescript_sdk.py, which starts the server.
import assert from "node:assert/strict";

const [baseUrl, accessToken, version] = process.argv.slice(2);
const sdk = await import(`@polar-sh/sdk/${version}`);
const polar = sdk.createPolar({ accessToken, baseUrl, timeout: 20 });
const suffix = `${version}-${process.pid}`;

async function check(name, body) {
  try {
    await body();
    console.log(JSON.stringify({ check: name, ok: true }));
  } catch (error) {
    console.log(JSON.stringify({ check: name, ok: false, error: String(error?.stack || error) }));
    process.exit(1);
  }
}

async function fails(promise, errorName, statusCode) {
  try {
    await promise;
  } catch (error) {
    assert.equal(error.name, errorName, `expected ${errorName}, got ${error.name}: ${error.message}`);
    assert.equal(error.statusCode, statusCode);
    return error;
  }
  assert.fail(`expected ${errorName}`);
}

let product;
let customer;

await check("products.create", async () => {
  product = await polar.products.create({
    name: `TS Pro ${suffix}`,
    recurring_interval: "month",
    prices: [{ amount_type: "fixed", price_amount: 1500, price_currency: "usd" }],
  });
  assert.equal(product.name, `TS Pro ${suffix}`);
  assert.equal(product.prices[0].price_amount, 1500);
});

await check("products.list", async () => {
  const page = await polar.products.list({ limit: 100 });
  assert.ok(page.items.some((item) => item.id === product.id));
  assert.ok(page.pagination.total_count >= 1);
});

await check("customers.create and get", async () => {
  customer = await polar.customers.create({ email: `ts-${suffix}@example.com`, external_id: `ts:${suffix}` });
  const fetched = await polar.customers.get(customer.id);
  assert.equal(fetched.email, `ts-${suffix}@example.com`);
  assert.equal(fetched.external_id, `ts:${suffix}`);
});

await check("checkouts.create", async () => {
  const checkout = await polar.checkouts.create({ products: [product.id], customer_id: customer.id });
  assert.equal(checkout.status, "open");
  assert.ok(checkout.client_secret && checkout.url);
  assert.equal(checkout.product_id ?? checkout.products[0].id, product.id);
});

await check("subscriptions.list", async () => {
  const page = await polar.subscriptions.list({ limit: 10 });
  assert.ok(Array.isArray(page.items));
  for (const subscription of page.items) assert.ok(Array.isArray(subscription.meters));
});

// Usage: a meter counting this run's events, a product billed by it, the customer subscribed, events ingested
// for the customer, then what a merchant reads back (events, quantities, customer meters and state, orders).
const eventName = `ts_call_${suffix}`.replaceAll("-", "_");
let meter;

await check("meters.create, list and get", async () => {
  meter = await polar.meters.create({
    name: `TS tokens ${suffix}`,
    filter: { conjunction: "and", clauses: [{ property: "name", operator: "eq", value: eventName }] },
    aggregation: { func: "sum", property: "tokens" },
  });
  assert.equal(meter.aggregation.func, "sum");
  assert.equal(meter.aggregation.property, "tokens");
  const page = await polar.meters.list({ limit: 100 });
  assert.deepEqual(
    page.items.map((item) => item.id),
    [meter.id],
  );
  const fetched = await polar.meters.get(meter.id);
  assert.equal(fetched.name, `TS tokens ${suffix}`);
  assert.equal(fetched.filter.clauses[0].value, eventName);
});

await check("subscriptions.create on a metered product", async () => {
  const metered = await polar.products.create({
    name: `TS Usage ${suffix}`,
    recurring_interval: "month",
    prices: [{ amount_type: "metered_unit", meter_id: meter.id, unit_amount: "0.5", price_currency: "usd" }],
  });
  const subscription = await polar.subscriptions.create({ product_id: metered.id, customer_id: customer.id });
  assert.equal(subscription.status, "active");
  assert.equal(subscription.customer_id, customer.id);
  assert.equal(subscription.amount, 0);
});

await check("events.ingest", async () => {
  const result = await polar.events.ingest({
    events: [
      { name: eventName, customer_id: customer.id, external_id: `a-${suffix}`, metadata: { tokens: 10 } },
      { name: eventName, external_customer_id: `ts:${suffix}`, external_id: `b-${suffix}`, metadata: { tokens: 20 } },
      { name: "ts_other", customer_id: customer.id, metadata: { tokens: 1000 } },
    ],
  });
  assert.equal(result.inserted, 3);
  const again = await polar.events.ingest({
    events: [{ name: eventName, customer_id: customer.id, external_id: `a-${suffix}`, metadata: { tokens: 10 } }],
  });
  assert.equal(again.inserted, 0);
  assert.equal(again.duplicates, 1);
});

await check("events.list", async () => {
  const page = await polar.events.list({ customer_id: customer.id, sorting: ["timestamp"], limit: 100 });
  assert.equal(page.items.length, 3);
  assert.deepEqual(page.items.map((event) => event.name).sort(), [eventName, eventName, "ts_other"].sort());
  for (const event of page.items) {
    assert.equal(event.customer_id, customer.id);
    assert.equal(event.source, "user");
    assert.equal(event.label, event.name);
  }
  const fetched = await polar.events.get(page.items[0].id);
  assert.equal(fetched.id, page.items[0].id);
});

await check("meters.quantities", async () => {
  const day = 24 * 3600 * 1000;
  const quantities = await polar.meters.quantities(meter.id, {
    start_timestamp: new Date(Date.now() - 2 * day).toISOString(),
    end_timestamp: new Date(Date.now() + day).toISOString(),
    interval: "day",
    customer_id: customer.id,
  });
  assert.equal(quantities.total, 30);
  assert.equal(quantities.quantities.reduce((sum, bucket) => sum + bucket.quantity, 0), 30);
});

await check("customers.getState", async () => {
  const state = await polar.customers.getState(customer.id);
  assert.equal(state.id, customer.id);
  assert.equal(state.active_subscriptions.length, 1);
  const [stateMeter] = state.active_meters.filter((item) => item.meter_id === meter.id);
  assert.equal(stateMeter.consumed_units, 30);
  assert.equal(stateMeter.credited_units, 0);
  const byExternalId = await polar.customers.getStateExternal(`ts:${suffix}`);
  assert.equal(byExternalId.id, customer.id);
});

await check("customerMeters.list", async () => {
  const page = await polar.customerMeters.list({ customer_id: customer.id, meter_id: meter.id });
  assert.equal(page.items.length, 1);
  assert.equal(page.items[0].consumed_units, 30);
  assert.equal(page.items[0].customer_id, customer.id);
});

await check("orders.list", async () => {
  const page = await polar.orders.list({ customer_id: customer.id, limit: 10 });
  assert.equal(page.items.length, 1);
  const [order] = page.items;
  assert.equal(order.customer_id, customer.id);
  assert.equal(order.billing_reason, "subscription_create");
  assert.equal(order.total_amount, 0);
  assert.equal(order.status, "paid");
  const none = await polar.orders.list({ customer_id: "00000000-0000-0000-0000-000000000001" });
  assert.deepEqual(none.items, []);
});

await check("404 ResourceNotFound", async () => {
  await fails(polar.products.get("00000000-0000-0000-0000-000000000001"), "ResourceNotFound", 404);
});

await check("422 HTTPValidationError", async () => {
  const error = await fails(polar.customers.create({ email: "not-an-email" }), "HTTPValidationError", 422);
  assert.deepEqual(error.error.detail[0].loc, ["body", "email"]);
});
