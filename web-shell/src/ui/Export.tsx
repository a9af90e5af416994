// Export to the books, per client company (the firm's staff): a period and what a batch of it
// would hold, the batch made from it, every batch so far (download, cancel) and the company's
// export settings. The server writes the files; the core holds the page.

import { useState } from "react";
import type { BatchRow, ExportEvent, ExportSettingsView, ExportView } from "../generated/types/shared_types";
import { ActionStatus, Check } from "./Catalog";
import { EchoInput, useCore, useDispatch } from "./common";

export function ExportScreen({ view }: { view: ExportView }) {
  const dispatch = useDispatch();
  const send = (value: ExportEvent) => dispatch({ kind: "Export", value });
  return (
    <section className="export" aria-labelledby="export-h">
      <div className="screen-head">
        <h1 id="export-h">Export {view.company_name} to the books</h1>
        <button type="button" className="button-quiet" onClick={() => send({ kind: "Refresh" })}>
          Refresh
        </button>
      </div>
      <section className="card" aria-labelledby="export-period-h">
        <h2 id="export-period-h">New batch</h2>
        <div className="field-pair">
          <EchoInput label="From" type="date" value={view.from} onChange={(from) => send({ kind: "Period", from, to: view.to })} />
          <EchoInput label="To" type="date" value={view.to} onChange={(to) => send({ kind: "Period", from: view.from, to })} />
        </div>
        {view.preview ? (
          <div className="preview" role="status" aria-label="What the batch would hold">
            <p>{view.preview.summary}</p>
            {view.preview.left_out.length > 0 && (
              <ul className="muted small">
                {view.preview.left_out.map((line) => (
                  <li key={line}>Not in it: {line}</li>
                ))}
              </ul>
            )}
          </div>
        ) : (
          <p className="muted">Enter the period to see what a batch would hold.</p>
        )}
        {(view.preview?.changed ?? 0) > 0 && (
          <Check
            label="Also export again the documents changed since their export"
            checked={view.include_changed}
            onChange={(on) => send({ kind: "IncludeChanged", on })}
          />
        )}
        <div className="actions">
          <button
            type="button"
            className="button-primary"
            disabled={view.busy || !view.preview || view.preview.documents === 0}
            onClick={() => send({ kind: "Create" })}
          >
            Export {view.preview?.documents ?? 0} documents
          </button>
        </div>
        <ActionStatus busy={view.busy} error={view.error ?? null} done={view.done ?? null} link={null} />
      </section>
      <section className="card" aria-labelledby="batches-h">
        <h2 id="batches-h">Batches</h2>
        {view.batches === null || view.batches === undefined ? (
          <p className="muted">Loading…</p>
        ) : view.batches.length === 0 ? (
          <p className="muted">No batch yet.</p>
        ) : (
          <ul className="rows" aria-label="Batches">
            {view.batches.map((b) => (
              <Batch key={b.id} row={b} cancel={() => send({ kind: "Cancel", batch_id: b.id })} />
            ))}
          </ul>
        )}
      </section>
      {view.settings && <Settings settings={view.settings} save={(value) => send(value)} />}
    </section>
  );
}

/** One batch: what it holds, who made it, its ZIP. */
function Batch({ row, cancel }: { row: BatchRow; cancel: () => void }) {
  const core = useCore();
  const [failed, setFailed] = useState(false);
  const download = async () => {
    if (!row.file) return;
    const url = await core.loadImage(row.file).catch(() => null);
    setFailed(!url);
    if (!url) return;
    const link = document.createElement("a");
    link.href = url;
    link.download = row.file_name;
    link.click();
  };
  return (
    <li className="row" aria-label={row.title}>
      <div>
        <strong>{row.title}</strong>
        <p className="muted small">{row.detail}</p>
        <p className="muted small">{row.status}</p>
        {failed && (
          <p className="field-error" role="alert">
            Could not download it. Try again when you are online.
          </p>
        )}
      </div>
      <div className="actions">
        {row.file && (
          <button type="button" className="button" onClick={() => void download()}>
            Download {row.file_name}
          </button>
        )}
        {row.can_cancel && (
          <button type="button" className="button-quiet danger" onClick={cancel}>
            Cancel {row.title.toLowerCase()}
          </button>
        )}
      </div>
    </li>
  );
}

function Settings({ settings, save }: { settings: ExportSettingsView; save: (e: ExportEvent) => void }) {
  const [s, setS] = useState({
    sie: settings.sie,
    vat_account: settings.vat_account,
    employee_account: settings.employee_account,
    card_account: settings.card_account,
  });
  return (
    <section className="card settings" aria-labelledby="export-settings-h">
      <h2 id="export-settings-h">Export settings</h2>
      <p className="muted small">
        Each expense type is booked to its own account code (Settings → Expense types).
      </p>
      <form
        aria-label="Export settings"
        onSubmit={(e) => {
          e.preventDefault();
          save({ kind: "SaveSettings", ...s });
        }}
      >
        <Check label="Add an SIE 4I file (Swedish accounting programs)" checked={s.sie} onChange={(sie) => setS({ ...s, sie })} />
        <EchoInput label="Input VAT account" value={s.vat_account} onChange={(vat_account) => setS({ ...s, vat_account })} />
        <EchoInput label="Employee expenses account" value={s.employee_account} onChange={(employee_account) => setS({ ...s, employee_account })} />
        <EchoInput label="Company card account" value={s.card_account} onChange={(card_account) => setS({ ...s, card_account })} />
        <div className="actions">
          <button type="submit" className="button">
            Save settings
          </button>
        </div>
      </form>
    </section>
  );
}
