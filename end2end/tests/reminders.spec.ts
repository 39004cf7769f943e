import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "@playwright/test";
import { test, expect, expectAccessible, expectHydrated, signIn, waitForMail, type Mail } from "./fixtures";

// Issue 13's reminders in the browser (hydrated and with JavaScript off).
// The reminder job is driven as an operator would, with the CLI
// `portal reminders run --at <instant>` against the portal's database, at
// simulated mornings (09:30 or 10:30 in New York, inside the default
// 09:00-11:00 window); the running portal's outbox mails what a run queued
// to the SMTP sink. Nothing waits on time: each run's output and the staff
// customer page (the sends, with their outbox status) are the state.
//
// The demo's four customers abroad each have one open invoice, all due on
// the same day, and every run reminds every customer: so each project
// takes two of them and its own steps of the cadence, later than the
// other project's (hydrated: 3 days before -> the due date; JavaScript
// off: 7 -> 14 days after), and one customer of the other pair is the
// control that shows a reminder was due that morning.

const STAFF_ADMIN = "ar@seller.example";

type World = { email: string; name: string };
const LODZ: World = { email: "zamowienia@zaklady-lodz.example", name: "Zakłady Łódź Sp. z o.o." };
const TOKYO: World = { email: "keiri@tokyo-logistics.example", name: "株式会社東京ロジスティクス" };
const TELAVIV: World = { email: "ap@telaviv-trade.example", name: "חברת תל אביב לסחר בע״מ" };
const ATHENS: World = { email: "logistirio@ellinika.example", name: "Ελληνικά Εμπορικά Α.Ε." };

type Plan = {
  /** Gets the reminder, follows its link and pays. */
  payer: World;
  /** Promises to pay from the invoice page first. */
  promiser: World;
  /** Not held by anything: reminded on the second morning (the control). */
  control: World;
  /** The steps (days from the due date) of the two mornings. */
  steps: [number, number];
};

const PLANS: Record<string, Plan> = {
  hydrated: { payer: ATHENS, promiser: TOKYO, control: TELAVIV, steps: [-3, 0] },
  // Tokyo's promise (hydrated) ends before these mornings: it resumes.
  "no-js": { payer: TELAVIV, promiser: LODZ, control: TOKYO, steps: [7, 14] },
};

const DAY = 86_400_000;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "Jan 5, 2027" -> that day at 00:00 UTC. */
function parseDay(words: string): Date {
  const m = words.trim().match(/^([A-Z][a-z]{2}) (\d{1,2}), (\d{4})$/);
  if (!m) throw new Error(`not a date: ${words}`);
  return new Date(Date.UTC(Number(m[3]), MONTHS.indexOf(m[1]), Number(m[2])));
}

const iso = (d: Date) => d.toISOString().slice(0, 10);
const addDays = (d: Date, n: number) => new Date(d.getTime() + n * DAY);

/** The step's words on the staff customer page. */
function stepWords(offset: number): string {
  if (offset === 0) return "Step on the due date";
  const n = Math.abs(offset);
  return `Step ${n} day${n === 1 ? "" : "s"} ${offset < 0 ? "before" : "after"} the due date`;
}

type Run = { inWindow: number; sends: number; emails: number };

/** One run of the reminder job as at 14:30 UTC of `day` (09:30 EST, 10:30 EDT). */
function runReminders(day: Date): Run {
  const bin = process.env.PORTAL_BIN;
  if (!bin) throw new Error("PORTAL_BIN is not set");
  const databaseUrl = readFileSync(join(__dirname, "..", ".e2e-database-url"), "utf8").trim();
  const out = execFileSync(bin, ["reminders", "run", "--at", `${iso(day)}T14:30:00Z`], {
    encoding: "utf8",
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORTAL_BASE_URL: `http://127.0.0.1:${process.env.E2E_PORT ?? 3100}`,
      RUST_LOG: "error",
    },
  });
  // "N customers decided for their day": those in their window not yet
  // decided that day (none on a weekend or the seller's holiday).
  const m = out.match(/(\d+) customers (?:in their window|decided for their day), (\d+) invoice steps sent in (\d+) emails/);
  if (!m) throw new Error(`unexpected output of portal reminders run: ${out}`);
  return { inWindow: Number(m[1]), sends: Number(m[2]), emails: Number(m[3]) };
}

/**
 * Runs the job on each day from `from` until a working day (on a weekend
 * or the seller's holiday no customer is in its window) and returns it.
 */
function runOnFirstWorkingDay(from: Date): Date {
  for (let i = 0; i < 10; i++) {
    const day = addDays(from, i);
    if (runReminders(day).inWindow > 0) return day;
  }
  throw new Error(`no working day in the 10 days from ${iso(from)}`);
}

/** Mails to `to` that the SMTP sink received at or after `since`. */
function mailsTo(to: string, since: number): Mail[] {
  const dir = process.env.MAIL_DIR ?? "test-results/mail";
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Mail)
    .filter((m) => m.receivedAt >= since && m.to.includes(to.toLowerCase()));
}

/** The invoice lines of a reminder's text: number -> its own invoice link. */
function invoiceLinks(mail: Mail): Map<string, string> {
  const links = new Map<string, string>();
  for (const m of mail.text.matchAll(/^- Invoice (\S+): [^\n]*\n\s+(https?:\/\/\S+)/gm)) links.set(m[1], m[2]);
  return links;
}

async function staffPage(browser: Browser, javaScriptEnabled: boolean): Promise<Page> {
  const context = await browser.newContext({ javaScriptEnabled, baseURL: test.info().project.use.baseURL });
  const page = await context.newPage();
  await signIn(page, STAFF_ADMIN, "staff");
  return page;
}

/** The "Reminders sent" rows of a customer on AR's customer page, as text. */
async function sentRows(staff: Page, customerId: string): Promise<string[]> {
  await staff.goto(`/staff/customers/${customerId}`);
  await expect(staff.getByRole("heading", { name: "Reminders sent" })).toBeVisible();
  const table = staff.getByRole("region", { name: "Reminders sent" });
  if ((await table.count()) === 0) return [];
  return (await table.locator("tbody tr").allInnerTexts()).map((t) => t.replace(/\s+/g, " ").trim());
}

test("reminder email -> its invoice link -> pay in the sandbox -> the next runs send nothing for it; a promise to pay pauses the reminder", async ({ page, browser }, testInfo) => {
  // About 30 s alone; a dozen runs of the CLI (a process each) take
  // longer on a loaded machine.
  test.setTimeout(120_000);
  const jsOn = testInfo.project.name !== "no-js";
  const plan = PLANS[testInfo.project.name];
  const [first, second] = plan.steps;
  const staff = await staffPage(browser, jsOn);

  // 1. The promiser opens their open invoice and promises to pay.
  await signIn(page, plan.promiser.email);
  const promiserId = page.url().match(/\/accounts\/(\d+)/)![1];
  await page.goto(`/accounts/${promiserId}/invoices?status=unpaid`);
  const promised = (await page.locator("table.invoices tbody th[scope=row]").first().innerText()).trim();
  await page.getByRole("link", { name: promised, exact: true }).click();
  await expect(page.getByRole("heading", { name: "Promise to pay" })).toBeVisible();
  await expectHydrated(page, testInfo);

  // The due date, as AR's customer page shows it (all four share it).
  await staff.goto(`/staff/customers/${promiserId}`);
  const openRow = staff.locator('#reminders form[action$="/reminders/send"] tbody tr').filter({ hasText: promised });
  const due = parseDay(await openRow.locator("td").nth(1).innerText());
  await expectAccessible(staff);

  // A promise that covers both mornings (a weekend may move them a day
  // or two); AR lengthens the horizon when it does not reach that far.
  const promiseDay = addDays(due, second + 6);
  const dateInput = page.getByLabel("I will pay by");
  if (iso(promiseDay) > ((await dateInput.getAttribute("max")) ?? "")) {
    await staff.goto("/staff/settings");
    const settings = staff.locator('form[action="/staff/settings/reminders"]');
    await settings.getByLabel("Longest promise to pay (days)").fill("60");
    await settings.getByRole("button", { name: "Save" }).click();
    await expect(staff.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
    await page.reload();
  }
  await expect(dateInput).toHaveAttribute("max", /\d{4}-\d\d-\d\d/);
  expect(iso(promiseDay) <= ((await dateInput.getAttribute("max")) ?? "")).toBe(true);
  await expectAccessible(page);
  await dateInput.fill(iso(promiseDay));
  await page.getByRole("button", { name: "Promise to pay" }).click();
  await expect(page.getByRole("status").filter({ hasText: "your promise is recorded" })).toBeVisible();
  await expect(page.locator("#promise")).toContainText(`by ${promiseDay.toLocaleDateString("en-US", { month: "short", day: "numeric", year: "numeric", timeZone: "UTC" })}`);
  await expect(page.getByRole("button", { name: "Promise to pay" })).toHaveCount(0);
  await expectAccessible(page);

  // 2. The first morning: the payer's invoice reaches its step.
  const sinceFirst = Date.now();
  const firstDay = runOnFirstWorkingDay(addDays(due, first));
  const mail = await waitForMail(plan.payer.email, sinceFirst);
  expect(mail.subject).toContain("Acme Supply Co."); // the seller's name
  const links = invoiceLinks(mail);
  expect(links.size).toBe(1);
  const [[invoice, link]] = [...links];
  expect(link).toMatch(/\/i\/[A-Za-z0-9_-]+$/);
  expect(mail.html).toContain(`Invoice ${invoice}`);

  // 3. Its invoice link, opened by someone not signed in.
  const visitor = await browser.newContext({ javaScriptEnabled: jsOn, baseURL: testInfo.project.use.baseURL });
  const v = await visitor.newPage();
  await v.goto(link);
  await expectAccessible(v);
  await v.getByRole("button", { name: `Open invoice ${invoice}` }).click();
  await expect(v.getByRole("heading", { name: `Invoice ${invoice}` })).toBeVisible();
  await expectHydrated(v, testInfo);
  await expectAccessible(v);
  const payerId = v.url().match(/\/accounts\/(\d+)/)![1];

  // 4. The link lets its reader pay that invoice without signing in
  //    (DESIGN.md): no account navigation, no credits, the receipt
  //    address typed. Then pay it in the sandbox.
  await expect(v.getByText("you can view and pay that invoice without signing in")).toBeVisible();
  await v.getByRole("link", { name: "Pay this invoice" }).click();
  await expect(v.getByRole("heading", { name: "Pay invoices", level: 1 })).toBeVisible();
  await expect(v.getByRole("navigation", { name: "This account" })).toHaveCount(0);
  await expect(v.getByText("Credits on your account")).toHaveCount(0);
  await v.getByRole("radio", { name: /^Card/ }).check();
  const receipt = v.getByLabel("Email the receipt to");
  await expect(receipt).toHaveValue("");
  await receipt.fill(plan.payer.email);
  await expectAccessible(v);
  await v.getByRole("button", { name: "Review payment" }).click();
  await v.getByRole("button", { name: /^Pay .+ by card$/ }).click();
  await expect(v).toHaveURL(/\/sandbox\/checkout\/cs_sandbox_/);
  await v.getByRole("button", { name: /payment succeeds/ }).click();
  await expect(v.getByRole("heading", { name: /^Payment receipt PAY-\d+$/ })).toBeVisible();
  await expect(v.locator(".invoice-head .status")).toHaveText("Succeeded");
  await expectAccessible(v);
  await visitor.close();

  // The promiser was not reminded on the first morning, though the same
  // step was due for the payer's identical invoice.
  let rows = await sentRows(staff, promiserId);
  for (const step of [first, second]) {
    expect(rows.filter((r) => r.includes(promised) && r.includes(stepWords(step)))).toEqual([]);
  }

  // 5. The next days' runs, up to the morning of the next step: nothing
  //    for the paid invoice nor the promised one; the control customer is
  //    reminded of that step.
  const sinceNext = Date.now();
  let day = addDays(firstDay, 1);
  for (;;) {
    const run = runReminders(day);
    if (day.getTime() >= addDays(due, second).getTime() && run.inWindow > 0) break;
    day = addDays(day, 1);
    expect(day.getTime() - firstDay.getTime()).toBeLessThan(20 * DAY);
  }
  const control = await waitForMail(plan.control.email, sinceNext);
  expect(control.subject).toContain("Acme Supply Co.");
  expect(invoiceLinks(control).size).toBe(1);

  // AR's customer pages: the payer's invoice had the first step only, its
  // email sent by the outbox; the promised invoice had neither.
  await expect(async () => {
    rows = await sentRows(staff, payerId);
    const mine = rows.filter((r) => r.includes(invoice));
    expect(mine.filter((r) => r.includes(stepWords(first)))).toHaveLength(1);
    expect(mine.filter((r) => r.includes(stepWords(second)))).toEqual([]);
    expect(mine.find((r) => r.includes(stepWords(first)))).toContain("1 of 1 emails sent");
  }).toPass({ timeout: 15_000 });
  await expectAccessible(staff);
  rows = await sentRows(staff, promiserId);
  for (const step of [first, second]) {
    expect(rows.filter((r) => r.includes(promised) && r.includes(stepWords(step)))).toEqual([]);
  }
  await expect(staff.getByRole("region", { name: "Promises to pay" }).getByRole("row", { name: /Open/ })).toHaveCount(1);
  // Nor did the SMTP server get a reminder of either (a receipt may come).
  expect(mailsTo(plan.payer.email, sinceNext).filter((m) => invoiceLinks(m).has(invoice))).toEqual([]);
  expect(mailsTo(plan.promiser.email, sinceFirst).filter((m) => invoiceLinks(m).has(promised))).toEqual([]);

  // The promiser's invoice page still says the promise holds.
  await page.reload();
  await expect(page.locator("#promise")).toContainText("Reminders for this invoice pause until then");
  await staff.context().close();
});
