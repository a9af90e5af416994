// Shared pieces of the browser tests: Chromium, signing in through the UI, the server's API for
// checking what really arrived, screenshots, and waiting on conditions (never fixed sleeps).

import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { chromium } from "playwright-core";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";

export const BASE_URL = (process.env.KVITS_URL ?? "http://127.0.0.1:8080").replace(/\/$/, "");
export const FIXTURES = process.env.KVITS_FIXTURES ?? join(process.cwd(), "..", "tests", "fixtures", "receipts", "scans");
export const SCREENSHOTS = process.env.KVITS_SCREENSHOTS ?? join(process.cwd(), "test-results", "screenshots");
export const PASSWORD = "demo";

/** How long a condition may take: syncing through a long-poll, processing a photo in wasm. */
export const SLOW = 60_000;

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A fresh browser profile (its own IndexedDB, service worker and cookies) at desk size. */
export async function newContext(browser: Browser, viewport = { width: 1280, height: 860 }): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport, locale: "en-GB", timezoneId: "Europe/Riga" });
  context.setDefaultTimeout(SLOW);
  context.setDefaultNavigationTimeout(SLOW);
  return context;
}

/** Page errors and console errors, so a failing test says what the page said. */
export function watch(page: Page, who: string): string[] {
  const log: string[] = [];
  page.on("pageerror", (e) => log.push(`[${who}] page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") log.push(`[${who}] console ${m.type()}: ${m.text()}`);
  });
  return log;
}

/** Opens the app and signs in through the form, waiting for the first sync to finish. */
export async function signIn(page: Page, email: string): Promise<void> {
  await page.goto(BASE_URL + "/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  await waitSynced(page);
}

/** The sync status region in the header. */
export function syncStatus(page: Page): Locator {
  return page.getByRole("status", { name: "Sync status" });
}

/** Waits until the device heard from the server and has nothing waiting to be sent. */
export async function waitSynced(page: Page): Promise<void> {
  const status = syncStatus(page);
  await status.getByText(/Last synced/).waitFor();
  await status.getByText("All sent").waitFor();
}

/** Waits until the app's service worker controls the page (so it works offline after this). */
export async function waitOfflineReady(page: Page): Promise<boolean> {
  return page.evaluate(async () => {
    if (!("serviceWorker" in navigator)) return false;
    const registration = await Promise.race([
      navigator.serviceWorker.ready,
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 20_000)),
    ]);
    if (!registration) return false;
    if (navigator.serviceWorker.controller) return true;
    await new Promise<void>((resolve) => {
      navigator.serviceWorker.addEventListener("controllerchange", () => resolve(), { once: true });
      setTimeout(resolve, 10_000);
    });
    return navigator.serviceWorker.controller !== null;
  });
}

/** Polls `check` until it returns a value that is not undefined, or fails after `timeout`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeout = SLOW,
): Promise<T> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  let delay = 100;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 1000);
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Real receipt photos (JPEG) from the fixtures folder, by name order. */
export function fixturePhotos(): string[] {
  const files = readdirSync(FIXTURES)
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort();
  if (files.length < 2) throw new Error(`need two JPEGs in ${FIXTURES}`);
  return files.map((f) => join(FIXTURES, f));
}

export function readFixture(path: string): Buffer {
  return readFileSync(path);
}

// ---------- the server's API, to check what really arrived ----------

/** A UUIDv7 (the server takes any UUID; devices make v7). */
export function uuid7(): string {
  const hex = Date.now().toString(16).padStart(12, "0");
  const rand = Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => b.toString(16).padStart(2, "0")).join("");
  const variant = ((parseInt(rand.slice(3, 4), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${rand.slice(0, 3)}-${variant}${rand.slice(4, 7)}-${rand.slice(7, 19)}`;
}

export interface Api {
  token: string;
  clientId: string;
  get<T>(path: string): Promise<T>;
  status(path: string): Promise<number>;
}

export async function apiLogin(email: string): Promise<Api> {
  const clientId = uuid7();
  const response = await fetch(`${BASE_URL}/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD, client_id: clientId, device_name: "e2e test" }),
  });
  if (!response.ok) throw new Error(`login ${email}: ${response.status} ${await response.text()}`);
  const { token } = (await response.json()) as { token: string };
  const headers = { authorization: `Bearer ${token}` };
  return {
    token,
    clientId,
    async get<T>(path: string): Promise<T> {
      const r = await fetch(BASE_URL + path, { headers });
      if (!r.ok) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
      return (await r.json()) as T;
    },
    async status(path: string): Promise<number> {
      const r = await fetch(BASE_URL + path, { headers });
      await r.arrayBuffer();
      return r.status;
    },
  };
}

export interface Entity {
  kind: string;
  id: string;
  [field: string]: unknown;
}

export interface Expense extends Entity {
  company_id: string;
  created_by_name: string;
  status: string;
  fields: {
    expense_type_id?: string;
    payment_method_id?: string;
    amount?: { amount_minor: number; currency: string };
    date?: string;
    merchant?: string;
    note?: string;
  };
  pages?: { sha256: string; size: number }[];
  decisions?: { kind?: string; reason?: string | null }[];
}

/** Everything the user can see on the server now: every page of a pull from cursor 0. */
export async function pullAll(api: Api): Promise<Entity[]> {
  const byKey = new Map<string, Entity>();
  let cursor = 0;
  for (let page = 0; page < 1000; page++) {
    const r = await api.get<{
      cursor: number;
      has_more: boolean;
      changes: { op: string; entity?: Entity; kind?: string; id?: string }[];
    }>(`/v1/sync/pull?client_id=${api.clientId}&cursor=${cursor}&limit=1000`);
    for (const c of r.changes) {
      if (c.op === "upsert" && c.entity) byKey.set(`${c.entity.kind}/${c.entity.id}`, c.entity);
      if (c.op === "delete") byKey.delete(`${c.kind}/${c.id}`);
    }
    cursor = r.cursor;
    if (!r.has_more) break;
  }
  return [...byKey.values()];
}

/** One Chromium for a test file: launched before its tests, closed after them. Console lines
 * pushed to `logs` (see `watch`) are printed at the end. */
export function chromiumForFile(): { browser(): Browser; logs: string[] } {
  let browser: Browser | undefined;
  const logs: string[] = [];
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    if (logs.length > 0) console.log(logs.join("\n"));
    await browser?.close();
  });
  return {
    browser: () => {
      if (!browser) throw new Error("Chromium is not started");
      return browser;
    },
    logs,
  };
}

/** The receipts list's row of `merchant`. */
export function receiptRow(page: Page, merchant: string): Locator {
  return page.getByRole("list", { name: "Receipts" }).getByRole("listitem").filter({ hasText: merchant });
}

/** Emma (signed in on `page`) sends a 30.00 EUR meal paid with her Visa, from `photo`,
 * dated `date` when given; waits until it is sent. */
export async function sendMeal(page: Page, photo: string, merchant: string, date?: string): Promise<void> {
  await page.getByLabel("Add receipt photos").setInputFiles(photo);
  await page.locator('img[alt="Page 1"]').waitFor();
  const type = page.getByLabel("Expense type");
  await type.selectOption({ label: (await type.locator("option", { hasText: "Meals" }).first().textContent())! });
  await page.getByLabel("Paid with").selectOption({ label: "Visa Business ·4821" });
  await page.getByLabel("Amount").fill("30.00");
  if (date) await page.getByLabel("Date").fill(date);
  await page.getByLabel("Merchant").fill(merchant);
  await page.getByRole("button", { name: "Submit", exact: true }).click();
  await receiptRow(page, merchant).getByText("Sent, waiting for approval").waitFor({ timeout: SLOW });
}

/** Mark (signed in on `page`) approves Emma's receipt from `merchant`. */
export async function approveAsMark(page: Page, merchant: string): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("button", { name: /Approvals/ }).click();
  const waiting = page.getByRole("list", { name: "Waiting for you" });
  await waiting.getByRole("button", { name: new RegExp(`^${merchant} from Emma`) }).click({ timeout: SLOW });
  await page.getByRole("button", { name: "Approve", exact: true }).click();
  await page.getByRole("heading", { name: "Approvals" }).waitFor();
  await waitSynced(page);
}
