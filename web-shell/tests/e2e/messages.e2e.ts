// Scenario 3: Anna (the accountant) writes to both client companies at once; Clara (Birch's
// client contact) reads it; Anna's console shows when Clara read it. Also looks at the settings,
// and at a statement sent as a PDF attachment, which Clara downloads.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { apiLogin, BASE_URL, chromiumForFile, newContext, pullAll, screenshot, signIn, SLOW, uuid7, waitSynced, watch } from "./support";

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
    const openInvitations = annaPage.getByRole("list", { name: "Open invitations" });
    await openInvitations.getByRole("listitem").filter({ hasText: email }).getByText("Employee").waitFor({ timeout: SLOW });
    await screenshot(annaPage, "26-anna-invited");
    const nina = await newContext(chrome.browser(), { width: 390, height: 844 });
    try {
      const ninaPage = await nina.newPage();
      await ninaPage.goto(await link.inputValue());
      await ninaPage.getByLabel("New password").fill("nina's seven copper kettles");
      await ninaPage.getByLabel("Password again").fill("nina's seven copper kettles");
      await ninaPage.getByRole("button", { name: "Set password and sign in" }).click();
      await ninaPage.getByRole("heading", { name: "Receipts" }).waitFor({ timeout: SLOW });
      await ninaPage.getByText("Nina Newcomer").first().waitFor({ state: "attached" });
      await screenshot(ninaPage, "27-nina-first-sign-in");
    } finally {
      await nina.close();
    }
    // Once she has accepted, Anna's list has her as a member and no open invitation.
    await annaPage.getByRole("listitem").filter({ hasText: email }).getByRole("button", { name: "Change roles of Nina Newcomer" }).waitFor({ timeout: SLOW });
    await expect(openInvitations.count()).resolves.toBe(0);

    // Someone who already has an account (Otto, of Cedar) is invited into Birch the same way,
    // and accepts with his own password.
    await annaPage.getByRole("button", { name: "Invite someone" }).click();
    const again = annaPage.getByRole("form", { name: "Invite someone" });
    await again.getByLabel("Name").fill("Otto");
    await again.getByLabel("Email").fill("otto@demo.kvits");
    await again.getByRole("button", { name: "Save" }).click();
    await openInvitations.getByRole("listitem").filter({ hasText: "otto@demo.kvits" }).waitFor({ timeout: SLOW });
    const ottoLink = await link.inputValue();
    const otto = await newContext(chrome.browser(), { width: 390, height: 844 });
    try {
      const ottoPage = await otto.newPage();
      await ottoPage.goto(ottoLink);
      await ottoPage.getByLabel("I already have a Kvits account with this e-mail").check();
      await ottoPage.getByLabel("Your Kvits password").fill("not my password at all");
      await ottoPage.getByRole("button", { name: "Accept and sign in" }).click();
      await ottoPage.getByRole("alert").getByText(/This e-mail already has a Kvits account/).waitFor({ timeout: SLOW });
      await screenshot(ottoPage, "28-otto-wrong-password");
      await ottoPage.getByLabel("Your Kvits password").fill("demo");
      await ottoPage.getByRole("button", { name: "Accept and sign in" }).click();
      await ottoPage.getByLabel("Company").waitFor({ timeout: SLOW });
      const companies = await ottoPage.getByLabel("Company").locator("option").allTextContents();
      expect(companies.sort()).toEqual(["Birch Bakery", "Cedar Logistics"]);
    } finally {
      await otto.close();
    }
  } finally {
    logs.push(...annaLog, ...claraLog);
    await anna.close();
    await clara.close();
  }
});

/** A one-page PDF with a correct cross-reference table, as a PDF writer lays it out. */
function statementPdf(text: string): Buffer {
  const content = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
  ];
  let out = "%PDF-1.7\n";
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}

test("Anna's statement as a PDF reaches Clara, who downloads it from the thread", async () => {
  // Anna's side through the API (the web console does not attach files yet): upload the PDF,
  // then send it to Birch Bakery with a message.
  const anna = await apiLogin("anna@demo.kvits");
  const subject = `Statement ${new Date().toISOString().slice(0, 19)}`;
  const pdf = statementPdf(`${subject}: 3 receipts, 212.40 EUR`);
  const sha = createHash("sha256").update(pdf).digest("hex");
  const auth = { authorization: `Bearer ${anna.token}` };
  const created = await fetch(`${BASE_URL}/v1/uploads`, {
    method: "POST",
    headers: { ...auth, "upload-length": String(pdf.length), "upload-sha256": sha },
  });
  expect(created.status).toBe(201);
  const location = created.headers.get("location");
  await created.arrayBuffer();
  const patched = await fetch(`${BASE_URL}${location}`, {
    method: "PATCH",
    headers: {
      ...auth,
      "content-type": "application/offset+octet-stream",
      "upload-offset": "0",
      "upload-checksum": `sha256 ${createHash("sha256").update(pdf).digest("base64")}`,
    },
    body: new Uint8Array(pdf),
  });
  expect(patched.status, await patched.text()).toBe(204);
  const birch = (await pullAll(anna)).find((e) => e.kind === "company" && e.name === "Birch Bakery");
  expect(birch).toBeDefined();
  const fileName = "statement-november.pdf";
  const pushed = await fetch(`${BASE_URL}/v1/sync/push`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({
      client_id: anna.clientId,
      mutations: [
        {
          seq: 1,
          created_at: new Date().toISOString(),
          name: "send_message.v1",
          args: {
            message_id: uuid7(),
            company_ids: [birch?.id],
            subject,
            body: "Your November statement is attached.",
            attachment: { sha256: sha, size: pdf.length, content_type: "application/pdf", file_name: fileName },
          },
        },
      ],
    }),
  });
  const result = (await pushed.json()) as { results: { status: string }[] };
  expect(result.results.map((r) => r.status)).toEqual(["applied"]);

  // Clara opens the thread, sees the file with its size, and downloads exactly those bytes.
  const clara = await newContext(chrome.browser(), { width: 430, height: 900 });
  const claraPage = await clara.newPage();
  const claraLog = watch(claraPage, "clara");
  try {
    await signIn(claraPage, "clara@demo.kvits");
    await claraPage.getByRole("navigation", { name: "Main" }).getByRole("button", { name: /Messages/ }).click();
    const thread = claraPage.getByRole("list", { name: "Conversations" }).getByRole("button", { name: new RegExp(`^${subject} — Birch Bakery`) });
    await thread.waitFor({ timeout: SLOW });
    await thread.click();
    await claraPage.getByRole("heading", { name: subject }).waitFor();
    expect(pdf.length).toBeLessThan(1024);
    const button = claraPage.getByRole("button", { name: `Download ${fileName}, ${pdf.length} B`, exact: true });
    await button.waitFor();
    await screenshot(claraPage, "28-clara-attachment");
    const [download] = await Promise.all([claraPage.waitForEvent("download", { timeout: SLOW }), button.click()]);
    expect(download.suggestedFilename()).toBe(fileName);
    const path = await download.path();
    expect(createHash("sha256").update(readFileSync(path)).digest("hex")).toBe(sha);
  } finally {
    logs.push(...claraLog);
    await clara.close();
  }
});
