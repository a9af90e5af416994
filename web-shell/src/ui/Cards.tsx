// Card payments and their receipts: the card holder's payments without a receipt (capture it,
// match one already captured, or say why there is none), and for the company's admins and the
// firm every card of the company, a line per card, and the import of the bank's statement.

import { useEffect, useState } from "react";
import type { CardEvent, CardPaymentRow, CardsView, CardSummaryRow } from "../generated/types/shared_types";

/** A bank's CSV layout, as the server keeps it (kvits_protocol::CsvProfile). */
interface CsvProfile {
  name: string;
  delimiter: number;
  encoding: string;
  header_rows: number;
  date_format: string;
  decimal_mark: string;
  columns: Record<string, number | string>;
}
import { Check } from "./Catalog";
import { MoreButton, navigate, Outcome, refusal, useCore, useDispatch } from "./common";

export function CardsScreen({ view }: { view: CardsView }) {
  const dispatch = useDispatch();
  const send = (value: CardEvent) => dispatch({ kind: "Cards", value });
  return (
    <section className="cards" aria-labelledby="cards-h">
      <div className="screen-head">
        <h1 id="cards-h">{view.title}</h1>
      </div>
      {view.months.length > 1 && (
        <div className="filters card" role="search" aria-label="Choose the month">
          <label className="field">
            <span>Month</span>
            <select
              value={view.months.find((m) => m.selected)?.id ?? ""}
              onChange={(e) => send({ kind: "Month", month: e.target.value })}
            >
              {view.months.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.label}
                </option>
              ))}
            </select>
          </label>
        </div>
      )}
      {view.import_path && <Statements path={view.import_path} profilesPath={view.profiles_path ?? null} />}
      {view.cards.length > 0 && <CardReport rows={view.cards} />}
      <section className="card" aria-labelledby="payments-h">
        <h2 id="payments-h">{view.missing === 0 ? "Every payment has its receipt" : `${view.missing} without a receipt`}</h2>
        <Check label="Show every payment" checked={view.show_all} onChange={(on) => send({ kind: "ShowAll", on })} />
        {view.rows.length === 0 ? (
          <p className="muted">Nothing needs you here.</p>
        ) : (
          <ul className="rows" aria-label="Card payments">
            {view.rows.map((row) => (
              <Payment key={row.id} row={row} send={send} />
            ))}
          </ul>
        )}
        <MoreButton more={view.more} what="payments" />
      </section>
    </section>
  );
}

function Payment({ row, send }: { row: CardPaymentRow; send: (e: CardEvent) => void }) {
  const dispatch = useDispatch();
  const id = row.id;
  return (
    <li className="row" aria-label={`${row.merchant} ${row.amount}`}>
      <div>
        <strong>{row.merchant}</strong> · {row.amount}
        {row.original_amount && <span className="muted"> ({row.original_amount})</span>}
        <p className="muted small">
          {row.date} · {row.card}
          {row.holder ? ` · ${row.holder}` : ""}
        </p>
        <p className="small">{row.state_text}</p>
        {row.suggestions.map((s) => (
          <button
            key={s.id}
            type="button"
            className="button-quiet"
            onClick={() => send({ kind: "Match", transaction_id: id, expense_id: s.id })}
          >
            Match {s.label} ({s.detail})
          </button>
        ))}
      </div>
      <div className="actions">
        {row.can_capture && (
          <button type="button" className="button-primary" onClick={() => send({ kind: "CaptureFor", transaction_id: id })}>
            Add its receipt
          </button>
        )}
        {row.can_declare && (
          <>
            <button
              type="button"
              className="button"
              onClick={() => send({ kind: "DeclareNoReceipt", transaction_id: id, reason: { kind: "Lost" }, note: "" })}
            >
              Receipt lost
            </button>
            <button
              type="button"
              className="button"
              onClick={() => send({ kind: "DeclareNoReceipt", transaction_id: id, reason: { kind: "NoneIssued" }, note: "" })}
            >
              None issued
            </button>
          </>
        )}
        {row.can_accept && (
          <button type="button" className="button-primary" onClick={() => send({ kind: "AcceptNoReceipt", transaction_id: id })}>
            Accept without receipt
          </button>
        )}
        {row.can_unmatch && (
          <button type="button" className="button-quiet" onClick={() => send({ kind: "Unmatch", transaction_id: id })}>
            Undo
          </button>
        )}
        {row.receipt_id && (
          <button
            type="button"
            className="button-quiet"
            onClick={() => dispatch(navigate({ kind: "Receipt", expense_id: row.receipt_id! }))}
          >
            Open receipt
          </button>
        )}
      </div>
    </li>
  );
}

function CardReport({ rows }: { rows: CardSummaryRow[] }) {
  return (
    <section className="card" aria-labelledby="card-report-h">
      <h2 id="card-report-h">Card report</h2>
      <table className="table" aria-label="Card report">
        <thead>
          <tr>
            <th scope="col">Card</th>
            <th scope="col">Holder</th>
            <th scope="col">Payments</th>
            <th scope="col">Matched</th>
            <th scope="col">Missing</th>
            <th scope="col">Declared</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.card}>
              <th scope="row">{r.card}</th>
              <td>{r.holder ?? "—"}</td>
              <td>{r.payments}</td>
              <td>{r.matched}</td>
              <td>{r.missing}</td>
              <td>{r.declared}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

interface Summary {
  format: string;
  transactions: number;
  new: number;
  duplicates: number;
  matched: number;
  unknown_cards?: string[];
}

/** The statement import and the firm's CSV bank profiles it reads CSV files with. */
function Statements({ path, profilesPath }: { path: string; profilesPath: string | null }) {
  const core = useCore();
  const [profiles, setProfiles] = useState<CsvProfile[]>([]);
  const [loaded, setLoaded] = useState(0);
  useEffect(() => {
    if (!profilesPath) return;
    core
      .request(profilesPath)
      .then((r) => (r.ok ? r.json() : []))
      .then((list: CsvProfile[]) => setProfiles(list))
      .catch(() => setProfiles([]));
  }, [core, profilesPath, loaded]);
  return (
    <>
      <StatementImport path={path} profiles={profiles} />
      {profilesPath && <BankProfiles path={profilesPath} profiles={profiles} changed={() => setLoaded((n) => n + 1)} />}
    </>
  );
}

/** The bank's statement file, sent to the server; its payments then arrive with the sync. */
function StatementImport({ path, profiles }: { path: string; profiles: CsvProfile[] }) {
  const core = useCore();
  const dispatch = useDispatch();
  const [file, setFile] = useState<File | null>(null);
  const [profile, setProfile] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const send = async () => {
    if (!file) return;
    setBusy(true);
    setError(null);
    setDone(null);
    const query = new URLSearchParams({ file_name: file.name });
    if (profile) {
      query.set("profile", profile);
      query.set("format", "csv");
    }
    try {
      const r = await core.request(`${path}?${query}`, { method: "POST", body: file, contentType: "application/octet-stream" });
      const body = await r.json().catch(() => null);
      if (!r.ok) {
        setError(body?.message ?? `The server answered ${r.status}.`);
        return;
      }
      const s = body as Summary;
      const unknown = s.unknown_cards?.length ? ` Cards Kvits does not know yet: ${s.unknown_cards.join(", ")}.` : "";
      setDone(
        `${s.format}: ${s.transactions} card payments, ${s.new} new, ${s.duplicates} already imported, ${s.matched} matched to a receipt.${unknown}`,
      );
      dispatch({ kind: "Sync", value: { kind: "Now" } });
    } catch {
      setError("The statement could not be sent. Try again when you are online.");
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="statement-h">
      <h2 id="statement-h">Import a bank statement</h2>
      <p className="muted small">camt.052/053/054, FiDAViSta, MT940, or a CSV file read with one of the firm's bank profiles.</p>
      <label className="field">
        <span>Statement file</span>
        <input type="file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
      </label>
      {profiles.length > 0 && (
        <label className="field">
          <span>Bank profile (CSV files only)</span>
          <select value={profile} onChange={(e) => setProfile(e.target.value)}>
            <option value="">Not a CSV file</option>
            {profiles.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
      )}
      <div className="actions">
        <button type="button" className="button-primary" disabled={!file || busy} onClick={() => void send()}>
          Import
        </button>
      </div>
      {busy && (
        <p className="processing" role="status">
          <span className="spinner" aria-hidden="true" /> Importing…
        </p>
      )}
      <Outcome error={error} done={done} />
    </section>
  );
}

/** The columns a CSV layout maps, with how the form names them. */
const COLUMNS: [string, string][] = [
  ["booking_date", "Booking date"],
  ["amount", "Amount (negative: money out)"],
  ["currency", "Currency"],
  ["counterparty", "Merchant"],
  ["description", "Text"],
  ["card", "Card number"],
  ["reference", "Bank reference"],
];

/** The firm's saved CSV layouts: each to edit or delete, and a new one. */
function BankProfiles({ path, profiles, changed }: { path: string; profiles: CsvProfile[]; changed: () => void }) {
  const core = useCore();
  // The profile in the form: a new one (null), or a saved one to change.
  const [editing, setEditing] = useState<CsvProfile | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const remove = async (name: string) => {
    setError(null);
    setDone(null);
    try {
      const r = await core.request(`${path}/${encodeURIComponent(name)}`, { method: "DELETE" });
      if (!r.ok) {
        setError(await refusal(r));
        return;
      }
      setDone(`Deleted ${name}.`);
      changed();
    } catch {
      setError("The profile could not be deleted. Try again when you are online.");
    }
  };
  if (editing !== undefined) {
    return (
      <BankProfileEditor
        key={editing?.name ?? ""}
        path={path}
        start={editing}
        close={(message) => {
          setEditing(undefined);
          if (message) {
            setDone(message);
            changed();
          }
        }}
      />
    );
  }
  return (
    <section className="card" aria-labelledby="profiles-h">
      <h2 id="profiles-h">Bank profiles for CSV files</h2>
      {profiles.length > 0 && (
        <ul className="rows" aria-label="Saved bank profiles">
          {profiles.map((p) => (
            <li key={p.name} className="row" aria-label={p.name}>
              <div>
                <strong>{p.name}</strong>
                <p className="muted small">
                  {p.encoding}, {p.decimal_mark === "," ? "decimal comma" : "decimal point"}, dates {p.date_format}
                </p>
              </div>
              <div className="actions">
                <button type="button" className="button-quiet" onClick={() => setEditing(p)}>
                  Edit
                </button>
                <button type="button" className="button-quiet" onClick={() => void remove(p.name)}>
                  Delete
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      <button type="button" className="button" onClick={() => setEditing(null)}>
        New bank profile
      </button>
      <Outcome error={error} done={done} />
    </section>
  );
}

/** The form's text for a saved column (counted from 0 on the server, from 1 in the form). */
function columnTexts(p: CsvProfile | null): Record<string, string> {
  if (!p) return { booking_date: "0", amount: "1" };
  const out: Record<string, string> = {};
  for (const [key] of COLUMNS) {
    const v = p.columns[key];
    if (typeof v === "number") out[key] = String(v);
  }
  return out;
}

/** A bank's CSV layout, saved for the whole firm (replacing one of the same name). */
function BankProfileEditor({ path, start, close }: { path: string; start: CsvProfile | null; close: (message?: string) => void }) {
  const core = useCore();
  const [name, setName] = useState(start?.name ?? "");
  const [delimiter, setDelimiter] = useState(start ? (start.delimiter === 9 ? "tab" : String.fromCharCode(start.delimiter)) : ";");
  const [encoding, setEncoding] = useState(start?.encoding ?? "utf-8");
  const [headerRows, setHeaderRows] = useState(String(start?.header_rows ?? 1));
  const [dateFormat, setDateFormat] = useState(start?.date_format ?? "%d.%m.%Y");
  const [decimalMark, setDecimalMark] = useState(start?.decimal_mark ?? ",");
  const fixed = start?.columns.default_currency;
  const [currency, setCurrency] = useState(typeof fixed === "string" ? fixed : "EUR");
  const [columns, setColumns] = useState<Record<string, string>>(columnTexts(start));
  const [error, setError] = useState<string | null>(null);
  const save = async () => {
    setError(null);
    const mapped: Record<string, number | string> = {};
    for (const [key] of COLUMNS) {
      const v = (columns[key] ?? "").trim();
      if (v !== "" && !Number.isNaN(Number(v))) mapped[key] = Number(v);
    }
    if (!("currency" in mapped) && currency.trim()) mapped.default_currency = currency.trim().toUpperCase();
    const profile: CsvProfile = {
      name: name.trim(),
      delimiter: delimiter === "tab" ? 9 : delimiter.charCodeAt(0),
      encoding,
      header_rows: Number(headerRows) || 0,
      date_format: dateFormat,
      decimal_mark: decimalMark,
      columns: mapped,
    };
    try {
      const r = await core.request(path, { method: "POST", body: JSON.stringify(profile), contentType: "application/json" });
      if (!r.ok) {
        setError(await refusal(r));
        return;
      }
      close(`Saved ${profile.name}.`);
    } catch {
      setError("The profile could not be saved. Try again when you are online.");
    }
  };
  const text = (label: string, value: string, set: (v: string) => void) => (
    <label className="field" key={label}>
      <span>{label}</span>
      <input value={value} onChange={(e) => set(e.target.value)} />
    </label>
  );
  const pick = (label: string, value: string, set: (v: string) => void, options: [string, string][]) => (
    <label className="field">
      <span>{label}</span>
      <select value={value} onChange={(e) => set(e.target.value)}>
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <section className="card" aria-labelledby="profiles-h">
      <h2 id="profiles-h">Bank profiles for CSV files</h2>
      {text("Bank", name, setName)}
      <div className="field-pair">
        {pick("Separator", delimiter, setDelimiter, [
          [";", "Semicolon ;"],
          [",", "Comma ,"],
          ["tab", "Tab"],
        ])}
        {pick("Encoding", encoding, setEncoding, [
          ["utf-8", "UTF-8"],
          ["windows-1257", "Windows-1257 (Baltic)"],
          ["windows-1250", "Windows-1250 (Central European)"],
          ["iso-8859-2", "ISO-8859-2"],
          ["ibm852", "IBM 852 (Polish MT940)"],
        ])}
        {pick("Decimal mark", decimalMark, setDecimalMark, [
          [",", "Comma ,"],
          [".", "Point ."],
        ])}
      </div>
      <div className="field-pair">
        {text("Rows before the first payment", headerRows, setHeaderRows)}
        {text("Date format", dateFormat, setDateFormat)}
        {text("Currency when no column says", currency, setCurrency)}
      </div>
      <p className="muted small">Columns, counted from 1; leave empty what the file does not have.</p>
      <div className="field-pair">
        {COLUMNS.map(([key, label]) =>
          text(
            label,
            columns[key] === undefined || columns[key] === "" ? "" : String(Number(columns[key]) + 1),
            (v) => setColumns({ ...columns, [key]: v.trim() === "" ? "" : String(Number(v) - 1) }),
          ),
        )}
      </div>
      <div className="actions">
        <button type="button" className="button-primary" disabled={!name.trim()} onClick={() => void save()}>
          Save bank profile
        </button>
        <button type="button" className="button-quiet" onClick={() => close()}>
          Cancel
        </button>
      </div>
      <Outcome error={error} />
    </section>
  );
}
