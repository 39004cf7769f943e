import type { Page } from "@playwright/test";
import { test, expect, expectAccessible, expectHydrated, signIn, waitForMail } from "./fixtures";

// Paying through the sandbox gateway (no Stripe key in the browser tests):
// the portal's pay pages, the sandbox's hosted checkout, its signed webhooks
// back to the portal, the receipt email off the SMTP sink.

const PAYER = "ap@northwind.example";

/** "$1,234.50" -> 123450 */
function cents(text: string): number {
  const digits = text.replace(/[^\d.]/g, "");
  const [whole, fraction = ""] = digits.split(".");
  return Number(whole) * 100 + Number((fraction + "00").slice(0, 2));
}

function decimal(minor: number): string {
  return `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, "0")}`;
}

type Open = { number: string; balance: number };

/** Signs in and opens the account's unpaid USD invoices; returns the account path. */
async function openInvoices(page: Page): Promise<string> {
  await signIn(page, PAYER);
  const account = page.url().replace(/^(.*\/accounts\/\d+).*$/, "$1").replace(/^https?:\/\/[^/]+/, "");
  await page.goto(`${account}/invoices?status=unpaid&currency=USD`);
  return account;
}

/** The first `n` unpaid invoices on the page with nothing in flight and more than $20 open. */
async function pickInvoices(page: Page, n: number): Promise<Open[]> {
  const picked: Open[] = [];
  for (const row of await page.locator("table.invoices tbody tr").all()) {
    // A payment in flight or an open dispute holds part of the balance back.
    if ((await row.locator(".status-pending, .status-disputed").count()) > 0) continue;
    // A running early-payment discount makes paying in full charge less.
    if ((await row.locator(".discount-offer").count()) > 0) continue;
    const balance = cents(await row.locator("td.num").last().innerText());
    if (balance <= 2000) continue;
    picked.push({ number: (await row.locator("th[scope=row]").innerText()).trim(), balance });
    if (picked.length === n) break;
  }
  expect(picked.length).toBe(n);
  return picked;
}

/** Payment page status, reloading until it is `status` (webhooks are applied in the background). */
async function expectPaymentStatus(page: Page, status: string) {
  await expect(async () => {
    await page.reload();
    await expect(page.locator(".invoice-head .status")).toHaveText(status, { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
}

async function balanceOf(page: Page, account: string, number: string): Promise<number> {
  await page.goto(`${account}/invoices?q=${encodeURIComponent(number)}`);
  await page.getByRole("link", { name: number, exact: true }).click();
  return cents(await page.locator(".invoice-due .balance-open").innerText());
}

test("pay two invoices, one partly, by sandbox card: receipt page, receipt email, balances", async ({ page }, testInfo) => {
  const account = await openInvoices(page);
  const [full, part] = await pickInvoices(page, 2);
  await page.getByLabel(`Select invoice ${full.number}`).check();
  await page.getByLabel(`Select invoice ${part.number}`).check();
  await page.getByRole("button", { name: "Pay selected" }).click();

  await expect(page.getByRole("heading", { name: "Pay invoices", level: 1 })).toBeVisible();
  await expectHydrated(page, testInfo);
  await expect(page.getByLabel(`Amount to pay on invoice ${full.number}`)).toHaveValue(decimal(full.balance));
  await page.getByLabel(`Amount to pay on invoice ${part.number}`).fill("10.00");
  await page.getByRole("radio", { name: /^Card/ }).check();
  await expect(page.getByLabel("Email the receipt to")).toHaveValue(PAYER);
  await expectAccessible(page);
  await page.getByRole("button", { name: "Review payment" }).click();

  await expect(page.getByRole("heading", { name: "Review payment", level: 1 })).toBeVisible();
  const total = full.balance + 1000;
  const pay = page.getByRole("button", { name: /^Pay \$[\d,.]+ by card$/ });
  expect(cents((await pay.innerText()).replace(" by card", ""))).toBe(total);
  await expectAccessible(page);
  const since = Date.now();
  await pay.click();

  await expect(page).toHaveURL(/\/sandbox\/checkout\/cs_sandbox_/);
  await expect(page.getByText("Test mode: no real money moves")).toBeVisible();
  await expectAccessible(page);
  await page.getByRole("button", { name: /payment succeeds/ }).click();

  await expect(page.getByRole("heading", { name: /^Payment receipt PAY-\d+$/ })).toBeVisible();
  await expect(page.locator(".invoice-head .status")).toHaveText("Succeeded");
  await expect(page.getByRole("status").filter({ hasText: "Payment received" })).toContainText(PAYER);
  const applied = page.getByRole("region", { name: "Applied to" });
  await expect(applied.getByRole("row", { name: new RegExp(full.number) })).toBeVisible();
  await expect(applied.getByRole("row", { name: new RegExp(part.number) })).toContainText("$10.00");
  await expectAccessible(page);
  const reference = (await page.getByRole("heading", { level: 1 }).innerText()).replace("Payment receipt ", "");

  const mail = await waitForMail(PAYER, since);
  expect(mail.subject).toContain(`Receipt ${reference}`);
  expect(mail.text).toContain(full.number);
  expect(mail.text).toContain(part.number);
  expect(mail.html).toContain(part.number);

  expect(await balanceOf(page, account, full.number)).toBe(0);
  expect(await balanceOf(page, account, part.number)).toBe(part.balance - 1000);
});

/** From the invoice page, pays its whole balance by ACH and picks `outcome` in the sandbox. */
async function payByAch(page: Page, account: string, invoice: Open, outcome: RegExp) {
  await page.goto(`${account}/invoices?q=${encodeURIComponent(invoice.number)}`);
  await page.getByRole("link", { name: invoice.number, exact: true }).click();
  await page.getByRole("link", { name: "Pay this invoice" }).click();
  await page.getByRole("radio", { name: /^ACH bank debit/ }).check();
  await page.getByRole("button", { name: "Review payment" }).click();
  await page.getByRole("button", { name: /by ach bank debit$/ }).click();
  await expect(page).toHaveURL(/\/sandbox\/checkout\//);
  await page.getByRole("button", { name: outcome }).click();
  await expect(page.getByRole("heading", { name: /^Payment PAY-\d+$/ })).toBeVisible();
  await expect(page.locator(".invoice-head .status")).toHaveText("Processing");
  await expect(page.getByRole("status").filter({ hasText: "4 business days" })).toBeVisible();
  await expectAccessible(page);
}

test("ACH: processing, then it settles after the sandbox's delay", async ({ page }) => {
  const account = await openInvoices(page);
  const [invoice] = await pickInvoices(page, 1);
  await payByAch(page, account, invoice, /the debit settles/);
  const payment = page.url();

  await page.goto(`${account}/invoices?q=${encodeURIComponent(invoice.number)}`);
  await page.getByRole("link", { name: invoice.number, exact: true }).click();
  await expect(page.locator(".invoice-head")).toContainText("Payment pending");
  await expect(page.getByRole("link", { name: "Pay this invoice" })).toHaveCount(0);

  await page.goto(payment);
  await expectPaymentStatus(page, "Succeeded");
  await expect(page.getByRole("heading", { name: /^Payment receipt PAY-\d+$/ })).toBeVisible();
  expect(await balanceOf(page, account, invoice.number)).toBe(0);
});

test("ACH: a returned debit fails the payment and reopens the invoice", async ({ page }) => {
  const account = await openInvoices(page);
  const [invoice] = await pickInvoices(page, 1);
  await payByAch(page, account, invoice, /the debit is returned/);
  await expectPaymentStatus(page, "Failed");
  await expect(page.getByRole("status").filter({ hasText: "The invoices are open again" })).toBeVisible();
  await expectAccessible(page);

  expect(await balanceOf(page, account, invoice.number)).toBe(invoice.balance);
  await expect(page.locator(".invoice-head")).not.toContainText("Payment pending");
  await expect(page.getByRole("link", { name: "Pay this invoice" })).toBeVisible();
});

test("a declined card says what to do next, and going back releases the invoice", async ({ page }) => {
  const account = await openInvoices(page);
  const [invoice] = await pickInvoices(page, 1);
  await page.goto(`${account}/invoices?q=${encodeURIComponent(invoice.number)}`);
  await page.getByRole("link", { name: invoice.number, exact: true }).click();
  await page.getByRole("link", { name: "Pay this invoice" }).click();
  await page.getByRole("button", { name: "Review payment" }).click();
  await page.getByRole("button", { name: /by card$/ }).click();

  await page.getByRole("button", { name: /declined by the bank/ }).click();
  const checkout = page.url();
  const alert = page.getByRole("alert");
  await expect(alert).toContainText("Your card was declined.");
  await expect(alert).toContainText("Try another card, or go back to the portal and pay by ACH bank debit.");
  await expectAccessible(page);

  // A second tab cannot pay the same balance while this checkout is open.
  await page.goto(`${account}/invoices?q=${encodeURIComponent(invoice.number)}`);
  await page.getByRole("link", { name: invoice.number, exact: true }).click();
  await expect(page.locator(".invoice-head")).toContainText("Payment pending");
  await expect(page.getByRole("link", { name: "Pay this invoice" })).toHaveCount(0);
  await page.goto(checkout);

  // Back from the checkout: the link itself changes nothing; the payment
  // page offers to continue or to cancel (a POST).
  await page.getByRole("link", { name: "Cancel and go back to the portal" }).click();
  await expect(page.getByRole("heading", { name: /^Payment PAY-\d+$/ })).toBeVisible();
  await expect(page.locator(".invoice-head .status")).toHaveText("Pending");
  await expect(page.getByRole("link", { name: "Continue to checkout" })).toBeVisible();
  await expectAccessible(page);
  await page.getByRole("button", { name: "Cancel this payment" }).click();
  await expect(page.locator(".invoice-head .status")).toHaveText("Canceled");
  const notice = page.getByRole("status").filter({ hasText: "nothing was charged" });
  await expect(notice).toContainText("Last attempt: Your card was declined.");
  await expectAccessible(page);
  expect(await balanceOf(page, account, invoice.number)).toBe(invoice.balance);
  await expect(page.getByRole("link", { name: "Pay this invoice" })).toBeVisible();
});
