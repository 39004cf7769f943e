import { defineConfig } from "@playwright/test";

// Every test runs twice: hydrated (the WASM app takes over) and with
// JavaScript off (the server-rendered pages and plain form posts alone).
const port = Number(process.env.E2E_PORT ?? 3100);
const smtpPort = Number(process.env.SMTP_PORT ?? 2526);
const mailDir = process.env.MAIL_DIR ?? "test-results/mail";
process.env.MAIL_DIR = mailDir;
// A second portal with a Stripe key, whose Stripe API is a local fake that
// sends "Pay" to a hosted checkout on another origin (stripe-checkout.spec.ts).
const stripePort = Number(process.env.E2E_STRIPE_PORTAL_PORT ?? 3101);
const fakeStripePort = Number(process.env.FAKE_STRIPE_PORT ?? 3102);
const fakeCheckoutPort = Number(process.env.FAKE_CHECKOUT_PORT ?? 3103);
const stripeKey = "sk_test_e2e_fake";
process.env.E2E_STRIPE_PORTAL_URL = `http://127.0.0.1:${stripePort}`;
process.env.FAKE_CHECKOUT_ORIGIN = `http://127.0.0.1:${fakeCheckoutPort}`;

export default defineConfig({
  testDir: "tests",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      // Chromium's background traffic is refused on this network: keep it quiet.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    trace: "retain-on-failure",
  },
  projects: [
    { name: "hydrated", use: { javaScriptEnabled: true } },
    { name: "no-js", use: { javaScriptEnabled: false } },
  ],
  webServer: [
    {
      command: "node smtp-sink.mjs",
      port: smtpPort,
      reuseExistingServer: false,
      env: { SMTP_PORT: String(smtpPort), MAIL_DIR: mailDir },
    },
    {
      command: "bash start-portal.sh",
      url: `http://127.0.0.1:${port}/health`,
      reuseExistingServer: false,
      timeout: 60_000,
      env: { E2E_PORT: String(port), SMTP_PORT: String(smtpPort), RUST_LOG: "warn" },
    },
    {
      command: "node fake-stripe.mjs",
      url: `http://127.0.0.1:${fakeStripePort}/health`,
      reuseExistingServer: false,
      env: { FAKE_STRIPE_PORT: String(fakeStripePort), FAKE_CHECKOUT_PORT: String(fakeCheckoutPort), FAKE_STRIPE_KEY: stripeKey },
    },
    {
      command: "bash start-portal.sh",
      url: `http://127.0.0.1:${stripePort}/health`,
      reuseExistingServer: false,
      timeout: 60_000,
      env: {
        E2E_PORT: String(stripePort),
        E2E_DATABASE_URL_FILE: ".e2e-stripe-database-url",
        SMTP_PORT: String(smtpPort),
        RUST_LOG: "warn",
        STRIPE_SECRET_KEY: stripeKey,
        STRIPE_WEBHOOK_SECRET: "whsec_e2e_fake",
        STRIPE_API_BASE: `http://127.0.0.1:${fakeStripePort}/`,
        STRIPE_CHECKOUT_ORIGIN: `http://127.0.0.1:${fakeCheckoutPort}`,
      },
    },
  ],
});
