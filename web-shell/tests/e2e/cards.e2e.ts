// Card statements in Chromium: Anna opens Birch, imports Birch's November card statement (a
// camt.053 written for the tests) from the Card payments page, and sees the card report: each
// card with its payments, and the card Kvits does not know yet. Then Emma sees the payments of
// her card without a receipt, and declares one of them without a receipt.

import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { chromiumForFile, newContext, screenshot, signIn, SLOW, waitSynced, watch } from "./support";

const STATEMENT = fileURLToPath(
  new URL("../../../sync-server/tests/fixtures/statements/birch-2026-11.camt053.xml", import.meta.url),
);
const chrome = chromiumForFile();
const logs = chrome.logs;

test("Anna imports Birch's card statement and Emma sees what is missing", async () => {
  const browser = chrome.browser();
  const [annaCtx, emmaCtx] = [await newContext(browser), await newContext(browser)];
  const [anna, emma] = [await annaCtx.newPage(), await emmaCtx.newPage()];
  const watched = [watch(anna, "anna"), watch(emma, "emma")];
  try {
    await signIn(anna, "anna@demo.kvits");
    const clients = anna.getByRole("list", { name: "Clients" });
    await clients.getByRole("button", { name: /^Birch Bakery/ }).click({ timeout: SLOW });
    await anna.getByRole("navigation", { name: "Main" }).getByRole("button", { name: /^Card payments/ }).click();
    await anna.getByRole("heading", { name: "Card payments of Birch Bakery" }).waitFor();

    const upload = anna.getByRole("region", { name: "Import a bank statement" });
    await upload.getByLabel("Statement file").setInputFiles(STATEMENT);
    await upload.getByRole("button", { name: "Import" }).click();
    // A first import makes 7 new payments; a run against the same server finds them again.
    await upload.getByText(/^camt\.053: 7 card payments, \d new, \d already imported/).waitFor({ timeout: SLOW });
    await screenshot(anna, "cards-00-imported");

    const report = anna.getByRole("table", { name: "Card report" });
    const visa = report.getByRole("row", { name: /Visa Business ·4821/ });
    await visa.waitFor({ timeout: SLOW });
    await expect.poll(async () => (await visa.getByRole("cell").allTextContents()).slice(1), { timeout: SLOW }).toEqual([
      "4",
      "0",
      "4",
      "0",
    ]);
    await report.getByRole("row", { name: /Mastercard Fleet ·7302/ }).waitFor();
    await report.getByRole("row", { name: /516793\*+9999/ }).waitFor();
    const payments = anna.getByRole("list", { name: "Card payments" });
    await payments.getByRole("listitem", { name: /^AMAZON EU SARL/ }).waitFor();
    await screenshot(anna, "cards-01-report");

    // A bank whose statements come as CSV: Anna saves its layout, then imports a file with it.
    const profiles = anna.getByRole("region", { name: "Bank profiles for CSV files" });
    await profiles.getByRole("button", { name: "New bank profile" }).click();
    await profiles.getByLabel("Bank", { exact: true }).fill("Test Bank CSV");
    await profiles.getByLabel("Booking date").fill("1");
    await profiles.getByLabel("Amount (negative: money out)").fill("2");
    await profiles.getByLabel("Merchant").fill("3");
    await profiles.getByLabel("Card number").fill("4");
    await profiles.getByLabel("Bank reference").fill("5");
    await profiles.getByRole("button", { name: "Save bank profile" }).click();
    await profiles.getByText("Saved Test Bank CSV.").waitFor();
    const csv = join(tmpdir(), `kvits-cards-${Date.now()}.csv`);
    writeFileSync(csv, "Datums;Summa;Saņēmējs;Karte;Kods\n28.11.2026;-9,90;SPOTIFY AB;****4821;CSV-2026-1\n");
    await upload.getByLabel("Statement file").setInputFiles(csv);
    await upload.getByLabel("Bank profile (CSV files only)").selectOption("Test Bank CSV");
    await upload.getByRole("button", { name: "Import" }).click();
    await upload.getByText(/^csv: 1 card payments, \d new/).waitFor({ timeout: SLOW });
    await payments.getByRole("listitem", { name: /^SPOTIFY AB 9\.90 EUR/ }).waitFor({ timeout: SLOW });

    // The saved layout opens filled in; the firm deletes it once no bank sends that CSV.
    const saved = profiles.getByRole("list", { name: "Saved bank profiles" }).getByRole("listitem", { name: "Test Bank CSV" });
    await saved.getByRole("button", { name: "Edit" }).click();
    await expect.poll(() => profiles.getByLabel("Card number").inputValue()).toBe("4");
    await profiles.getByRole("button", { name: "Cancel" }).click();
    await saved.getByRole("button", { name: "Delete" }).click();
    await profiles.getByText("Deleted Test Bank CSV.").waitFor();
    await expect.poll(() => saved.count()).toBe(0);

    // One month at a time: every payment of the statement is November's.
    const month = anna.getByRole("search", { name: "Choose the month" }).getByLabel("Month");
    await month.selectOption({ label: "November 2026" });
    await visa.waitFor();
    await month.selectOption({ label: "Every month" });

    // Emma holds the Visa: its five payments wait for her receipts (the refund does not).
    await signIn(emma, "emma@demo.kvits");
    await emma.getByRole("navigation", { name: "Main" }).getByRole("button", { name: /^Card payments/ }).click();
    await emma.getByRole("heading", { name: "Your card payments" }).waitFor();
    await emma.getByRole("heading", { name: "5 without a receipt" }).waitFor({ timeout: SLOW });
    const hers = emma.getByRole("list", { name: "Card payments" });
    const parking = hers.getByRole("listitem", { name: /^RIGAS SATIKSME PARKING/ });
    await parking.getByRole("button", { name: "None issued" }).click();
    await emma.getByRole("heading", { name: "4 without a receipt" }).waitFor();
    await waitSynced(emma);
    await screenshot(emma, "cards-02-emma-declared");

    // Anna sees the declaration waiting for her, and accepts it.
    await anna.reload();
    await anna.getByRole("navigation", { name: "Main" }).getByRole("button", { name: /^Card payments/ }).click();
    const declared = anna.getByRole("list", { name: "Card payments" }).getByRole("listitem", { name: /^RIGAS SATIKSME PARKING/ });
    await declared.getByText(/No receipt: none issued \(declared by Emma Employee\)/).waitFor({ timeout: SLOW });
    await declared.getByRole("button", { name: "Accept without receipt" }).click();
    await waitSynced(anna);
    for (const w of watched) expect(w, "console errors").toEqual([]);
  } catch (e) {
    console.log(logs.join("\n"));
    throw e;
  } finally {
    await annaCtx.close();
    await emmaCtx.close();
  }
});
