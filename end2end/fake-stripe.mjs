// A local fake of the parts of Stripe's HTTP API the portal calls when it
// has a Stripe key (POST /v1/customers, POST /v1/checkout/sessions, and the
// reads of a session), answering with the object shapes of Stripe's own
// fixtures (tests/fixtures/stripe/fixtures3_subset.json, ids and amounts
// replaced) like server/tests/api/fake_stripe.rs does. Each Checkout Session
// it creates has its `url` on ANOTHER origin: a second server here that
// serves a page standing in for Stripe's hosted checkout, so the browser
// tests see what a real redirect to https://checkout.stripe.com meets (the
// page's Content-Security-Policy form-action applies to the redirect).
//
//   FAKE_STRIPE_PORT     the API (STRIPE_API_BASE=http://127.0.0.1:PORT/)
//   FAKE_CHECKOUT_PORT   the hosted checkout (STRIPE_CHECKOUT_ORIGIN=http://127.0.0.1:PORT)
//   FAKE_STRIPE_KEY      the secret key the portal must send
import { createServer } from "node:http";
import { readFileSync } from "node:fs";

const apiPort = Number(process.env.FAKE_STRIPE_PORT ?? 3102);
const checkoutPort = Number(process.env.FAKE_CHECKOUT_PORT ?? 3103);
const key = process.env.FAKE_STRIPE_KEY ?? "sk_test_e2e";
const checkoutOrigin = `http://127.0.0.1:${checkoutPort}`;

const fixtures = JSON.parse(readFileSync(new URL("../tests/fixtures/stripe/fixtures3_subset.json", import.meta.url), "utf8"));
const fixture = (name) => structuredClone(fixtures.resources[name]);

const sessions = new Map();
const byIdempotencyKey = new Map();
let next = 0;

function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function stripeError(res, status, message) {
  json(res, status, { error: { type: "invalid_request_error", message } });
}

/** Same Idempotency-Key, same answer (as Stripe). */
function idempotent(req, make) {
  const k = req.headers["idempotency-key"];
  if (k && byIdempotencyKey.has(k)) return byIdempotencyKey.get(k);
  next += 1;
  const answer = make();
  if (k) byIdempotencyKey.set(k, answer);
  return answer;
}

function createCustomer(req, form) {
  return idempotent(req, () => {
    const customer = fixture("customer");
    customer.id = `cus_e2e_${next}`;
    customer.email = form.get("email");
    customer.name = form.get("name");
    return customer;
  });
}

function createSession(req, form) {
  return idempotent(req, () => {
    const id = `cs_test_e2e_${next}`;
    let total = 0;
    const lines = [];
    for (let i = 0; form.has(`line_items[${i}][price_data][unit_amount]`); i++) {
      const amount = Number(form.get(`line_items[${i}][price_data][unit_amount]`));
      total += amount;
      lines.push({ name: form.get(`line_items[${i}][price_data][product_data][name]`), amount });
    }
    const session = fixture("checkout.session");
    Object.assign(session, {
      id,
      object: "checkout.session",
      amount_total: total,
      amount_subtotal: total,
      currency: form.get("line_items[0][price_data][currency]"),
      customer: form.get("customer"),
      metadata: { payment_id: form.get("metadata[payment_id]") },
      mode: "payment",
      payment_intent: null,
      payment_method_types: [form.get("payment_method_types[0]")],
      payment_status: "unpaid",
      status: "open",
      success_url: form.get("success_url"),
      cancel_url: form.get("cancel_url"),
      url: `${checkoutOrigin}/c/pay/${id}`,
    });
    sessions.set(id, { session, lines });
    return session;
  });
}

const api = createServer((req, res) => {
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", () => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/health") return json(res, 200, { ok: true });
    if (req.headers.authorization !== `Bearer ${key}`) return stripeError(res, 401, "Invalid API Key provided");
    const form = new URLSearchParams(body);
    let m;
    if (req.method === "POST" && path === "/v1/customers") return json(res, 200, createCustomer(req, form));
    if (req.method === "POST" && path === "/v1/checkout/sessions") return json(res, 200, createSession(req, form));
    if (req.method === "GET" && (m = path.match(/^\/v1\/checkout\/sessions\/([^/]+)$/)) && sessions.has(m[1])) {
      return json(res, 200, sessions.get(m[1]).session);
    }
    if (req.method === "POST" && (m = path.match(/^\/v1\/checkout\/sessions\/([^/]+)\/expire$/)) && sessions.has(m[1])) {
      const { session } = sessions.get(m[1]);
      Object.assign(session, { status: "expired", url: null });
      return json(res, 200, session);
    }
    if (req.method === "GET" && path === "/v1/events") return json(res, 200, { object: "list", url: "/v1/events", has_more: false, data: [] });
    stripeError(res, 404, `Unrecognized request URL (${req.method}: ${path})`);
  });
});

const escape = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const money = (minor, currency) => `${(currency ?? "usd").toUpperCase()} ${(minor / 100).toFixed(2)}`;

const checkout = createServer((req, res) => {
  const m = new URL(req.url, "http://x").pathname.match(/^\/c\/pay\/([^/]+)$/);
  const found = m && sessions.get(m[1]);
  if (!found) {
    res.writeHead(404, { "content-type": "text/plain" });
    return res.end("no such checkout");
  }
  const { session, lines } = found;
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Fake Stripe Checkout</title></head>
<body><main>
<h1>Fake Stripe Checkout</h1>
<p>Session <code>${escape(session.id)}</code> for customer <code>${escape(session.customer)}</code></p>
<ul>${lines.map((l) => `<li>${escape(l.name)}: ${money(l.amount, session.currency)}</li>`).join("")}</ul>
<p id="total">Total ${money(session.amount_total, session.currency)}</p>
<p>Pays by ${escape(session.payment_method_types[0])}</p>
<p><a href="${escape(session.cancel_url)}">Back to the portal</a></p>
</main></body></html>`);
});

api.listen(apiPort, "127.0.0.1", () => console.log(`fake Stripe API on 127.0.0.1:${apiPort}`));
checkout.listen(checkoutPort, "127.0.0.1", () => console.log(`fake hosted checkout on ${checkoutOrigin}`));
