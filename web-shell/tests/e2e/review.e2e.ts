// The accounting firm's review in Chromium: Emma sends a receipt, Mark approves it; Anna
// corrects its VAT and account, returns it with a question; Emma answers, sets the VAT rate
// herself and sends it again; once approved again, Anna marks it reviewed. The server ends with
// every step in the history.

import { expect, test } from "vitest";
import type { Page } from "playwright-core";
import { apiLogin, approveAsMark as approve, chromiumForFile, eventually, fixturePhotos, newContext, pullAll, receiptRow, screenshot, sendMeal, signIn, SLOW, waitSynced, watch } from "./support";
import type { Expense } from "./support";

const MERCHANT = "Review test dinner";
const QUESTION = "Who was at this dinner?";
const ANSWER = "Client dinner with Cedar Logistics";
const chrome = chromiumForFile();
const logs = chrome.logs;

const row = receiptRow;
const approveAsMark = (page: Page) => approve(page, MERCHANT);

test("Anna corrects, asks, and marks reviewed; Emma answers and resubmits", async () => {
  const browser = chrome.browser();
  const [emmaCtx, markCtx, annaCtx] = [await newContext(browser), await newContext(browser), await newContext(browser)];
  const [emma, mark, anna] = [await emmaCtx.newPage(), await markCtx.newPage(), await annaCtx.newPage()];
  const watched = [watch(emma, "emma"), watch(mark, "mark"), watch(anna, "anna")];
  try {
    // Emma sends a 30.00 EUR meal.
    await signIn(emma, "emma@demo.kvits");
    await sendMeal(emma, fixturePhotos()[0], MERCHANT);

    await signIn(mark, "mark@demo.kvits");
    await approveAsMark(mark);

    // Anna starts from her clients: only hers, Birch among those with documents to review.
    await signIn(anna, "anna@demo.kvits");
    await anna.getByRole("heading", { name: "Clients" }).waitFor();
    const find = anna.getByRole("search", { name: "Find clients" });
    await find.getByLabel("Show").selectOption("ToReview");
    const clients = anna.getByRole("list", { name: "Clients" });
    await clients.getByRole("button", { name: /^Birch Bakery: .*to review/ }).waitFor({ timeout: SLOW });
    await expect(clients.getByRole("button", { name: /^Dune Design/ }).count()).resolves.toBe(0);
    await screenshot(anna, "review-00-clients-to-review");
    // Opening Birch shows its receipts to review.
    await clients.getByRole("button", { name: /^Birch Bakery/ }).click();
    await anna.getByRole("search", { name: "Filter receipts" }).getByRole("button", { name: "Clear filters" }).waitFor();
    await row(anna, MERCHANT).getByText("Approved", { exact: true }).waitFor({ timeout: SLOW });
    await row(anna, MERCHANT).getByRole("button").click();
    const review = anna.getByRole("region", { name: "Review" });
    await review.waitFor();
    await review.getByRole("button", { name: "Add VAT rate" }).click();
    const line = review.getByRole("group", { name: "VAT line 1" });
    await line.getByLabel("Rate %").fill("21");
    await line.getByLabel("Net").fill("20.00");
    await line.getByLabel("VAT").fill("4.20");
    await review.getByLabel("Account").fill("7210");
    await review.getByRole("button", { name: "Save correction" }).click();
    // 24.20 is not the receipt's 30.00: refused on the form, nothing sent.
    await review.getByRole("alert").getByText(/add up to 24\.20 EUR/).waitFor();
    await screenshot(anna, "review-01-vat-refused");
    await line.getByLabel("Net").fill("24.79");
    await line.getByLabel("VAT").fill("5.21");
    await review.getByRole("button", { name: "Save correction" }).click();
    const history = anna.getByRole("region", { name: "History" });
    await history.getByText("Anna Accountant corrected it").waitFor();
    await history.getByText("Account: — → 7210").waitFor();
    await waitSynced(anna);

    // ... and returns it with a question.
    await review.getByLabel("Question for the employee").fill(QUESTION);
    await review.getByRole("button", { name: "Return with question" }).click();
    await anna.getByText(`Returned for changes: ${QUESTION}`).first().waitFor();
    await waitSynced(anna);
    await screenshot(anna, "review-02-returned");

    // Emma sees the question, answers, and sends the receipt again.
    await row(emma, MERCHANT).getByText(`Returned for changes: ${QUESTION}`).waitFor({ timeout: SLOW });
    await row(emma, MERCHANT).getByRole("button").click();
    const answer = emma.getByRole("region", { name: "Question from Anna Accountant" });
    await answer.getByText(QUESTION).waitFor();
    await answer.getByLabel("Your answer").fill(ANSWER);
    await answer.getByRole("button", { name: "Send answer" }).click();
    await answer.getByText(ANSWER).waitFor();
    // The firm's VAT line is in her form. The dinner was taxed at 14 %: she types the rate and
    // leaves the amounts empty, and the core splits the 30.00 EUR by it.
    const vat = emma.getByRole("group", { name: "VAT line 1" });
    await expect(vat.getByLabel("Rate %").inputValue()).resolves.toBe("21");
    await vat.getByLabel("Rate %").fill("14");
    await vat.getByLabel("Net").fill("");
    await vat.getByLabel("VAT").fill("");
    await screenshot(emma, "review-03-emma-answered");
    await emma.getByRole("button", { name: "Submit", exact: true }).click();
    await row(emma, MERCHANT).getByText("Sent, waiting for approval").waitFor({ timeout: SLOW });
    await waitSynced(emma);

    await approveAsMark(mark);

    // Approved again: Anna finds it among the receipts to review and marks it reviewed.
    await anna.getByRole("navigation", { name: "Main" }).getByRole("button", { name: "Receipts" }).click();
    const filters = anna.getByRole("search", { name: "Filter receipts" });
    await filters.getByLabel("Status").selectOption("ToReview");
    await filters.getByRole("button", { name: "Clear filters" }).waitFor();
    await row(anna, MERCHANT).getByText("Approved", { exact: true }).waitFor({ timeout: SLOW });
    await screenshot(anna, "review-04-to-review");
    await row(anna, MERCHANT).getByRole("button").click();
    await history.getByText(ANSWER).waitFor();
    await review.getByRole("button", { name: "Mark reviewed" }).click();
    await review.getByText("Reviewed: ready for export.").waitFor();
    await waitSynced(anna);
    await screenshot(anna, "review-05-reviewed");
    await row(emma, MERCHANT).getByText("Reviewed by the accounting firm").waitFor({ timeout: SLOW });
    // Reviewed, it has left the "to review" list.
    await anna.getByRole("navigation", { name: "Main" }).getByRole("button", { name: "Receipts" }).click();
    await filters.getByLabel("Status").selectOption("ToReview");
    await expect.poll(() => row(anna, MERCHANT).count(), { timeout: SLOW }).toBe(0);
    await filters.getByLabel("Status").selectOption("Reviewed");
    await row(anna, MERCHANT).getByText("Reviewed by the accounting firm").waitFor();

    const api = await apiLogin("emma@demo.kvits");
    const done = await eventually("the reviewed receipt on the server", async () => {
      const e = (await pullAll(api)).find((x): x is Expense => x.kind === "expense" && (x as Expense).fields.merchant === MERCHANT);
      return e?.status === "reviewed" ? e : undefined;
    });
    const fields = done.fields as Expense["fields"] & { vat?: unknown; account_code?: string };
    // 30.00 at 14 %: VAT 3.68, net 26.32.
    expect(fields.vat).toEqual([{ rate_bp: 1400, net_minor: 2632, vat_minor: 368 }]);
    expect(fields.account_code).toBe("7210");
    const actions = ((done.history ?? []) as { action: string; note?: string }[]).map((h) => h.action);
    expect(actions).toEqual([
      "created",
      "edited",
      "submitted",
      "approved",
      "corrected",
      "returned",
      "answered",
      "edited",
      "submitted",
      "approved",
      "reviewed",
    ]);
  } finally {
    for (const log of watched) logs.push(...log);
    await Promise.all([emmaCtx.close(), markCtx.close(), annaCtx.close()]);
  }
});
