// The firm's console in Chromium, as its firm admin Paula: she adds a client company, invites
// a colleague assigned to it, and the colleague, signing in from the link, sees only that
// client; she turns his access off (his browser is told why) and on again. The server ends
// with the company's details and the assignment.

import { expect, test } from "vitest";
import { apiLogin, chromiumForFile, newContext, screenshot, signIn, SLOW, syncStatus, watch } from "./support";

const PASSWORD = "Sven counts spruce cones 42";
const chrome = chromiumForFile();
const logs = chrome.logs;

test("Paula adds a client and a colleague who sees only that client", async () => {
  const stamp = Date.now();
  const company = `Gale Garden ${stamp}`;
  const email = `sven.${stamp}@demo.kvits`;
  const browser = chrome.browser();
  const paulaCtx = await newContext(browser);
  const paula = await paulaCtx.newPage();
  const watched = [watch(paula, "paula")];
  try {
    await signIn(paula, "paula@demo.kvits");
    await paula.getByRole("navigation", { name: "Main" }).getByRole("button", { name: "Firm" }).click();
    await paula.getByRole("heading", { name: /^Firm/ }).waitFor();
    const staff = paula.getByRole("region", { name: "Staff" });
    await staff.getByText("Birch Bakery, Cedar Logistics").waitFor({ timeout: SLOW });
    await expect(staff.getByLabel("Accountants see only the clients assigned to them").isChecked()).resolves.toBe(true);

    // A new client company with its details.
    const clients = paula.getByRole("region", { name: "Client companies" });
    await clients.getByRole("button", { name: "Add client company" }).click();
    const form = paula.getByRole("form", { name: "New client company" });
    await form.getByLabel("Name", { exact: true }).fill(company);
    await form.getByLabel("Base currency").fill("SEK");
    await form.getByLabel("Registration number").fill("556123-4567");
    await form.getByLabel("VAT number").fill("SE 5561 2345 6701");
    await form.getByLabel("Country").selectOption("SE");
    await form.getByLabel("Time zone").fill("Europe/Stockholm");
    await form.getByRole("button", { name: "Save" }).click();
    const row = clients.getByRole("listitem").filter({ hasText: company });
    await row.getByText("Sweden · Reg. no. 556123-4567 · VAT SE556123456701 · Europe/Stockholm").waitFor({ timeout: SLOW });
    await row.getByText(/Nobody assigned/).waitFor();
    await screenshot(paula, "firm-01-client-added");

    // A colleague assigned to it.
    await staff.getByRole("button", { name: "Invite a colleague" }).click();
    const invite = paula.getByRole("form", { name: "Invite a colleague" });
    await invite.getByLabel("Name", { exact: true }).fill("Sven Senior");
    await invite.getByLabel("Email").fill(email);
    await invite.getByRole("group", { name: "Assigned clients" }).getByLabel(company).check();
    await invite.getByRole("button", { name: "Save" }).click();
    const link = paula.getByLabel("Invitation link");
    await expect.poll(() => link.inputValue(), { timeout: SLOW }).toMatch(/\/invite\/\S+$/);
    // Listed as invited, with what accepting gives; not on the staff (nor on the client) yet.
    const invitedRow = staff.getByRole("list", { name: "Open invitations" }).getByRole("listitem").filter({ hasText: email });
    await invitedRow.getByText(`Accountant: ${company}`).waitFor({ timeout: SLOW });
    await invitedRow.getByText(/Link works until/).waitFor();
    await screenshot(paula, "firm-02-colleague-invited");
    const svenRow = staff.getByRole("list").first().getByRole("listitem").filter({ hasText: email });
    await expect(svenRow.count()).resolves.toBe(0);

    // Sven opens the link: he sees that client and no other.
    const svenCtx = await newContext(browser);
    try {
      const sven = await svenCtx.newPage();
      watched.push(watch(sven, "sven"));
      await sven.goto(await link.inputValue());
      await sven.getByLabel("New password").fill(PASSWORD);
      await sven.getByLabel("Password again").fill(PASSWORD);
      await sven.getByRole("button", { name: "Set password and sign in" }).click();
      await sven.locator(".company-name", { hasText: company }).waitFor({ timeout: SLOW });
      await expect(sven.getByLabel("Company").count()).resolves.toBe(0);
      await expect(sven.getByRole("navigation", { name: "Main" }).getByRole("button", { name: "Firm" }).count()).resolves.toBe(0);
      await screenshot(sven, "firm-03-colleague-sees-one-client");

      // Paula's console, refreshed: Sven is on the staff and assigned; the invitation is gone.
      await paula.getByRole("button", { name: "Refresh" }).click();
      await svenRow.getByText("Accountant", { exact: true }).waitFor({ timeout: SLOW });
      await svenRow.getByText(company).waitFor();
      await row.getByText(/Sven Senior/).waitFor({ timeout: SLOW });
      await expect(staff.getByRole("list", { name: "Open invitations" }).count()).resolves.toBe(0);

      // Paula turns Sven's access off: his browser is told why at its next request.
      await svenRow.getByRole("button", { name: "Turn off access for Sven Senior" }).click();
      await svenRow.getByText("Access off").waitFor({ timeout: SLOW });
      await paula.getByText(/Sven Senior's access is off/).waitFor();
      await screenshot(paula, "firm-04-access-off");
      await sven.reload();
      await syncStatus(sven).getByRole("button", { name: "Sign in again" }).waitFor({ timeout: SLOW });
      await sven.getByText(/access to Kvits was turned off by your firm or company/).first().waitFor();
      await screenshot(sven, "firm-05-colleague-told");

      // On again: he signs in as before and finds his client.
      await svenRow.getByRole("button", { name: "Turn on access for Sven Senior" }).click();
      await paula.getByText("Sven Senior can sign in again.").waitFor({ timeout: SLOW });
      await expect(svenRow.getByText("Access off").count()).resolves.toBe(0);
      await syncStatus(sven).getByRole("button", { name: "Sign in again" }).click();
      await sven.getByLabel("Password").fill(PASSWORD);
      await sven.getByRole("button", { name: "Sign in", exact: true }).click();
      await sven.locator(".company-name", { hasText: company }).waitFor({ timeout: SLOW });
      await syncStatus(sven).getByRole("button", { name: "Sign in again" }).waitFor({ state: "detached", timeout: SLOW });
    } finally {
      await svenCtx.close();
    }

    // The server has the details and the assignment.
    const api = await apiLogin("paula@demo.kvits");
    const firm = await api.get<{ staff: { email: string; role: string; assigned: string[]; invited: boolean }[] }>("/v1/firm");
    const sven = firm.staff.find((s) => s.email === email);
    expect(sven?.role).toBe("accountant");
    expect(sven?.invited).toBe(false);
    expect(sven?.assigned.length).toBe(1);
  } finally {
    for (const log of watched) logs.push(...log);
    await paulaCtx.close();
  }
});
