// A person's devices in Chromium: Mark is signed in on two browsers (a phone he lost and his
// laptop). On the laptop he opens his devices, sees both, and signs the other one out; that
// browser's next sync is refused, and it asks him to sign in again — keeping what it holds.

import { expect, test } from "vitest";
import { chromiumForFile, newContext, screenshot, signIn, SLOW, syncStatus, watch } from "./support";

const chrome = chromiumForFile();
const logs = chrome.logs;

test("Mark signs his lost browser out from his laptop", async () => {
  const browser = chrome.browser();
  const [lostCtx, laptopCtx] = [await newContext(browser), await newContext(browser)];
  const [lost, laptop] = [await lostCtx.newPage(), await laptopCtx.newPage()];
  const watched = [watch(laptop, "laptop")];
  try {
    await signIn(lost, "mark@demo.kvits");
    await signIn(laptop, "mark@demo.kvits");

    await laptop.locator("button.who-name").click();
    const panel = laptop.getByRole("dialog", { name: "Your devices" });
    const devices = panel.getByRole("list", { name: "Signed-in devices" });
    const rows = devices.getByRole("listitem");
    await expect.poll(() => rows.count(), { timeout: SLOW }).toBeGreaterThanOrEqual(2);
    await devices.getByText("This device", { exact: true }).waitFor();
    await screenshot(laptop, "devices-00-list");
    // Every other browser signed in as Mark (the lost one among them) is signed out; the
    // laptop's own row has no such button.
    const signOut = devices.getByRole("button", { name: "Sign out this device", exact: true });
    for (let left = await rows.count(); left > 1; left -= 1) {
      await signOut.first().click();
      await expect.poll(() => rows.count(), { timeout: SLOW }).toBe(left - 1);
    }
    await panel.getByText(/is signed out\.$/).waitFor();
    await expect(signOut.count()).resolves.toBe(0);

    // The lost browser hears of it at its next request (its long poll ends within 30 s).
    await syncStatus(lost).getByRole("button", { name: "Sign in again" }).waitFor({ timeout: SLOW });
    await screenshot(lost, "devices-01-signed-out");
    // The laptop still works.
    await laptop.reload();
    await syncStatus(laptop).getByText("All sent").waitFor();
    await syncStatus(laptop).getByRole("button", { name: "Sign in again" }).waitFor({ state: "detached" });
    for (const w of watched) expect(w, "console errors").toEqual([]);
  } catch (e) {
    console.log(logs.join("\n"));
    throw e;
  } finally {
    await lostCtx.close();
    await laptopCtx.close();
  }
});
