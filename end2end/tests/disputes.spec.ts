import type { Browser, Page } from "@playwright/test";
import { test, expect, expectAccessible, expectHydrated, signIn } from "./fixtures";

// Issue 11's flow, both sides, in one test (run hydrated and with JavaScript
// off): a customer disputes two lines of an invoice with a PDF, an agent sees
// it at the top of the account's queue with its deadline, replies and waits
// on the customer (the clock pauses), the customer answers (it runs again),
// the agent resolves with a credit note, and the customer sees the outcome,
// the credit, the new balance and the thread on the invoice page.

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

/** A small but real PDF: the portal decides the type by content. */
function deliveryNotePdf(): Buffer {
  return Buffer.from(
    "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n" +
      "2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
      "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n" +
      "trailer<</Root 1 0 R>>\n%%EOF\n",
  );
}

/** Opens, from the account's unpaid invoices, the first one with two lines or more and no dispute. */
async function disputableInvoice(page: Page, account: string): Promise<{ number: string; href: string }> {
  await page.goto(`${account}/invoices?status=unpaid&currency=USD`);
  const links = page.locator("table.invoices tbody tr").filter({ has: page.getByRole("link", { name: /^Dispute invoice/ }) });
  const count = await links.count();
  for (let i = 0; i < count; i++) {
    const number = (await links.nth(i).locator("th[scope=row]").innerText()).trim();
    const href = (await links.nth(i).locator("th[scope=row] a").getAttribute("href")) ?? "";
    await page.goto(`${href}/dispute`);
    if ((await page.locator('input[name="line"]').count()) >= 2) return { number, href };
    await page.goto(`${account}/invoices?status=unpaid&currency=USD`);
  }
  throw new Error("no undisputed invoice with two lines");
}

async function staffPage(browser: Browser, javaScriptEnabled: boolean): Promise<Page> {
  const context = await browser.newContext({ javaScriptEnabled, baseURL: test.info().project.use.baseURL });
  const page = await context.newPage();
  await signIn(page, AGENT, "staff");
  return page;
}

test("dispute two lines with a PDF -> queue -> reply, wait, answer -> credit note -> outcome on the invoice", async ({ page, browser }, testInfo) => {
  const jsOn = testInfo.project.name !== "no-js";
  await signIn(page, CUSTOMER);
  const account = page.url().replace(/^(.*\/accounts\/\d+).*$/, "$1").replace(/^https?:\/\/[^/]+/, "");
  const invoice = await disputableInvoice(page, account);
  const balanceBefore = await (async () => {
    await page.goto(invoice.href);
    return cents(await page.locator(".invoice-due .balance-open").innerText());
  })();

  // The customer: from the invoice page to the dispute form.
  await page.getByRole("link", { name: "Dispute this invoice" }).click();
  await expect(page.getByRole("heading", { name: `Dispute invoice ${invoice.number}`, level: 1 })).toBeVisible();
  await expectHydrated(page, testInfo);
  await expectAccessible(page);
  await page.getByLabel("Some lines (choose below)").check();
  const lines = page.locator('input[name="line"]');
  await lines.nth(0).check();
  await lines.nth(1).check();
  const lineAmounts = await Promise.all(
    [0, 1].map(async (n) => cents(await page.locator(`label[for="${await lines.nth(n).getAttribute("id")}"] .muted`).innerText())),
  );
  const disputed = lineAmounts[0] + lineAmounts[1];
  await page.getByLabel("Reason").selectOption("pricing");
  await page.getByLabel("Message to AR").fill("Lines one and two were billed at last year's list price; our contract price is lower.");
  await page.getByLabel("Attach files (optional)").setInputFiles({ name: "delivery-note.pdf", mimeType: "application/pdf", buffer: deliveryNotePdf() });
  if (jsOn) await expect(page.getByText("delivery-note.pdf")).toBeVisible(); // the island lists the chosen file
  await page.getByRole("button", { name: "Send the dispute" }).click();

  await expect(page).toHaveURL(/\/requests\/\d+/);
  const requestId = page.url().match(/\/requests\/(\d+)/)![1];
  const requestUrl = new URL(page.url()).pathname;
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Dispute");
  expect(cents(await page.locator("dt", { hasText: "Amount held" }).locator("+ dd").innerText())).toBe(disputed);
  await expect(page.getByRole("link", { name: /delivery-note\.pdf/ })).toBeVisible();
  await expectAccessible(page);

  // The agent: the new dispute heads the account's queue, with its deadline.
  const staff = await staffPage(browser, jsOn);
  await staff.goto("/staff/requests");
  await expect(staff.getByRole("heading", { name: "Requests", level: 1 })).toBeVisible();
  await expectAccessible(staff);
  await staff.getByLabel("Customer").selectOption({ label: "Northwind Traders" });
  await staff.getByRole("button", { name: "Show requests" }).click();
  const top = staff.locator("tbody tr").filter({ has: staff.locator('input[name="request"]') }).first();
  await expect(top.getByRole("link", { name: `Dispute #${requestId}` })).toBeVisible();
  await expect(top.locator(".deadline")).toHaveText(/due|breach/i);
  await expect(top.locator(".sla-badge")).toBeVisible();
  await top.getByRole("link", { name: `Dispute #${requestId}` }).click();
  await expect(staff.getByText("Lines one and two were billed")).toBeVisible();
  await expectAccessible(staff);

  // Reply, then wait on the customer: the clock pauses on both sides.
  await staff.getByLabel("Message", { exact: true }).fill("Thanks. Could you send the page of the contract with the price?");
  await staff.getByLabel(/The customer \(a reply/).check();
  await staff.getByRole("button", { name: "Send", exact: true }).click();
  await expect(staff.getByText("Could you send the page of the contract")).toBeVisible();
  await staff.getByRole("button", { name: "Mark as waiting on the customer" }).click();
  await expect(staff.locator("p.alert", { hasText: "waiting on the customer" })).toBeVisible();
  await expectAccessible(staff);

  await page.goto(requestUrl);
  await expect(page.getByText("Could you send the page of the contract")).toBeVisible();
  await expect(page.locator(".sla-lines")).toContainText(/waiting on you/i);

  // The customer answers: the clock runs again.
  await page.getByLabel("Message", { exact: true }).fill("Attached: the contract's price schedule, page 4.");
  await page.getByRole("button", { name: "Send the message" }).click();
  await expect(page.getByText("the contract's price schedule")).toBeVisible();
  await expect(page.locator(".sla-lines")).not.toContainText(/waiting on you/i);
  await staff.reload();
  await expect(staff.getByText("the contract's price schedule")).toBeVisible();
  await expect(staff.locator("p.alert", { hasText: "waiting on the customer" })).toHaveCount(0);

  // Resolve with a credit note for the disputed amount.
  await staff.getByLabel("Credit note", { exact: true }).check();
  await staff.getByLabel("Credit note amount").fill(decimal(disputed));
  await staff.getByRole("button", { name: "Resolve the request" }).click();
  await expect(staff.locator("dt", { hasText: "Outcome" }).locator("+ dd")).toContainText(/credit/i);
  await expectAccessible(staff);
  await staff.context().close();

  // The customer sees the outcome, the credit and the new balance.
  await page.goto(requestUrl);
  await expect(page.getByRole("heading", { name: "Outcome" })).toBeVisible();
  await expect(page.locator("dt", { hasText: "Invoice balance now" }).locator("+ dd")).toBeVisible();
  const balanceNow = cents(await page.locator("dt", { hasText: "Invoice balance now" }).locator("+ dd").innerText());
  expect(balanceNow).toBe(balanceBefore - disputed);
  await expectAccessible(page);

  // And the thread on the invoice page: both sides' messages, the credit.
  await page.goto(invoice.href);
  expect(cents(await page.locator(".invoice-due .balance-open").innerText())).toBe(balanceBefore - disputed);
  const timeline = page.locator(".invoice-timeline");
  await expect(timeline).toContainText("Lines one and two were billed");
  await expect(timeline).toContainText("Could you send the page of the contract");
  await expect(timeline).toContainText(/credit/i);
  await expectAccessible(page);
});

test("every other new page passes axe: requests list, AR home, customer page, settings", async ({ page, browser }, testInfo) => {
  await signIn(page, CUSTOMER);
  await page.getByRole("navigation", { name: "This account" }).getByRole("link", { name: "Requests" }).click();
  await expect(page.getByRole("heading", { name: "Requests", level: 1 })).toBeVisible();
  await expectHydrated(page, testInfo);
  await expect(page.locator("tbody tr").first()).toBeVisible(); // the demo's disputes
  await expectAccessible(page);

  const context = await browser.newContext({ javaScriptEnabled: testInfo.project.name !== "no-js", baseURL: testInfo.project.use.baseURL });
  const staff = await context.newPage();
  await signIn(staff, "ar@seller.example", "staff");
  await staff.goto("/staff");
  await expect(staff.getByRole("heading", { level: 1 })).toBeVisible();
  await expectAccessible(staff);
  await staff.goto("/staff/requests");
  await staff.locator("tbody tr").filter({ has: staff.locator('input[name="request"]') }).first().getByRole("link").nth(1).click();
  await expect(staff).toHaveURL(/\/staff\/customers\/\d+/);
  await expect(staff.getByRole("heading", { level: 1 })).toBeVisible();
  await expectAccessible(staff);
  await staff.goto("/staff/settings");
  await expect(staff.getByRole("heading", { level: 1 })).toBeVisible();
  await expectAccessible(staff);
  await context.close();
});
