import type { Browser, Locator, Page, TestInfo } from "@playwright/test";
import { test, expect, expectAccessible, expectHydrated, signIn } from "./fixtures";

// Issue 12's payment plans in the browser (hydrated and with JavaScript
// off): a customer proposes a plan inside the seller's limits, it starts at
// once, they pay its first instalment by sandbox card and the schedule
// shows it paid; a second proposal over the limits waits for AR, an agent
// counters with other terms, and the customer accepts them. Every page on
// the way passes axe.

const CUSTOMER = "ap@northwind.example";
const AGENT = "agent@seller.example";

/** "$1,234.50" -> 123450 */
function cents(text: string): number {
  const digits = text.replace(/[^\d.]/g, "");
  const [whole, fraction = ""] = digits.split(".");
  return Number(whole) * 100 + Number((fraction + "00").slice(0, 2));
}

function decimal(minor: number): string {
  return `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, "0")}`;
}

/** YYYY-MM-DD `days` from today (the portal's today is UTC). */
function inDays(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

type Choice = { number: string; amount: number };

/**
 * The first USD invoice the propose form lets one choose whose amount in
 * the plan is between `min` and `max` (cents). Each project runs on the
 * same database, so a plan already holding an invoice makes it unchoosable
 * and the next run takes another.
 */
async function chooseInvoice(form: Locator, min: number, max: number): Promise<Choice> {
  for (const box of await form.locator('input[name="invoice"]:not([disabled])').all()) {
    const label = (await form.locator(`label[for="${await box.getAttribute("id")}"]`).innerText()).trim();
    const match = label.match(/^Invoice (\S+) · due .* · (\$[\d,]+\.\d\d) in the plan$/);
    if (!match) continue;
    const amount = cents(match[2]);
    if (amount < min || amount > max) continue;
    await box.check();
    return { number: match[1], amount };
  }
  throw new Error(`no choosable USD invoice between ${min} and ${max} cents`);
}

/** Fills the terms; the schedule shows, live with JavaScript, on "Preview" without. */
async function fillTerms(page: Page, count: string, frequency: string, first: string, jsOn: boolean) {
  const form = page.locator("#plan-form");
  await form.getByLabel("Number of instalments").fill(count);
  await form.getByLabel("Every", { exact: true }).selectOption(frequency);
  await form.getByLabel("First payment date").fill(first);
  if (!jsOn) await page.getByRole("button", { name: "Preview" }).click();
  await expect(page.getByRole("rowheader", { name: `Instalment ${count} of ${count}` })).toBeVisible();
}

async function openProposeForm(page: Page, testInfo: TestInfo) {
  await page.getByRole("navigation", { name: "This account" }).getByRole("link", { name: "Payment plans" }).click();
  await expect(page.getByRole("heading", { name: "Payment plans", level: 1 })).toBeVisible();
  await expectAccessible(page);
  await page.getByRole("link", { name: "Propose a payment plan" }).click();
  await expect(page.getByRole("heading", { name: "Propose a payment plan", level: 1 })).toBeVisible();
  await expectHydrated(page, testInfo);
}

/** The row of `label` in the page's schedule (one per page). */
function scheduleRow(page: Page, label: string): Locator {
  return page.locator("table.schedule").getByRole("row", { name: new RegExp(`^${label}\\b`) });
}

async function staffPage(browser: Browser, javaScriptEnabled: boolean): Promise<Page> {
  const context = await browser.newContext({ javaScriptEnabled, baseURL: test.info().project.use.baseURL });
  const page = await context.newPage();
  await signIn(page, AGENT, "staff");
  return page;
}

test("propose a plan -> approved at once -> pay the first instalment by sandbox card -> the schedule shows it paid", async ({ page }, testInfo) => {
  const jsOn = testInfo.project.name !== "no-js";
  await signIn(page, CUSTOMER);
  await openProposeForm(page, testInfo);
  await expectAccessible(page);

  // Inside the seller's limits: at most $5,000.00 over at most 6 instalments.
  const form = page.locator("#plan-form");
  const invoice = await chooseInvoice(form, 2_000, 500_000);
  await fillTerms(page, "2", "monthly", inDays(3), jsOn);
  const preview = page.locator(".plan-preview");
  await expect(preview).toContainText("this plan starts as soon as you propose it");
  const first = Math.floor(invoice.amount / 2);
  expect(cents(await scheduleRow(page, "Instalment 1 of 2").locator("td.num").innerText())).toBe(first);
  await expectAccessible(page);
  await page.getByRole("button", { name: "Propose this plan" }).click();

  await expect(page).toHaveURL(/\/plans\/\d+\?notice=approved$/);
  const planUrl = new URL(page.url()).pathname;
  await expect(page.getByRole("status").filter({ hasText: "Your plan is approved" })).toBeVisible();
  await expect(page.locator("dt", { hasText: "Status" }).locator("+ dd")).toHaveText("Active");
  await expect(scheduleRow(page, "Instalment 1 of 2")).toContainText("Upcoming");
  await expect(page.getByRole("link", { name: invoice.number, exact: true })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Terms accepted" })).toBeVisible();
  await expectAccessible(page);

  // The invoice says it is in a plan.
  await page.getByRole("link", { name: invoice.number, exact: true }).click();
  await expect(page.locator(".invoice-head")).toContainText("In plan");
  await page.goto(planUrl);

  // Pay the next instalment: the pay page offers its amount.
  await page.getByRole("link", { name: "Pay next instalment" }).click();
  await expect(page.getByRole("heading", { name: "Pay invoices", level: 1 })).toBeVisible();
  await expect(page.getByLabel(`Amount to pay on invoice ${invoice.number}`)).toHaveValue(decimal(first));
  await expect(page.locator(".pay-form")).toContainText("next instalment of payment plan");
  await page.getByRole("radio", { name: /^Card/ }).check();
  await expectAccessible(page);
  await page.getByRole("button", { name: "Review payment" }).click();
  const pay = page.getByRole("button", { name: /^Pay \$[\d,.]+ by card$/ });
  expect(cents((await pay.innerText()).replace(" by card", ""))).toBe(first);
  await pay.click();
  await expect(page).toHaveURL(/\/sandbox\/checkout\/cs_sandbox_/);
  await page.getByRole("button", { name: /payment succeeds/ }).click();
  await expect(page.getByRole("heading", { name: /^Payment receipt PAY-\d+$/ })).toBeVisible();

  // The schedule shows the first instalment paid (webhooks apply in the background).
  await expect(async () => {
    await page.goto(planUrl);
    await expect(scheduleRow(page, "Instalment 1 of 2")).toContainText("Paid", { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(scheduleRow(page, "Instalment 2 of 2")).toContainText("Upcoming");
  expect(cents(await page.locator("dt", { hasText: "Paid so far" }).locator("+ dd").innerText())).toBe(first);
  await expectAccessible(page);
});

test("a proposal over the limits waits for AR -> AR counters -> the customer accepts the new terms", async ({ page, browser }, testInfo) => {
  const jsOn = testInfo.project.name !== "no-js";
  await signIn(page, CUSTOMER);
  await openProposeForm(page, testInfo);

  // Ten instalments: more than the six approved at once, fewer than the 24 declined.
  const form = page.locator("#plan-form");
  const invoice = await chooseInvoice(form, 2_000, 5_000_000);
  await fillTerms(page, "10", "weekly", inDays(5), jsOn);
  await expect(page.locator(".plan-preview")).toContainText("AR will review this plan before it starts");
  await expectAccessible(page);
  await page.getByRole("button", { name: "Propose this plan" }).click();

  await expect(page).toHaveURL(/\/plans\/\d+\?notice=queued$/);
  const planUrl = new URL(page.url()).pathname;
  await expect(page.locator("dt", { hasText: "Status" }).locator("+ dd")).toHaveText("Waiting for AR's decision");
  await expectAccessible(page);
  const thread = (await page.getByRole("link", { name: "Messages about this plan" }).getAttribute("href")) ?? "";
  const requestId = thread.match(/\/requests\/(\d+)$/)![1];

  // The agent answers with four monthly instalments.
  const staff = await staffPage(browser, jsOn);
  await staff.goto(`/staff/requests/${requestId}`);
  await expect(staff.getByText(invoice.number).first()).toBeVisible();
  await expectAccessible(staff);
  await staff.getByLabel("Instalments", { exact: true }).fill("4");
  await staff.getByLabel("Frequency").selectOption("monthly");
  await staff.getByLabel("First date").fill(inDays(7));
  await staff.getByLabel("Message to the customer (optional)").first().fill("Four monthly payments work better for us.");
  await staff.getByRole("button", { name: "Send these terms to the customer" }).click();
  await expect(staff.getByText("Four monthly payments work better for us.").first()).toBeVisible();
  await expectAccessible(staff);
  await staff.context().close();

  // The customer reads the new terms and accepts them.
  await page.goto(planUrl);
  await expect(page.getByRole("heading", { name: "AR proposes different terms" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "The schedule AR proposes" })).toBeVisible();
  await expect(scheduleRow(page, "Instalment 4 of 4")).toBeVisible();
  await expectAccessible(page);
  await page.getByRole("button", { name: "Accept these terms" }).click();
  await expect(page).toHaveURL(/\?notice=accepted$/);
  await expect(page.getByRole("status").filter({ hasText: "You accepted AR's terms" })).toBeVisible();
  await expect(page.locator("dt", { hasText: "Status" }).locator("+ dd")).toHaveText("Active");
  await expect(scheduleRow(page, "Instalment 1 of 4")).toContainText("Upcoming");
  await expect(page.locator(".plan-acceptances")).toContainText("Version 2 accepted by you");
  await expectAccessible(page);
});
