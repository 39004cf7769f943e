import { test, expect, expectAccessible, expectHydrated, signIn } from "./fixtures";

// With a Stripe key, "Pay" answers with a 303 to Stripe's hosted checkout,
// on another origin. Chromium applies the page's CSP form-action to that
// redirect, so the policy must allow the checkout origin. This runs against
// the second portal of playwright.config.ts: Stripe key, STRIPE_API_BASE on
// a local fake of Stripe's API (fake-stripe.mjs) whose Checkout Sessions
// live on another local origin (STRIPE_CHECKOUT_ORIGIN).

const PAYER = "ap@northwind.example";
const portal = process.env.E2E_STRIPE_PORTAL_URL ?? "http://127.0.0.1:3101";
const checkoutOrigin = process.env.FAKE_CHECKOUT_ORIGIN ?? "http://127.0.0.1:3103";

test.use({ baseURL: portal });

/** "$1,234.50" or "USD 1234.50" -> 123450 */
function cents(text: string): number {
  const [whole, fraction = ""] = text.replace(/[^\d.]/g, "").split(".");
  return Number(whole) * 100 + Number((fraction + "00").slice(0, 2));
}

test("Pay goes to the gateway's hosted checkout on its own origin", async ({ page }, testInfo) => {
  await signIn(page, PAYER);
  const account = new URL(page.url()).pathname.replace(/^(\/accounts\/\d+).*$/, "$1");
  await page.goto(`${account}/invoices?status=unpaid&currency=USD`);

  // An invoice with nothing in flight (the other project's run left one
  // pending) and nothing held by a dispute (the demo data has some).
  let number = "";
  for (const row of await page.locator("table.invoices tbody tr").all()) {
    if ((await row.locator(".status-pending, .status-disputed").count()) > 0) continue;
    if (cents(await row.locator("td.num").last().innerText()) <= 2000) continue;
    number = (await row.locator("th[scope=row]").innerText()).trim();
    break;
  }
  expect(number, "an unpaid USD invoice to pay").not.toBe("");
  await page.getByLabel(`Select invoice ${number}`).check();
  await page.getByRole("button", { name: "Pay selected" }).click();

  await expect(page.getByRole("heading", { name: "Pay invoices", level: 1 })).toBeVisible();
  await expectHydrated(page, testInfo);
  await page.getByRole("radio", { name: /^Card/ }).check();
  await expectAccessible(page);
  await page.getByRole("button", { name: "Review payment" }).click();

  await expect(page.getByRole("heading", { name: "Review payment", level: 1 })).toBeVisible();
  const pay = page.getByRole("button", { name: /^Pay \$[\d,.]+ by card$/ });
  const total = cents((await pay.innerText()).replace(" by card", ""));
  await expectAccessible(page);
  await pay.click();

  // The browser followed the 303 to the other origin: not blocked by the
  // portal's form-action, not left on the review page.
  await expect.poll(() => new URL(page.url()).origin, { timeout: 15_000 }).toBe(checkoutOrigin);
  expect(new URL(page.url()).pathname).toMatch(/^\/c\/pay\/cs_test_e2e_\d+$/);
  await expect(page.getByRole("heading", { name: "Fake Stripe Checkout", level: 1 })).toBeVisible();
  await expect(page.locator("li").filter({ hasText: number })).toBeVisible();
  expect(cents(await page.locator("#total").innerText())).toBe(total);
  await expect(page.getByText("Pays by card")).toBeVisible();
  await expect(page.getByRole("link", { name: "Back to the portal" })).toHaveAttribute(
    "href",
    new RegExp(`^${portal.replace(/[.]/g, "\\.")}${account}/payments/\\d+/cancel\\?`),
  );
});
