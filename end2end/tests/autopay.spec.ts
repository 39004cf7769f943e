import { test, expect, expectAccessible, expectHydrated, signIn } from "./fixtures";

// Issue 12's saved methods and autopay in the browser (hydrated and with
// JavaScript off): save a card through the sandbox's hosted setup page
// (a page of another kind than the portal's, as Stripe's is), see it
// listed, turn autopay on under the terms shown, and off again. Every
// page on the way passes axe.
//
// Autopay here pays only invoices up to 0.01 each, so the portal's autopay
// job, which runs beside these tests, finds nothing to announce or charge
// and no other test receives a notice meant for this one.

const CUSTOMER = "payables@northwind.example";

test("save a card in the sandbox -> turn autopay on with its terms -> turn it off", async ({ page }, testInfo) => {
  await signIn(page, CUSTOMER);
  if (!/\/accounts\/\d+/.test(page.url())) await page.getByRole("link", { name: /Northwind Traders/ }).first().click();
  await page.getByRole("navigation", { name: "This account" }).getByRole("link", { name: "Autopay" }).click();
  await expect(page.getByRole("heading", { name: "Autopay", level: 1 })).toBeVisible();
  await expectHydrated(page, testInfo);
  await expectAccessible(page);

  // The other project may have left autopay on: start from off.
  const off = page.getByRole("button", { name: "Turn off autopay" });
  if (await off.isVisible()) {
    await off.click();
    await expect(page.getByRole("status").filter({ hasText: "Autopay is off" })).toBeVisible();
  }

  // Save a card: nothing is charged.
  await page.getByRole("link", { name: "Saved payment methods" }).click();
  await expect(page.getByRole("heading", { name: "Saved payment methods", level: 1 })).toBeVisible();
  await expectAccessible(page);
  const cards = page.getByRole("rowheader", { name: /card ending 4242/ });
  const before = await cards.count();
  await page.getByRole("button", { name: "Save a card" }).click();
  await expect(page).toHaveURL(/\/sandbox\/setup\//);
  await expect(page.getByRole("heading", { name: "Save a payment method" })).toBeVisible();
  await page.getByRole("button", { name: /Save Visa card ending 4242/ }).click();
  await expect(page.getByRole("heading", { name: "Saved payment methods", level: 1 })).toBeVisible();
  await expect(page.getByText("Saved. Nothing was charged.")).toBeVisible();
  await expect(cards).toHaveCount(before + 1);
  await expectAccessible(page);

  // Turn autopay on: the terms must be agreed to.
  await page.getByRole("link", { name: "Autopay settings" }).click();
  await expect(page.getByRole("heading", { name: "Turn on autopay" })).toBeVisible();
  await page.getByLabel(/Invoices up to a maximum amount each/).check();
  await page.getByLabel(/Maximum per invoice/).fill("0.01");
  await page.getByRole("group", { name: "Pay with" }).getByRole("radio").first().check();
  await page.getByRole("button", { name: "Turn on autopay" }).click();
  await expect(page.getByText("Tick the box to agree to the autopay terms")).toBeVisible();
  await expect(page.getByRole("heading", { name: "Autopay is on" })).toHaveCount(0);
  await expectAccessible(page);

  await page.getByLabel(/Invoices up to a maximum amount each/).check();
  await page.getByLabel(/Maximum per invoice/).fill("0.01");
  await page.getByRole("group", { name: "Pay with" }).getByRole("radio").first().check();
  await page.getByLabel("I agree to these autopay terms").check();
  await page.getByRole("button", { name: "Turn on autopay" }).click();
  await expect(page.getByRole("heading", { name: "Autopay is on" })).toBeVisible();
  await expect(page.getByText(/terms version 1/)).toBeVisible();
  await expectAccessible(page);

  await page.getByRole("button", { name: "Turn off autopay" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Autopay is off" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Turn on autopay" })).toBeVisible();
});
