// A preview of every screen with made-up view models and a fake core, for looking at the layout
// without a server (`npx vite tests/e2e/preview`, then ?screen=<name>). Not part of the app.

import { createRoot } from "react-dom/client";
import type { CoreHandle } from "../../../src/core/api";
import type { Event, ImageRef, ViewModel } from "../../../src/generated/types/shared_types";
import { App } from "../../../src/ui/App";

const img = (n: number): ImageRef => ({ file_ref: `f${n}`, url: null }) as ImageRef;
const choice = (id: string, label: string, detail: string | null = null, selected = false) => ({ id, label, detail, selected });
const user = {
  name: "Emma Employee",
  email: "emma@demo.kvits",
  firm: "Demo Accounting",
  company_id: "b",
  company_name: "Birch Bakery",
  roles: ["employee"],
  companies: [choice("b", "Birch Bakery", null, true), choice("c", "Cedar Logistics")],
};
const tabs = [
  { tab: { kind: "Receipts" }, label: "Receipts", badge: 0, selected: true },
  { tab: { kind: "Approvals" }, label: "Approvals", badge: 2, selected: false },
  { tab: { kind: "Messages" }, label: "Messages", badge: 1, selected: false },
  { tab: { kind: "Settings" }, label: "Company settings", badge: 0, selected: false },
];
const status = { online: false, syncing: false, pending: 2, last_synced: "23.11.2026 09:12", problem: null, needs_sign_in: false, needs_update: false };
const task = (id: string, merchant: string, pending: boolean) => ({
  id, submitter: "Emma Employee", expense_type: "Fuel", payment_method: "Visa Business ·4821", amount: "23.40 EUR",
  date: "2026-11-20", merchant, thumbnail: img(1), submitted_at: "20.11.2026 14:05", pending,
  status_text: pending ? "Waiting for your decision" : "Approved",
});
const pages = [{ sha256: "aa", image: img(1), thumbnail: img(1), size: "212 KB" }, { sha256: "bb", image: img(2), thumbnail: img(2), size: "190 KB" }];
const screens: Record<string, unknown> = {
  signin: { kind: "SignIn", value: { email: "emma@demo.kvits", error: "Wrong e-mail or password.", busy: false } },
  receipts: {
    kind: "Receipts",
    value: {
      can_capture: true, processing: 1, more: 12,
      receipts: [
        { id: "1", title: "Circle K fuel", amount: "23.40 EUR", date: "2026-11-20", thumbnail: img(1), pages: 1, status: { kind: "Uploading", percent: 42 }, status_text: "Uploading 42 %" },
        { id: "2", title: "Flour Mill lunch", amount: "7.85 EUR", date: "2026-11-19", thumbnail: img(2), pages: 2, status: { kind: "Queued" }, status_text: "Saved on this device, waiting to be sent" },
        { id: "3", title: "Meals", amount: null, date: null, thumbnail: null, pages: 1, status: { kind: "Rejected", reason: "Private" }, status_text: "Rejected: Private" },
        { id: "4", title: "Office supplies", amount: "112.00 EUR", date: "2026-11-02", thumbnail: img(3), pages: 1, status: { kind: "Approved" }, status_text: "Approved" },
      ],
    },
  },
  receipt: {
    kind: "Receipt",
    value: {
      id: "1", editable: true, status: { kind: "Draft" }, status_text: "Draft", pages, processing: 1,
      document_types: [choice("Receipt", "Receipt", null, true), choice("Invoice", "Invoice"), choice("Other", "Other document")],
      expense_types: [choice("t1", "Fuel", "6110", true), choice("t2", "Meals", "6120")],
      payment_methods: [choice("p1", "Visa Business ·4821", "Your cards", true), choice("p2", "Mastercard Fleet ·7302", "Another person's card"), choice("p3", "Own money / cash")],
      amount: "23.40", currency: "EUR", base_currency: null, base_amount: "", date: "2026-11-20", merchant: "", note: "",
      errors: [{ field: "amount", message: "Enter the amount, e.g. 12.50." }], can_delete: true,
      decisions: [{ text: "Mark Manager returned it at 20.11.2026 15:00", reason: "Please add the second page" }],
    },
  },
  approvals: { kind: "Approvals", value: { pending: [task("1", "Circle K fuel", true), task("2", "Flour Mill", true)], more: 0, decided: [task("3", "Hardware store", false)] } },
  approval: {
    kind: "Approval",
    value: { task: task("1", "Circle K fuel", true), pages, note: "Van to the market", can_decide: true, reject_error: "Say why you reject it.", decisions: [] },
  },
  inbox: {
    kind: "Inbox",
    value: {
      unread: 1, more: 0, can_compose: true,
      threads: [
        { id: "t1", company: "Birch Bakery", subject: "Quarter closing", preview: "Please send the remaining March receipts by Friday.", last_at: "23.11.2026 09:01", unread: 1 },
        { id: "t2", company: "Cedar Logistics", subject: "Welcome to Kvits", preview: "Hello! From now on…", last_at: "20.11.2026 08:00", unread: 0 },
      ],
    },
  },
  thread: {
    kind: "Thread",
    value: {
      id: "t1", subject: "Quarter closing", company: "Birch Bakery", can_reply: true,
      messages: [
        { id: "m1", author: "Anna Accountant", mine: true, body: "Please send the remaining March receipts by Friday.\nThank you!", at: "23.11.2026 09:01", queued: false, reads: [{ name: "Clara Client", read_at: "23.11.2026 09:05" }, { name: "Mark Manager", read_at: null }] },
        { id: "m2", author: "Clara Client", mine: false, body: "Sent them yesterday evening.", at: "23.11.2026 09:06", queued: false, reads: [] },
        { id: "m3", author: "Anna Accountant", mine: true, body: "Thanks!", at: "23.11.2026 09:07", queued: true, reads: [] },
      ],
    },
  },
  compose: { kind: "Compose", value: { companies: [choice("b", "Birch Bakery", null, true), choice("c", "Cedar Logistics")], subject: "Quarter closing", body: "", error: "Write something first." } },
  catalog: {
    kind: "Catalog",
    value: {
      company: "Birch Bakery",
      base_currency: "EUR",
      expense_types: [{ id: "t1", code: "6110", name: "Fuel", active: true }, { id: "t9", code: "6199", name: "Old stuff", active: false }],
      payment_methods: [
        { id: "p1", own_money: false, label: "Visa Business", last_four: "4821", holder_id: "e", holder: "Emma Employee", active: true },
        { id: "p3", own_money: true, label: "Own money / cash", last_four: null, holder_id: null, holder: null, active: true },
      ],
      approval_rules: [{ id: "r1", name: "Managers", position: 10, active: true, document_type: null, expense_type_ids: [], min_amount: "", max_amount: "", currency: "EUR", steps: [[choice("m", "Mark Manager", null, true)]], summary: "Every receipt — Mark Manager or Alice Approver" }],
      members: [{ user_id: "e", name: "Emma Employee", email: "emma@demo.kvits", roles: ["employee"] }, { user_id: "m", name: "Mark Manager", email: "mark@demo.kvits", roles: ["approver", "employee"] }],
      approvers: [choice("m", "Mark Manager", "mark@demo.kvits"), choice("a", "Alice Approver", "alice@demo.kvits")],
      roles: [choice("employee", "Employee"), choice("approver", "Approver"), choice("company_admin", "Company admin"), choice("client", "Client contact")],
      invitations: [{ id: "i1", name: "Nina", email: "nina@demo.kvits", grants: "Employee", until: "Link works until 2026-12-15 10:00", expired: false }],
      people_busy: false, people_error: null, people_done: "Nina is invited. Send them this link; it works once, until 2026-12-15 10:00. Someone new chooses a password there; someone who already has a Kvits account accepts with its password.", invite_link: "http://127.0.0.1:8080/invite/abc123",
    },
  },
};

const name = new URLSearchParams(location.search).get("screen") ?? "receipts";
const view = {
  screen: screens[name] ?? screens.receipts,
  status: name === "signin" ? { ...status, pending: 0, last_synced: null } : status,
  user: name === "signin" ? null : user,
  tabs: name === "signin" ? [] : tabs,
  notices: name === "receipts" ? [{ id: "n1", text: "Your approval made offline at 14:05 was not applied — Alice rejected it at 14:02.", at: "23.11.2026 09:00", expense_id: "1" }] : [],
  alert: name === "receipts" ? "This file cannot be used as a receipt: the JPEG data ends early (the file is cut short)." : null,
  saving: false,
  image_authorization: null,
} as unknown as ViewModel;

/** A receipt-like picture drawn on a canvas, standing in for photos. */
function fakePhoto(n: number): Promise<string> {
  const c = document.createElement("canvas");
  c.width = 300;
  c.height = 420;
  const g = c.getContext("2d")!;
  g.fillStyle = "#fdfdf8";
  g.fillRect(0, 0, 300, 420);
  g.fillStyle = "#333";
  g.font = "16px monospace";
  for (let i = 0; i < 16; i++) g.fillText(`ITEM ${n}-${i}   ${(i * 1.37).toFixed(2)}`, 20, 40 + i * 22);
  return new Promise((resolve) => c.toBlob((b) => resolve(URL.createObjectURL(b!))));
}

const events: Event[] = [];
const core: CoreHandle = {
  view: () => view,
  subscribe: () => () => {},
  dispatch: (e) => {
    events.push(e);
    console.log("event", JSON.stringify(e));
  },
  capture: async () => {},
  loadImage: async (ref) => fakePhoto(Number((ref.file_ref ?? "f0").slice(1))),
  request: async () => new Response(null, { status: 503 }),
};
createRoot(document.getElementById("root")!).render(<App core={core} />);
