import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Download, Page } from "@playwright/test";
import { test, expect, expectAccessible, expectHydrated, signIn } from "./fixtures";

/** Text of a downloaded PDF, as poppler's pdftotext reads it. */
async function pdfText(download: Download): Promise<string> {
  const path = await download.path();
  return execFileSync("pdftotext", ["-layout", path, "-"], { encoding: "utf8" });
}

async function download(page: Page, click: () => Promise<void>): Promise<Download> {
  const [file] = await Promise.all([page.waitForEvent("download"), click()]);
  return file;
}

/** A link to one invoice, minted by `portal invoice-link` as an operator would. */
function invoiceLink(number: string): string {
  const databaseUrl = readFileSync(join(__dirname, "..", ".e2e-database-url"), "utf8").trim();
  const bin = process.env.PORTAL_BIN;
  if (!bin) throw new Error("PORTAL_BIN is not set");
  return execFileSync(bin, ["invoice-link", "--invoice", number], {
    encoding: "utf8",
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORTAL_BASE_URL: `http://127.0.0.1:${process.env.E2E_PORT ?? 3100}`,
      RUST_LOG: "error",
    },
  }).trim();
}

test("list -> filter -> sort -> back -> detail -> PDF, CSV and zip downloads", async ({ page }, testInfo) => {
  await signIn(page, "ap@northwind.example");
  await page.getByRole("navigation", { name: "This account" }).getByRole("link", { name: "Invoices" }).click();
  await expect(page.getByRole("heading", { name: "Invoices", level: 1 })).toBeVisible();
  await expectHydrated(page, testInfo);
  await expect(page.getByRole("status")).toHaveText(/^\d+ invoices match$/);
  await expectAccessible(page);

  // Filter: overdue only. The URL holds the filter.
  await page.getByLabel("Status").selectOption("overdue");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page).toHaveURL(/status=overdue/);
  // Each row's standing is its first badge; a payment in progress, a
  // dispute or a payment plan add badges of their own after it.
  const statuses = page.locator("table.invoices tbody td > .status:first-child");
  await expect(statuses.first()).toBeVisible();
  for (const text of await statuses.allTextContents()) expect(text).toMatch(/^Overdue \d+ days?$/);
  await expectAccessible(page);

  // Sort by balance, biggest first; the header says so to screen readers.
  await page.getByRole("link", { name: "Balance" }).click();
  await expect(page).toHaveURL(/sort=balance&dir=desc/);
  await expect(page.getByRole("columnheader", { name: /Balance/ })).toHaveAttribute("aria-sort", "descending");
  const balances = (await page.locator("table.invoices tbody td.num:last-child").allTextContents()).map((t) =>
    Number(t.replace(/[^\d.]/g, "")),
  );
  expect(balances).toEqual([...balances].sort((a, b) => b - a));
  await expect(page).toHaveURL(/status=overdue/);

  // Back: the previous list, filter kept, sort gone.
  await page.goBack();
  await expect(page).toHaveURL(/status=overdue/);
  await expect(page).not.toHaveURL(/sort=balance/);
  await expect(page.getByLabel("Status")).toHaveValue("overdue");

  // CSV of the filtered list.
  const csv = await download(page, () => page.getByRole("link", { name: "Export CSV" }).click());
  expect(csv.suggestedFilename()).toMatch(/^Northwind-Traders-invoices-\d{4}-\d{2}-\d{2}\.csv$/);
  const csvText = readFileSync(await csv.path(), "utf8");
  const rows = csvText.trim().split("\n");
  expect(rows[0]).toBe("Invoice,PO,Issued,Due,Status,Currency,Total,Paid,Credited,Balance");
  const shown = await page.locator("table.invoices tbody th[scope=row]").allTextContents();
  expect(rows.slice(1).map((r) => r.split(",")[0])).toEqual(shown);

  // Two ticked invoices as one zip.
  await page.getByLabel(`Select invoice ${shown[0]}`).check();
  await page.getByLabel(`Select invoice ${shown[1]}`).check();
  const zip = await download(page, () => page.getByRole("button", { name: "Download selected PDFs (zip)" }).click());
  expect(zip.suggestedFilename()).toBe("Northwind-Traders-invoices.zip");
  const listing = execFileSync("unzip", ["-Z1", await zip.path()], { encoding: "utf8" }).trim().split("\n").sort();
  expect(listing).toEqual([`${shown[0]}.pdf`, `${shown[1]}.pdf`].sort());

  // Detail, then its PDF.
  await page.goto(page.url());
  await page.getByRole("link", { name: shown[0], exact: true }).click();
  await expect(page.getByRole("heading", { name: `Invoice ${shown[0]}` })).toBeVisible();
  await expectHydrated(page, testInfo);
  const balance = (await page.locator(".invoice-due .balance-open").textContent())!.trim();
  await expect(page.getByRole("heading", { name: "Lines" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Timeline" })).toBeVisible();
  // Moments: UTC from the server; the viewer's own zone once hydrated.
  // The newest entry (this visit) is a moment; "issued" is a calendar date.
  const moment = page.locator(".invoice-timeline time").last();
  if (testInfo.project.name === "hydrated") await expect(moment).not.toContainText("UTC");
  else await expect(moment).toContainText("UTC");
  await expectAccessible(page);
  const pdf = await download(page, () => page.getByRole("link", { name: /Download PDF/ }).click());
  expect(pdf.suggestedFilename()).toBe(`${shown[0]}.pdf`);
  const text = await pdfText(pdf);
  expect(text).toContain(`Invoice ${shown[0]}`);
  expect(text).toContain(balance);
});

test("statement of account: period, running balance, aging, PDF and CSV", async ({ page }, testInfo) => {
  await signIn(page, "ap@northwind.example");
  await page.getByRole("navigation", { name: "This account" }).getByRole("link", { name: "Statement" }).click();
  await expect(page.getByRole("heading", { name: "Statement of account" })).toBeVisible();
  await expectHydrated(page, testInfo);
  const year = new Date().getUTCFullYear();
  await page.getByLabel("From").fill(`${year - 1}-01-01`);
  await page.getByRole("button", { name: "Show statement" }).click();
  await expect(page).toHaveURL(new RegExp(`from=${year - 1}-01-01`));
  await expect(page.getByRole("heading", { name: "Activity in USD" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Aging in USD" })).toBeVisible();
  await expectAccessible(page);
  const closing = (await page.locator("tr.grand").filter({ hasText: "Closing balance" }).first().locator("td.num").textContent())!.trim();

  const pdf = await download(page, () => page.getByRole("link", { name: "Download PDF" }).click());
  expect(pdf.suggestedFilename()).toMatch(/^statement-Northwind-Traders-.*\.pdf$/);
  const text = await pdfText(pdf);
  expect(text).toContain("Statement of account");
  expect(text).toContain(closing);
  const csv = await download(page, () => page.getByRole("link", { name: "Download CSV" }).click());
  expect(readFileSync(await csv.path(), "utf8")).toContain("Closing balance");

  // A backwards period is refused in words, with nothing listed.
  await page.getByLabel("From").fill(`${year}-05-01`);
  await page.getByLabel("To").fill(`${year}-04-01`);
  await page.getByRole("button", { name: "Show statement" }).click();
  await expect(page.getByRole("alert")).toHaveText("The end date is before the start date");
  await expectAccessible(page);
});

test("payment history -> receipt -> receipt PDF", async ({ page }, testInfo) => {
  await signIn(page, "ap@northwind.example");
  await page.getByRole("navigation", { name: "This account" }).getByRole("link", { name: "Payments" }).click();
  await expect(page.getByRole("heading", { name: "Payment history" })).toBeVisible();
  await expectHydrated(page, testInfo);
  await expectAccessible(page);
  // The newest received payment (the payment tests leave failed and
  // canceled ones, which have no receipt).
  const first = page
    .locator("table.invoices tbody tr")
    .filter({ has: page.locator(".status", { hasText: /^Succeeded$/ }) })
    .first();
  const amount = (await first.locator("td.num").textContent())!.trim();
  await first.locator("th a").click();
  await expect(page.getByRole("heading", { name: /^Payment receipt PAY-\d+$/ })).toBeVisible();
  await expect(page.locator(".invoice-due .balance-open")).toHaveText(amount);
  await expectAccessible(page);
  const pdf = await download(page, () => page.getByRole("link", { name: "Download receipt (PDF)" }).click());
  expect(pdf.suggestedFilename()).toMatch(/^receipt-PAY-\d+\.pdf$/);
  expect(await pdfText(pdf)).toContain(amount);
});

test("an invoice link from an email shows that invoice and its PDF only; AR revokes it", async ({ page, browser }, testInfo) => {
  // Pick an open invoice as the customer sees it, then mint its link.
  await signIn(page, "ap@northwind.example");
  await page.goto(page.url().replace(/\/accounts\/(\d+).*/, "/accounts/$1/invoices?status=unpaid"));
  const number = (await page.locator("table.invoices tbody th[scope=row]").first().textContent())!.trim();
  const link = invoiceLink(number);

  const visitor = await browser.newContext({ javaScriptEnabled: testInfo.project.name !== "no-js" });
  const v = await visitor.newPage();
  await v.goto(link);
  // Opening the link changes nothing until its button is pressed (a POST).
  await expectAccessible(v);
  await v.getByRole("button", { name: `Open invoice ${number}` }).click();
  await expect(v.getByRole("heading", { name: `Invoice ${number}` })).toBeVisible();
  await expect(v).not.toHaveURL(/\/i\//);
  await expect(v.getByRole("link", { name: "See your whole account" })).toBeVisible();
  await expectAccessible(v);
  const pdf = await download(v, () => v.getByRole("link", { name: /Download PDF/ }).click());
  expect(await pdfText(pdf)).toContain(number);
  // Nothing else of the account.
  await v.goto(v.url().replace(/\/invoices\/\d+$/, "/invoices"));
  await expect(v.getByRole("heading", { name: "We couldn't find that page" })).toBeVisible();

  // AR staff revoke it; the visitor's next request is turned away.
  const staff = await browser.newContext({ javaScriptEnabled: testInfo.project.name !== "no-js" });
  const s = await staff.newPage();
  await signIn(s, "ar@seller.example", "staff");
  await s.goto(`/staff/invoice-links?number=${number}`);
  await expect(s.getByRole("heading", { name: "Invoice links" })).toBeVisible();
  await expectAccessible(s);
  await s.getByRole("button", { name: `Revoke link to ${number}` }).first().click();
  await expect(s.getByText("The link was revoked.")).toBeVisible();
  await v.goto(link);
  await expect(v.getByRole("heading", { name: "This invoice link was withdrawn" })).toBeVisible();
  await expect(v.getByRole("button", { name: "Email me a fresh link" })).toBeVisible();
  await expectAccessible(v);
  await visitor.close();
  await staff.close();
});

test("dates follow the viewer's language and the list works at 360 px", async ({ browser }, testInfo) => {
  const context = await browser.newContext({
    locale: "de-DE",
    viewport: { width: 360, height: 740 },
    javaScriptEnabled: testInfo.project.name !== "no-js",
  });
  const page = await context.newPage();
  await signIn(page, "ap@northwind.example");
  await page.goto(page.url().replace(/\/accounts\/(\d+).*/, "/accounts/$1/invoices"));
  await expect(page.locator("table.invoices tbody td").nth(2)).toHaveText(/^\d{2}\.\d{2}\.\d{4}$/);
  // Nothing sticks out sideways: wide tables scroll inside their own region.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  const button = await page.getByRole("button", { name: "Apply filters" }).boundingBox();
  expect(button!.x + button!.width).toBeLessThanOrEqual(360);
  await context.close();
});
