// Export to the books in Chromium: Emma sends a receipt dated last month, Mark approves it,
// Anna reviews it; then Anna opens Birch's export page, sees the month's preview, exports it,
// downloads the ZIP, and the test opens the ZIP and checks its journal, PDF and manifest.
// Emma's receipt then reads "Exported to the books".

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { unzipSync, strFromU8 } from "fflate";
import { approveAsMark, chromiumForFile, fixturePhotos, newContext, receiptRow as row, screenshot, sendMeal, signIn, SLOW, waitSynced, watch } from "./support";

const MERCHANT = "Export test Rīgas Piens";
const chrome = chromiumForFile();
const logs = chrome.logs;

/** The 15th of last month, `YYYY-MM-DD` (the export page starts at last month). */
function lastMonthDay(): string {
  const now = new Date();
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15));
  return d.toISOString().slice(0, 10);
}

test("Anna exports last month for Birch and the ZIP holds the receipt", async () => {
  const browser = chrome.browser();
  const [emmaCtx, markCtx, annaCtx] = [await newContext(browser), await newContext(browser), await newContext(browser)];
  const [emma, mark, anna] = [await emmaCtx.newPage(), await markCtx.newPage(), await annaCtx.newPage()];
  const watched = [watch(emma, "emma"), watch(mark, "mark"), watch(anna, "anna")];
  try {
    // Emma sends a 30.00 EUR meal dated last month.
    await signIn(emma, "emma@demo.kvits");
    await sendMeal(emma, fixturePhotos()[1], MERCHANT, lastMonthDay());

    // Mark approves it.
    await signIn(mark, "mark@demo.kvits");
    await approveAsMark(mark, MERCHANT);

    // Anna opens Birch, reviews the receipt.
    await signIn(anna, "anna@demo.kvits");
    const clients = anna.getByRole("list", { name: "Clients" });
    await clients.getByRole("button", { name: /^Birch Bakery/ }).click({ timeout: SLOW });
    await row(anna, MERCHANT).getByText("Approved", { exact: true }).waitFor({ timeout: SLOW });
    await row(anna, MERCHANT).getByRole("button").click();
    const review = anna.getByRole("region", { name: "Review" });
    await review.getByRole("button", { name: "Mark reviewed" }).click();
    await review.getByText("Reviewed: ready for export.").waitFor();
    await waitSynced(anna);

    // The export page starts at last month and shows what a batch would hold.
    await anna.getByRole("navigation", { name: "Main" }).getByRole("button", { name: "Receipts" }).click();
    await anna.getByRole("button", { name: "Export to the books" }).click();
    await anna.getByRole("heading", { name: "Export Birch Bakery to the books" }).waitFor();
    const preview = anna.getByRole("status", { name: "What the batch would hold" });
    await preview.getByText(/^\d+ documents?, \d+ pages?: .*EUR/).waitFor({ timeout: SLOW });
    await screenshot(anna, "export-00-preview");
    await anna.getByRole("button", { name: /^Export \d+ documents$/ }).click();
    await anna.getByText(/^Batch \d+ is ready: \d+ documents?\.$/).waitFor({ timeout: SLOW });
    const batches = anna.getByRole("list", { name: "Batches" });
    const first = batches.getByRole("listitem").first();
    await screenshot(anna, "export-01-batch-ready");

    // Download it, and open it.
    const [download] = await Promise.all([
      anna.waitForEvent("download"),
      first.getByRole("button", { name: /^Download kvits-birch-bakery-export-\d+\.zip$/ }).click(),
    ]);
    const path = await download.path();
    const zip = unzipSync(new Uint8Array(readFileSync(path)));
    const names = Object.keys(zip).sort();
    expect(names).toContain("journal.csv");
    expect(names).toContain("manifest.json");
    const manifest = JSON.parse(strFromU8(zip["manifest.json"])) as { files: { name: string; sha256: string }[] };
    for (const f of manifest.files) {
      expect(createHash("sha256").update(zip[f.name]).digest("hex"), f.name).toBe(f.sha256);
    }
    // The journal: the demo firm's `;` and decimal comma; our receipt's row and its PDF.
    const journal = strFromU8(zip["journal.csv"]).replace(/^\uFEFF/, "");
    const [header, ...rows] = journal.trim().split("\r\n");
    const columns = header.split(";");
    const ours = rows.map((r) => r.split(";")).find((r) => r[columns.indexOf("merchant")] === MERCHANT);
    expect(ours, journal).toBeDefined();
    expect(ours![columns.indexOf("amount")]).toBe("30,00");
    expect(ours![columns.indexOf("date")]).toBe(lastMonthDay());
    const pdf = zip[ours![columns.indexOf("pdf_file")]];
    expect(strFromU8(pdf.slice(0, 5))).toBe("%PDF-");

    // Every device sees it exported.
    await row(emma, MERCHANT).getByText(/^Exported to the books: batch \d+, voucher \d+-\d+$/).waitFor({ timeout: SLOW });
    await screenshot(emma, "export-02-emma-sees-exported");
  } finally {
    for (const log of watched) logs.push(...log);
    await Promise.all([emmaCtx.close(), markCtx.close(), annaCtx.close()]);
  }
});
