import { test, expect, expectAccessible, expectHydrated, signIn, waitForMail, linkIn } from "./fixtures";

test("a customer signs in from the emailed link, sees the account, manages sessions and signs out", async ({ page }, testInfo) => {
  const since = Date.now();
  await page.goto("/sign-in");
  await expectHydrated(page, testInfo);
  await expect(page.getByRole("heading", { name: "Sign in to your billing portal" })).toBeVisible();
  await expectAccessible(page);

  await page.getByLabel("Work email").fill("ap@northwind.example");
  await page.getByRole("button", { name: "Email me a sign-in link" }).click();
  await expect(page).toHaveURL(/\/sign-in\/check-email$/);
  await expect(page.getByRole("heading", { name: "Check your email" })).toBeVisible();
  await expectAccessible(page);

  const mail = await waitForMail("ap@northwind.example", since);
  expect(mail.subject).toContain("Acme Supply Co.");
  const link = linkIn(mail);
  expect(mail.html).toContain(link.replace(/&/g, "&amp;"));

  await page.goto(link);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await expectHydrated(page, testInfo);
  await expectAccessible(page);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();

  await expect(page).toHaveURL(/\/accounts\/\d+$/);
  await expect(page.getByRole("heading", { name: "Northwind Traders", level: 1 })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Balance" })).toBeVisible();
  await expect(page.locator(".balance-open").first()).toHaveText(/^(\$|€)[\d,]+\.\d\d$/);
  await expect(page.getByRole("table")).toContainText("Overdue 120 days");
  await expect(page.getByRole("navigation", { name: "Your account" }).getByRole("button", { name: "Sign out" })).toBeVisible();
  await expectHydrated(page, testInfo);
  await expectAccessible(page);

  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "portal_session");
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe("Lax");

  await page.getByRole("link", { name: "Sessions" }).click();
  await expect(page.getByRole("heading", { name: "Where you are signed in" })).toBeVisible();
  await expect(page.getByText("This device")).toBeVisible();
  // Every signed-in page offers sign-out in its header.
  await expect(page.getByRole("navigation", { name: "Your account" }).getByRole("button", { name: "Sign out" })).toBeVisible();
  await expectAccessible(page);

  // The link was spent: opening it again says so and offers a new one.
  await page.goto(link);
  await expect(page.getByRole("heading", { name: "This link has already been used" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Email me a new link" })).toBeVisible();
  await expectAccessible(page);

  await page.goto("/sessions");
  await page.getByRole("button", { name: "Sign out", exact: true }).first().click();
  await expect(page).toHaveURL(/\/sign-in\?signed_out=1$/);
  await expect(page.getByText("You are signed out.")).toBeVisible();
  await page.goto("/sessions");
  await expect(page).toHaveURL(/\/sign-in$/);
});

test("a contact of two customers chooses and switches accounts", async ({ page }, testInfo) => {
  await signIn(page, "shared@holding.example");
  await expect(page.getByRole("heading", { name: "Your accounts" })).toBeVisible();
  await expectAccessible(page);
  await page.getByRole("link", { name: "Holding Europe GmbH" }).click();
  await expect(page.getByRole("heading", { name: "Holding Europe GmbH", level: 1 })).toBeVisible();
  await expect(page.locator(".balance-open").first()).toContainText("€");
  await expectHydrated(page, testInfo);
  await expectAccessible(page);
  await page.getByText("Switch account").click();
  await page.getByRole("link", { name: "Holding Americas Inc." }).click();
  await expect(page.getByRole("heading", { name: "Holding Americas Inc.", level: 1 })).toBeVisible();
  await expectAccessible(page);
});

test("another customer's account is a friendly 404, and so is an unknown page", async ({ page }) => {
  await signIn(page, "ap@northwind.example");
  await expect(page).toHaveURL(/\/accounts\/\d+$/);
  const own = Number(page.url().split("/").pop());
  for (const id of [own + 1, 999999]) {
    const response = await page.goto(`/accounts/${id}`);
    expect(response?.status()).toBe(404);
    await expect(page.getByRole("heading", { name: "We couldn't find that page" })).toBeVisible();
    await expectAccessible(page);
  }
  const missing = await page.goto("/no-such-page");
  expect(missing?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "We couldn't find that page" })).toBeVisible();
  await expectAccessible(page);
});

test("staff sign in to their own area", async ({ page }, testInfo) => {
  await page.goto("/staff/sign-in");
  await expectAccessible(page);
  await signIn(page, "ar@seller.example", "staff");
  await expect(page).toHaveURL(/\/staff$/);
  await expect(page.getByRole("heading", { name: "Welcome, Alex Rivera" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Your account" }).getByRole("button", { name: "Sign out" })).toBeVisible();
  await expectHydrated(page, testInfo);
  await expectAccessible(page);
});

test("a bad link explains itself; the dev mailbox shows the mail", async ({ page }) => {
  await page.goto("/auth/confirm?token=not-a-real-token");
  await expect(page.getByRole("heading", { name: "This link doesn't work" })).toBeVisible();
  await expectAccessible(page);
  await page.goto("/sign-in?error=invalid_email");
  await expect(page.getByRole("alert")).toHaveText("Enter an email address like name@company.com.");
  await expectAccessible(page);
  await page.goto("/dev/mailbox");
  await expect(page.getByRole("heading", { name: "Dev mailbox" })).toBeVisible();
  await expectAccessible(page);
});

test("pages fit a 360 px wide screen", async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  await signIn(page, "ap@northwind.example");
  await expect(page.getByRole("heading", { name: "Northwind Traders", level: 1 })).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await expectAccessible(page);
});
