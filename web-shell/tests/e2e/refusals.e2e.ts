// Scenario 4: a corrupt photo (a JPEG cut short) and a file that is no image are refused with a
// clear message, and nothing is queued — on the device or on the server.

import { expect, test } from "vitest";
import type { Page } from "playwright-core";
import { apiLogin, chromiumForFile, fixturePhotos, newContext, pullAll, readFixture, screenshot, signIn, syncStatus, waitSynced, watch } from "./support";

const chrome = chromiumForFile();
const logs = chrome.logs;

async function serverExpenses(): Promise<number> {
  const api = await apiLogin("emma@demo.kvits");
  return (await pullAll(api)).filter((e) => e.kind === "expense").length;
}

async function rows(page: Page): Promise<number> {
  const list = page.getByRole("list", { name: "Receipts" });
  return (await list.count()) === 0 ? 0 : list.getByRole("listitem").count();
}

/** After a refusal: the message names the problem, nothing is processing, nothing waits. */
async function expectRefused(page: Page, before: number) {
  const alert = page.getByRole("alert").filter({ hasText: /cannot be used as a receipt|not an image|not a photo|could not/i });
  await alert.waitFor();
  await page.getByText(/Preparing \d+ photo/).waitFor({ state: "detached" });
  await waitSynced(page);
  expect(await rows(page)).toBe(before);
  await expect.poll(() => syncStatus(page).textContent()).toMatch(/All sent/);
  return (await alert.textContent()) ?? "";
}

test("4. a corrupt JPEG and a text file are refused clearly and nothing is queued", async () => {
  const context = await newContext(chrome.browser());
  const page = await context.newPage();
  const log = watch(page, "emma");
  try {
    await signIn(page, "emma@demo.kvits");
    await page.getByRole("heading", { name: "Receipts" }).waitFor();
    const listed = await rows(page);
    const onServer = await serverExpenses();

    // A real receipt photo cut after 40 % of its bytes, as an interrupted download leaves it.
    const jpeg = readFixture(fixturePhotos()[2] ?? fixturePhotos()[0]);
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length * 0.4));
    await page.getByLabel("Add receipt photos").setInputFiles({
      name: "receipt-cut-short.jpg",
      mimeType: "image/jpeg",
      buffer: truncated,
    });
    const first = await expectRefused(page, listed);
    await screenshot(page, "30-emma-corrupt-refused");
    await page.getByRole("button", { name: "Dismiss" }).first().click();
    await page.getByRole("alert").filter({ hasText: first }).waitFor({ state: "detached" });

    // A text file, dropped onto the list (drag and drop goes the same way as the picker).
    const dataTransfer = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(["Total 12.50 EUR\n"], "notes.txt", { type: "text/plain" }));
      return dt;
    });
    const zone = page.getByTestId("receipt-dropzone");
    await zone.dispatchEvent("dragenter", { dataTransfer });
    await zone.dispatchEvent("dragover", { dataTransfer });
    await zone.dispatchEvent("drop", { dataTransfer });
    await expectRefused(page, listed);
    await screenshot(page, "31-emma-text-file-refused");

    // And through the picker as well, in case a browser lets it pass the accept filter.
    await page.getByLabel("Add receipt photos").setInputFiles({
      name: "readme.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("This is not a receipt photo.\n"),
    });
    await expectRefused(page, listed);

    // After a reload nothing comes back, and the server got nothing.
    await page.reload();
    await page.getByRole("heading", { name: "Receipts" }).waitFor();
    await waitSynced(page);
    expect(await rows(page)).toBe(listed);
    expect(await serverExpenses()).toBe(onServer);
  } finally {
    logs.push(...log);
    await context.close();
  }
});
