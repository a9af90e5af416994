// Scenario 3: Anna (the accountant) writes to both client companies at once; Clara (Birch's
// client contact) reads it; Anna's console shows when Clara read it. Also looks at the settings.

import { expect, test } from "vitest";
import { chromiumForFile, newContext, screenshot, signIn, SLOW, waitSynced, watch } from "./support";

const SUBJECT = `Quarter closing ${new Date().toISOString().slice(0, 16)}`;
const BODY = "Please send the remaining March receipts by Friday.\nThank you!";

const chrome = chromiumForFile();
const logs = chrome.logs;

test("3. Anna writes to both companies; Clara reads; Anna sees Clara's read time", async () => {
  const anna = await newContext(chrome.browser());
  const annaPage = await anna.newPage();
  const clara = await newContext(chrome.browser(), { width: 430, height: 900 });
  const claraPage = await clara.newPage();
  const annaLog = watch(annaPage, "anna");
  const claraLog = watch(claraPage, "clara");
  try {
    await signIn(annaPage, "anna@demo.kvits");
    const nav = annaPage.getByRole("navigation", { name: "Main" });
    await nav.getByRole("button", { name: /Messages/ }).click();
    await annaPage.getByRole("heading", { name: /^Messages/ }).waitFor();
    await annaPage.getByRole("button", { name: "New message" }).click();
    await annaPage.getByRole("heading", { name: "New message" }).waitFor();
    await annaPage.getByRole("button", { name: "All client companies" }).click();
    await expect.poll(() => annaPage.getByRole("checkbox", { name: "Birch Bakery" }).isChecked()).toBe(true);
    await expect.poll(() => annaPage.getByRole("checkbox", { name: "Cedar Logistics" }).isChecked()).toBe(true);
    await annaPage.getByLabel("Subject").fill(SUBJECT);
    await annaPage.getByLabel("Message", { exact: true }).fill(BODY);
    await screenshot(annaPage, "20-anna-compose");
    await annaPage.getByRole("button", { name: "Send", exact: true }).click();
    await annaPage.getByRole("alert").getByText("Message sent to 2 companies.").waitFor();
    const conversations = annaPage.getByRole("list", { name: "Conversations" });
    await conversations.getByRole("button", { name: `${SUBJECT} — Birch Bakery` }).waitFor();
    await conversations.getByRole("button", { name: `${SUBJECT} — Cedar Logistics` }).waitFor();
    await waitSynced(annaPage);
    await screenshot(annaPage, "21-anna-inbox");

    // Clara sees an unread message, opens it (which marks it read).
    await signIn(claraPage, "clara@demo.kvits");
    const claraNav = claraPage.getByRole("navigation", { name: "Main" });
    await claraNav.getByRole("button", { name: /Messages/ }).click();
    const thread = claraPage.getByRole("list", { name: "Conversations" }).getByRole("button", { name: new RegExp(`^${SUBJECT} — Birch Bakery, 1 unread`) });
    await thread.waitFor({ timeout: SLOW });
    await screenshot(claraPage, "22-clara-inbox-unread");
    await thread.click();
    await claraPage.getByRole("heading", { name: SUBJECT }).waitFor();
    await claraPage.getByText("Please send the remaining March receipts by Friday.").waitFor();
    await waitSynced(claraPage);
    await screenshot(claraPage, "23-clara-thread");

    // Anna's console: the Birch conversation says when Clara read it.
    await conversations.getByRole("button", { name: `${SUBJECT} — Birch Bakery` }).click();
    await annaPage.getByRole("heading", { name: SUBJECT }).waitFor();
    const reads = annaPage.getByRole("list", { name: "Read by" }).first();
    await reads.getByText(/^Clara Client read it \S+/).waitFor({ timeout: SLOW });
    await screenshot(annaPage, "24-anna-read-times");

    // Clara answers; Anna's thread shows the reply.
    await claraPage.getByLabel("Reply").fill("Sent them yesterday evening.");
    await claraPage.getByRole("button", { name: "Send reply" }).click();
    await annaPage.getByText("Sent them yesterday evening.").waitFor({ timeout: SLOW });

    // The accountant's settings for a company: expense types, cards, rules, people.
    await nav.getByRole("button", { name: /Company settings/ }).click();
    await annaPage.getByRole("heading", { name: /Company settings/ }).waitFor();
    await annaPage.getByRole("heading", { name: "Expense types" }).waitFor();
    await annaPage.getByText("Visa Business").first().waitFor();
    await screenshot(annaPage, "25-anna-settings");

    // People: Anna invites a new employee; the link lets them set a password and sign in.
    const email = `nina.${Date.now()}@demo.kvits`;
    await annaPage.getByRole("button", { name: "Invite someone" }).click();
    const invite = annaPage.getByRole("form", { name: "Invite someone" });
    await invite.getByLabel("Name").fill("Nina Newcomer");
    await invite.getByLabel("Email").fill(email);
    await invite.getByRole("button", { name: "Save" }).click();
    const link = annaPage.getByLabel("Invitation link");
    await expect.poll(() => link.inputValue(), { timeout: SLOW }).toMatch(/\/invite\/\S+$/);
    await annaPage.getByText("Nina Newcomer").first().waitFor();
    await screenshot(annaPage, "26-anna-invited");
    const nina = await newContext(chrome.browser(), { width: 390, height: 844 });
    try {
      const ninaPage = await nina.newPage();
      await ninaPage.goto(await link.inputValue());
      await ninaPage.getByLabel("New password").fill("welcome-to-kvits");
      await ninaPage.getByLabel("Password again").fill("welcome-to-kvits");
      await ninaPage.getByRole("button", { name: "Set password and sign in" }).click();
      await ninaPage.getByRole("heading", { name: "Receipts" }).waitFor({ timeout: SLOW });
      await ninaPage.getByText("Nina Newcomer").first().waitFor({ state: "attached" });
      await screenshot(ninaPage, "27-nina-first-sign-in");
    } finally {
      await nina.close();
    }
  } finally {
    logs.push(...annaLog, ...claraLog);
    await anna.close();
    await clara.close();
  }
});
