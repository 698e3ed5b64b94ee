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

await check("404 ResourceNotFound", async () => {
  await fails(polar.products.get("00000000-0000-0000-0000-000000000001"), "ResourceNotFound", 404);
});

await check("422 HTTPValidationError", async () => {
  const error = await fails(polar.customers.create({ email: "not-an-email" }), "HTTPValidationError", 422);
  assert.deepEqual(error.error.detail[0].loc, ["body", "email"]);
});
