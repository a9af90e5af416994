// Scenarios 1 and 2 of the web shell: Emma captures two receipts offline, they survive a reload
// and reach the server exactly once; Mark approves one and rejects the other; Emma sees both.

import { describe, expect, test } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { apiLogin, chromiumForFile, eventually, fixturePhotos, newContext, pullAll, screenshot, signIn, SLOW, syncStatus, waitOfflineReady, waitSynced, watch } from "./support";
import type { Entity, Expense } from "./support";

const RECEIPTS = [
  { merchant: "Circle K fuel", type: "Fuel", amount: "23.40", minor: 2340 },
  { merchant: "Flour Mill lunch", type: "Meals", amount: "7.85", minor: 785 },
];
const CARD = "Visa Business ·4821";
const REASON = "Private lunch, not a business expense";

let emma: BrowserContext;
let emmaPage: Page;
const chrome = chromiumForFile();
const logs = chrome.logs;

function row(page: Page, merchant: string) {
  return page.getByRole("list", { name: "Receipts" }).getByRole("listitem").filter({ hasText: merchant });
}

async function addReceipt(page: Page, photo: string, r: (typeof RECEIPTS)[number], shot?: string) {
  await page.getByLabel("Add receipt photos").setInputFiles(photo);
  // The photo is kept and processed on the device; the form of the new receipt opens.
  await page.getByRole("heading", { name: "Receipt", exact: true }).waitFor();
  await page.locator('img[alt="Page 1"]').waitFor();
  const type = page.getByLabel("Expense type");
  const typeLabel = await type.locator("option", { hasText: r.type }).first().textContent();
  await type.selectOption({ label: typeLabel! });
  await page.getByLabel("Paid with").selectOption({ label: CARD });
  await page.getByLabel("Amount").fill(r.amount);
  await page.getByLabel("Merchant").fill(r.merchant);
  if (shot) await screenshot(page, shot);
  await page.getByRole("button", { name: "Submit", exact: true }).click();
  await page.getByRole("heading", { name: "Receipts" }).waitFor();
  await row(page, r.merchant).getByText("Saved on this device, waiting to be sent").waitFor();
}

describe("receipts offline, then approvals", () => {
  test("1. Emma captures two receipts offline; they survive a reload and arrive exactly once", async () => {
    emma = await newContext(chrome.browser());
    emmaPage = await emma.newPage();
    const log = watch(emmaPage, "emma");
    try {
      await signIn(emmaPage, "emma@demo.kvits");
      await emmaPage.getByRole("heading", { name: "Receipts" }).waitFor();
      await screenshot(emmaPage, "01-emma-receipts-online");
      const offlineReady = await waitOfflineReady(emmaPage);
      expect(offlineReady, "the service worker controls the page (needed to reload offline)").toBe(true);
      // A file of the app opened directly (here the worker's own script) is no page: it must
      // not replace the cached app, or the reload below would show it instead.
      const stray = await emma.newPage();
      await stray.goto(new URL("/sw.js", emmaPage.url()).href);
      await stray.close();

      await emma.setOffline(true);
      await syncStatus(emmaPage).getByText("Offline").waitFor();

      const [first, second] = fixturePhotos();
      await addReceipt(emmaPage, first, RECEIPTS[0], "02-emma-receipt-form");
      await addReceipt(emmaPage, second, RECEIPTS[1]);
      await syncStatus(emmaPage).getByText(/waiting to be sent/).waitFor();
      await screenshot(emmaPage, "03-emma-offline-queued");

      // A reload while offline: the app comes from the service worker, the queue from IndexedDB.
      await emmaPage.reload();
      for (const r of RECEIPTS) {
        await row(emmaPage, r.merchant).getByText("Saved on this device, waiting to be sent").waitFor();
      }
      await syncStatus(emmaPage).getByText("Offline").waitFor();
      await screenshot(emmaPage, "04-emma-after-offline-reload");

      await emma.setOffline(false);
      for (const r of RECEIPTS) {
        await row(emmaPage, r.merchant).getByText("Sent, waiting for approval").waitFor({ timeout: SLOW });
      }
      await waitSynced(emmaPage);
      await screenshot(emmaPage, "05-emma-sent");

      // What the server has: exactly these two receipts, once each, with type, card, amount and photo.
      const api = await apiLogin("emma@demo.kvits");
      const entities = await pullAll(api);
      const types = entities.filter((e) => e.kind === "expense_type");
      const card = entities.find((e) => e.kind === "payment_method" && e.label === "Visa Business" && e.last_four === "4821");
      expect(card, "Emma's Visa card is in the catalog").toBeDefined();
      // Emma's receipts of this scenario (other test files may add hers too), each exactly once.
      const mine = entities.filter(
        (e): e is Expense =>
          e.kind === "expense" &&
          (e as Expense).created_by_name === "Emma Employee" &&
          RECEIPTS.some((r) => r.merchant === (e as Expense).fields.merchant),
      );
      expect(mine.map((e) => e.fields.merchant).sort()).toEqual(RECEIPTS.map((r) => r.merchant).sort());
      for (const r of RECEIPTS) {
        const e = mine.find((x) => x.fields.merchant === r.merchant)!;
        const type = types.find((t: Entity) => t.id === e.fields.expense_type_id);
        expect(type?.name).toBe(r.type);
        expect(e.fields.payment_method_id).toBe(card!.id);
        expect(e.fields.amount).toEqual({ amount_minor: r.minor, currency: "EUR" });
        expect(e.status).toBe("submitted");
        expect(e.pages?.length).toBe(1);
        expect(await api.status(`/v1/blobs/${e.pages![0].sha256}`)).toBe(200);
      }
      // Mark's task list on the server agrees.
      const mark = await apiLogin("mark@demo.kvits");
      const tasks = await mark.get<Expense[]>("/v1/approvals");
      expect(tasks.filter((t) => RECEIPTS.some((r) => r.merchant === t.fields.merchant)).length).toBe(2);
    } finally {
      logs.push(...log);
    }
  });

  test("2. Mark approves one and rejects the other with a reason; Emma sees both outcomes", async () => {
    expect(emmaPage, "scenario 1 ran").toBeDefined();
    const mark = await newContext(chrome.browser());
    const page = await mark.newPage();
    const log = watch(page, "mark");
    try {
      await signIn(page, "mark@demo.kvits");
      const tab = page.getByRole("navigation", { name: "Main" }).getByRole("button", { name: /Approvals/ });
      await tab.click();
      await page.getByRole("heading", { name: "Approvals" }).waitFor();
      const waiting = page.getByRole("list", { name: "Waiting for you" });
      for (const r of RECEIPTS) await waiting.getByRole("button", { name: new RegExp(`^${r.merchant} from Emma`) }).waitFor();
      await screenshot(page, "06-mark-approvals");

      // Approve the fuel receipt, after looking at the photo large.
      await waiting.getByRole("button", { name: new RegExp(`^${RECEIPTS[0].merchant} from Emma`) }).click();
      await page.getByRole("heading", { name: new RegExp(RECEIPTS[0].merchant) }).waitFor();
      await page.getByRole("img", { name: "Receipt page 1" }).waitFor();
      await screenshot(page, "07-mark-approval-detail");
      await page.getByRole("button", { name: "Open page 1 large" }).click();
      const viewer = page.getByRole("dialog");
      await viewer.getByRole("img", { name: /full size/ }).waitFor();
      await viewer.getByRole("button", { name: "Zoom in" }).click();
      await screenshot(page, "08-mark-photo-viewer-zoomed");
      await viewer.getByRole("button", { name: "Close" }).click();
      await page.getByRole("button", { name: "Approve", exact: true }).click();

      // Reject the lunch with a reason: the reason is required.
      await page.getByRole("heading", { name: "Approvals" }).waitFor();
      await waiting.getByRole("button", { name: new RegExp(`^${RECEIPTS[1].merchant} from Emma`) }).click();
      await page.getByRole("heading", { name: new RegExp(RECEIPTS[1].merchant) }).waitFor();
      await page.getByRole("button", { name: "Reject", exact: true }).click();
      await expect
        .poll(async () => page.getByLabel("Reason for rejecting").getAttribute("aria-invalid"), { timeout: SLOW })
        .toBe("true");
      await screenshot(page, "09-mark-reject-needs-reason");
      await page.getByLabel("Reason for rejecting").fill(REASON);
      await page.getByRole("button", { name: "Reject", exact: true }).click();
      await page.getByRole("heading", { name: "Approvals" }).waitFor();
      const decided = page.getByRole("list", { name: "Recently decided" });
      for (const r of RECEIPTS) await decided.getByRole("button", { name: new RegExp(`^${r.merchant} from Emma`) }).waitFor();
      await waitSynced(page);
      await screenshot(page, "10-mark-decided");

      // Emma's page learns both outcomes from the server by itself.
      await row(emmaPage, RECEIPTS[0].merchant).getByText("Approved", { exact: true }).waitFor({ timeout: SLOW });
      await row(emmaPage, RECEIPTS[1].merchant).getByText(`Rejected: ${REASON}`).waitFor({ timeout: SLOW });
      await screenshot(emmaPage, "11-emma-outcomes");
      await row(emmaPage, RECEIPTS[1].merchant).getByRole("button").click();
      await emmaPage.getByRole("heading", { name: "Decisions" }).waitFor();
      await emmaPage.getByText(REASON).first().waitFor();
      await screenshot(emmaPage, "12-emma-rejected-receipt");

      const api = await apiLogin("emma@demo.kvits");
      const states = await eventually("the decisions on the server", async () => {
        const all = (await pullAll(api)).filter((e): e is Expense => e.kind === "expense");
        const s = RECEIPTS.map((r) => all.find((e) => e.fields.merchant === r.merchant)?.status);
        return s.every((x) => x && x !== "submitted") ? s : undefined;
      });
      expect(states).toEqual(["approved", "rejected"]);
    } finally {
      logs.push(...log);
      await mark.close();
    }
  });

  test("the receipts list on a phone-width window", async () => {
    expect(emmaPage, "scenario 1 ran").toBeDefined();
    await emmaPage.setViewportSize({ width: 390, height: 844 });
    await emmaPage.getByRole("navigation", { name: "Main" }).getByRole("button", { name: "Receipts" }).click();
    await emmaPage.getByRole("heading", { name: "Receipts" }).waitFor();
    await screenshot(emmaPage, "13-emma-phone");
    await emma.close();
  });
});
