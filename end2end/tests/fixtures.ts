import { test as base, expect, type BrowserContext, type Page, type TestInfo } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export type Mail = { receivedAt: number; to: string[]; subject: string; text: string; html: string };

const mailDir = process.env.MAIL_DIR ?? "test-results/mail";

/** Waits for a mail to `to` that arrived after `since`, read off the SMTP sink. */
export async function waitForMail(to: string, since: number): Promise<Mail> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const files = readdirSync(mailDir).filter((f) => f.endsWith(".json")).sort();
    for (const file of files.reverse()) {
      const mail = JSON.parse(readFileSync(join(mailDir, file), "utf8")) as Mail;
      if (mail.receivedAt >= since && mail.to.includes(to.toLowerCase())) return mail;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail to ${to} within 15 s`);
}

export function linkIn(mail: Mail): string {
  const link = mail.text.split(/\s+/).find((w) => w.startsWith("http://") || w.startsWith("https://"));
  if (!link) throw new Error(`no link in mail "${mail.subject}"`);
  return link;
}

async function axeViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
    .analyze();
  return results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}

/**
 * WCAG 2.2 AA: the scan must find nothing. axe runs as a script in the
 * page, which a JavaScript-off page cannot do; there the same URL is
 * scanned in a twin context with the same cookies whose app scripts are
 * blocked, so axe sees exactly the server-rendered page a JS-off user gets.
 */
export async function expectAccessible(page: Page) {
  if (base.info().project.name !== "no-js") {
    expect(await axeViolations(page), `axe violations on ${page.url()}`).toEqual([]);
    return;
  }
  const browser = page.context().browser();
  if (!browser) throw new Error("no browser");
  const twin = await browser.newContext({ storageState: await page.context().storageState(), javaScriptEnabled: true });
  unwatched.add(twin); // its app scripts are blocked on purpose
  try {
    await twin.route(/\/pkg\/.*\.(js|wasm)$/, (route) => route.abort());
    const twinPage = await twin.newPage();
    await twinPage.goto(page.url());
    expect(await axeViolations(twinPage), `axe violations on ${page.url()} (JavaScript off)`).toEqual([]);
  } finally {
    await twin.close();
  }
}

/** In the hydrated project the WASM app must have taken over the page. */
export async function expectHydrated(page: Page, testInfo: TestInfo) {
  if (testInfo.project.name === "hydrated") {
    await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true", { timeout: 15_000 });
  } else {
    await expect(page.locator("html")).not.toHaveAttribute("data-hydrated", "true");
  }
}

/** Signs in through the emailed link, as a person would. */
export async function signIn(page: Page, email: string, area: "customer" | "staff" = "customer") {
  const since = Date.now();
  await page.goto(area === "staff" ? "/staff/sign-in" : "/sign-in");
  await page.getByLabel("Work email").fill(email);
  await page.getByRole("button", { name: "Email me a sign-in link" }).click();
  await expect(page.getByRole("heading", { name: "Check your email" })).toBeVisible();
  const mail = await waitForMail(email, since);
  await page.goto(linkIn(mail));
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  return mail;
}

/** Contexts whose page errors are expected (the axe twin of a JavaScript-off page). */
const unwatched = new WeakSet<BrowserContext>();

/** Collects, into `problems`, what goes wrong in any page of `context`. */
function watch(context: BrowserContext, problems: string[]) {
  context.on("weberror", (e) => {
    if (!unwatched.has(context)) problems.push(`page error on ${e.page()?.url()}: ${e.error().message}`);
  });
  context.on("console", (m) => {
    // A 404 page's own status is logged as "Failed to load resource": the
    // response listener below judges the app's assets instead.
    if (unwatched.has(context) || m.type() !== "error" || m.text().startsWith("Failed to load resource")) return;
    problems.push(`console error on ${m.page()?.url()}: ${m.text()}`);
  });
  context.on("response", (r) => {
    if (!unwatched.has(context) && r.url().includes("/pkg/") && r.status() >= 400) problems.push(`asset ${r.url()} answered ${r.status()}`);
  });
}

/**
 * Fails every test (an automatic fixture) on any uncaught error in a page,
 * any console error, and any failed request for the app's own assets, in
 * every page of the test's own context and of any context the test opens
 * with `browser.newContext()`: a page that looks fine but never hydrated
 * (a broken release WASM) must not pass.
 */
export const test = base.extend<{ failOnPageErrors: void }>({
  failOnPageErrors: [
    async ({ context, browser }, use) => {
      const problems: string[] = [];
      watch(context, problems);
      const newContext = browser.newContext;
      browser.newContext = async (...args: Parameters<typeof newContext>) => {
        const opened = await newContext.apply(browser, args);
        watch(opened, problems);
        return opened;
      };
      try {
        await use();
      } finally {
        browser.newContext = newContext;
      }
      expect(problems, "errors in the page").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
