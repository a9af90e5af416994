import { useId, useRef, useState } from "react";
import type { DragEvent, ReactNode } from "react";
import type {
  FormField,
  ReceiptFilterField,
  ReceiptFiltersView,
  PageView,
  ReceiptRow,
  ReceiptStatus,
  ReceiptView,
  ReceiptsView,
} from "../generated/types/shared_types";
import {
  BackButton,
  ChoiceSelect,
  Decisions,
  EchoInput,
  MoreButton,
  Picture,
  navigate,
  useCore,
  useDispatch,
} from "./common";
import { PhotoViewer } from "./PhotoViewer";
import { VatLines } from "./Vat";
import { AnswerPanel, History, ReviewPanel } from "./Review";

/** Hands picked or dropped files to the core one by one; remembers a failure to store one. */
function useCapture() {
  const core = useCore();
  const [error, setError] = useState<string | null>(null);
  const [storing, setStoring] = useState(0);
  const capture = async (files: Iterable<File>) => {
    setError(null);
    for (const file of files) {
      setStoring((n) => n + 1);
      try {
        await core.capture(file);
      } catch (e) {
        setError(`“${file.name}” could not be kept on this device: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        setStoring((n) => n - 1);
      }
    }
  };
  return { capture, error, storing };
}

/** A file picker that looks like a button; the camera on phones. */
function CaptureButton(props: {
  label: string;
  onFiles: (files: File[]) => void;
  multiple?: boolean;
  primary?: boolean;
}) {
  const id = useId();
  return (
    <span className="capture">
      <input
        id={id}
        className="file-input"
        type="file"
        accept="image/*"
        capture="environment"
        multiple={props.multiple ?? true}
        onChange={(e) => {
          const files = Array.from(e.target.files ?? []);
          e.target.value = "";
          if (files.length > 0) props.onFiles(files);
        }}
      />
      <label htmlFor={id} className={props.primary ? "button-primary" : "button"}>
        {props.label}
      </label>
    </span>
  );
}

/** Drag and drop of files onto `children`. */
function DropZone(props: { onFiles: (files: File[]) => void; enabled: boolean; children: ReactNode }) {
  const [over, setOver] = useState(false);
  const depth = useRef(0);
  if (!props.enabled) return <>{props.children}</>;
  const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer.types).includes("Files");
  return (
    <div
      className={`dropzone${over ? " dropzone-over" : ""}`}
      data-testid="receipt-dropzone"
      onDragEnter={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        depth.current += 1;
        setOver(true);
      }}
      onDragOver={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = "copy";
      }}
      onDragLeave={() => {
        depth.current = Math.max(0, depth.current - 1);
        if (depth.current === 0) setOver(false);
      }}
      onDrop={(e) => {
        e.preventDefault();
        depth.current = 0;
        setOver(false);
        const files = Array.from(e.dataTransfer.files);
        if (files.length > 0) props.onFiles(files);
      }}
    >
      {props.children}
      {over && (
        <div className="dropzone-hint" aria-hidden="true">
          Drop receipt photos to add them
        </div>
      )}
    </div>
  );
}

export function statusClass(status: ReceiptStatus): string {
  switch (status.kind) {
    case "Approved":
    case "Reviewed":
    case "Sent":
      return "ok";
    case "Rejected":
    case "NotAccepted":
      return "bad";
    case "Returned":
      return "warn";
    case "Queued":
    case "Uploading":
      return "pending";
    default:
      return "neutral";
  }
}

function StatusLine({ status, text }: { status: ReceiptStatus; text: string }) {
  return (
    <span className={`status status-${statusClass(status)}`}>
      <span className="status-text">{text}</span>
      {status.kind === "Uploading" && (
        <progress max={100} value={status.percent} aria-label={`Upload progress ${status.percent} %`}>
          {status.percent} %
        </progress>
      )}
    </span>
  );
}

export function ReceiptsScreen({ view }: { view: ReceiptsView }) {
  const dispatch = useDispatch();
  const { capture, error, storing } = useCapture();
  const busy = view.processing + storing;
  return (
    <DropZone enabled={view.can_capture} onFiles={capture}>
      <section aria-labelledby="receipts-h">
        <div className="screen-head">
          <h1 id="receipts-h">Receipts</h1>
          {view.can_export && (
            <button type="button" className="button" onClick={() => dispatch({ kind: "Navigate", value: { kind: "Export" } })}>
              Export to the books
            </button>
          )}
          {view.can_capture && <CaptureButton label="Add receipt photos" onFiles={capture} primary />}
        </div>
        {view.can_capture && (
          <p className="muted drop-hint">Take a photo or choose images — or drop them here.</p>
        )}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        {busy > 0 && (
          <p className="processing" role="status">
            <span className="spinner" aria-hidden="true" /> Preparing {busy} photo{busy === 1 ? "" : "s"}…
          </p>
        )}
        {view.filters && <FilterBar view={view.filters} />}
        {view.receipts.length === 0 && busy === 0 && view.filters?.narrowed ? (
          <div className="empty card">
            <p>No receipts match these filters.</p>
          </div>
        ) : view.receipts.length === 0 && busy === 0 ? (
          <div className="empty card">
            <p>No receipts yet.</p>
            {view.can_capture && <p className="muted">Photograph a receipt right after paying — Kvits keeps it even without a network.</p>}
          </div>
        ) : (
          <ul className="rows" aria-label="Receipts">
            {view.receipts.map((r) => (
              <ReceiptRowItem key={r.id} row={r} open={() => dispatch(navigate({ kind: "Receipt", expense_id: r.id }))} />
            ))}
          </ul>
        )}
        <MoreButton more={view.more} what="receipts" />
      </section>
    </DropZone>
  );
}

const STATUS_IDS = ["All", "ToReview", "WaitingForApproval", "Returned", "Reviewed", "Exported", "Rejected", "Drafts"] as const;
const SORT_IDS = ["Captured", "DateNewest", "DateOldest", "AmountHighest"] as const;

/** Status, period, person, type and card filters and the order (those who see everyone's). */
function FilterBar({ view }: { view: ReceiptFiltersView }) {
  const dispatch = useDispatch();
  const set = (field: ReceiptFilterField) => dispatch({ kind: "Receipts", value: { kind: "Filter", value: field } });
  const statuses = view.statuses.filter((c) => c.id !== "All");
  return (
    <div className="filters card" role="search" aria-label="Filter receipts">
      <ChoiceSelect
        label="Status"
        placeholder={`All (${view.statuses.find((c) => c.id === "All")?.detail ?? 0})`}
        choices={statuses}
        detail="suffix"
        onChange={(id) => {
          const kind = STATUS_IDS.find((s) => s === id) ?? "All";
          set({ kind: "Status", value: { kind } });
        }}
      />
      <ChoiceSelect label="Month" placeholder="Any month" choices={view.periods} detail="suffix" onChange={(id) => set({ kind: "Period", value: id })} />
      <ChoiceSelect label="Employee" placeholder="Anyone" choices={view.employees} detail="suffix" onChange={(id) => set({ kind: "Employee", value: id })} />
      <ChoiceSelect label="Type" placeholder="Any type" choices={view.expense_types} detail="suffix" onChange={(id) => set({ kind: "ExpenseType", value: id })} />
      <ChoiceSelect label="Card" placeholder="Any card" choices={view.payment_methods} detail="suffix" onChange={(id) => set({ kind: "PaymentMethod", value: id })} />
      <ChoiceSelect
        label="Order"
        placeholder="Newest captured"
        choices={view.sorts.filter((c) => c.id !== "Captured")}
        detail="suffix"
        onChange={(id) => {
          const kind = SORT_IDS.find((s) => s === id) ?? "Captured";
          set({ kind: "Sort", value: { kind } });
        }}
      />
      <p className="muted small filters-summary" role="status">
        {view.summary}
        {view.narrowed && (
          <button type="button" className="button-quiet" onClick={() => set({ kind: "Clear" })}>
            Clear filters
          </button>
        )}
      </p>
    </div>
  );
}

function ReceiptRowItem({ row, open }: { row: ReceiptRow; open: () => void }) {
  return (
    <li className="row receipt-row">
      <button type="button" className="row-button" onClick={open} aria-label={`${row.title}, ${row.amount ?? "no amount"}, ${row.status_text}`}>
        <Picture image={row.thumbnail} alt="" className="thumb" />
        <span className="row-main">
          <span className="row-title">{row.title}</span>
          <span className="row-meta">
            {row.date ?? "No date"}
            {row.pages > 1 && ` · ${row.pages} pages`}
          </span>
          <StatusLine status={row.status} text={row.status_text} />
        </span>
        <span className="row-amount">{row.amount ?? "—"}</span>
      </button>
    </li>
  );
}

export function ReceiptScreen({ view }: { view: ReceiptView }) {
  const dispatch = useDispatch();
  const { capture, error, storing } = useCapture();
  const [viewing, setViewing] = useState<number | null>(null);
  const err = (field: string) => view.errors.find((e) => e.field === field)?.message ?? null;
  const edit = (field: FormField) => dispatch({ kind: "Receipts", value: { kind: "EditForm", value: field } });
  const ro = !view.editable;
  const busy = view.processing + storing;
  const pagesError = err("pages");
  return (
    <section className="receipt" aria-labelledby="receipt-h">
      <BackButton label="Receipts" />
      <div className="screen-head">
        <h1 id="receipt-h">{view.editable ? "Receipt" : "Receipt details"}</h1>
        <StatusLine status={view.status} text={view.status_text} />
      </div>
      <div className="receipt-layout">
        <section className="card pages" aria-labelledby="pages-h">
          <h2 id="pages-h">Pages</h2>
          <ul className="page-list">
            {view.pages.map((p: PageView, i) => (
              <li key={p.sha256} className="page">
                <Picture
                  image={p.thumbnail}
                  alt={`Page ${i + 1}`}
                  className="page-thumb"
                  onClick={() => setViewing(i)}
                />
                <span className="muted small">
                  Page {i + 1} · {p.size}
                </span>
                {view.editable && view.pages.length > 1 && (
                  <button
                    type="button"
                    className="button-quiet danger"
                    onClick={() => dispatch({ kind: "Receipts", value: { kind: "RemovePage", sha256: p.sha256 } })}
                  >
                    Remove page {i + 1}
                  </button>
                )}
              </li>
            ))}
            {busy > 0 && (
              <li className="page page-processing" role="status">
                <span className="spinner" aria-hidden="true" /> Preparing photo…
              </li>
            )}
          </ul>
          {pagesError && <p className="field-error">{pagesError}</p>}
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
          {view.editable && <CaptureButton label="Add page" onFiles={capture} multiple={false} />}
        </section>

        <form
          className="card receipt-form"
          aria-label="Receipt details"
          onSubmit={(e) => {
            e.preventDefault();
            dispatch({ kind: "Receipts", value: { kind: "Submit" } });
          }}
        >
          <ChoiceSelect
            label="Document"
            placeholder="What kind of document"
            choices={view.document_types}
            detail="suffix"
            disabled={ro}
            error={err("document_type")}
            onChange={(id) => {
              if (id === "Receipt" || id === "Invoice" || id === "Other") {
                edit({ kind: "DocumentType", value: { kind: id } });
              }
            }}
          />
          <ChoiceSelect
            label="Expense type"
            placeholder="Choose an expense type"
            choices={view.expense_types}
            detail="suffix"
            disabled={ro}
            error={err("expense_type")}
            onChange={(id) => edit({ kind: "ExpenseType", value: id })}
          />
          <ChoiceSelect
            label="Paid with"
            placeholder="Choose a card or own money"
            choices={view.payment_methods}
            detail="group"
            disabled={ro}
            error={err("payment_method")}
            onChange={(id) => edit({ kind: "PaymentMethod", value: id })}
          />
          <div className="field-pair">
            <EchoInput
              label="Amount"
              inputMode="decimal"
              value={view.amount}
              disabled={ro}
              error={err("amount")}
              placeholder="0.00"
              onChange={(v) => edit({ kind: "Amount", value: v })}
            />
            <EchoInput
              label="Currency"
              value={view.currency}
              disabled={ro}
              error={err("currency")}
              maxLength={3}
              onChange={(v) => edit({ kind: "Currency", value: v.toUpperCase() })}
            />
          </div>
          {view.base_currency && (
            <EchoInput
              label={`Amount in ${view.base_currency}`}
              inputMode="decimal"
              value={view.base_amount}
              disabled={ro}
              error={err("base_amount")}
              placeholder="as on the card statement"
              onChange={(v) => edit({ kind: "BaseAmount", value: v })}
            />
          )}
          <EchoInput
            label="Date"
            type="date"
            value={view.date}
            disabled={ro}
            error={err("date")}
            onChange={(v) => edit({ kind: "Date", value: v })}
          />
          <EchoInput
            label="Merchant"
            value={view.merchant}
            disabled={ro}
            error={err("merchant")}
            onChange={(v) => edit({ kind: "Merchant", value: v })}
          />
          <EchoInput
            label="Note"
            multiline
            value={view.note}
            disabled={ro}
            error={err("note")}
            onChange={(v) => edit({ kind: "Note", value: v })}
          />
          {view.vat_lines && (
            <VatLines
              view={view.vat_lines}
              err={err}
              onEdit={(v) => edit({ kind: "Vat", value: v })}
            />
          )}
          {((view.vat && !view.vat_lines) || view.account_code) && !view.review && (
            <dl className="bookkeeping">
              {view.vat && !view.vat_lines && (
                <>
                  <dt>VAT</dt>
                  <dd>{view.vat}</dd>
                </>
              )}
              {view.account_code && (
                <>
                  <dt>Account</dt>
                  <dd>{view.account_code}</dd>
                </>
              )}
            </dl>
          )}
          {view.editable && (
            <div className="actions">
              <button type="submit" className="button-primary">
                Submit
              </button>
              <button type="button" className="button" onClick={() => dispatch({ kind: "Receipts", value: { kind: "SaveDraft" } })}>
                Save draft
              </button>
              {view.can_delete && (
                <button
                  type="button"
                  className="button danger"
                  onClick={() => {
                    if (window.confirm("Delete this receipt? Its photos are removed from this device too.")) {
                      dispatch({ kind: "Receipts", value: { kind: "Delete" } });
                    }
                  }}
                >
                  Delete
                </button>
              )}
            </div>
          )}
        </form>
      </div>
      {view.answer && <AnswerPanel view={view.answer} />}
      {view.review && <ReviewPanel view={view.review} />}
      <Decisions decisions={view.decisions} />
      <History entries={view.history} />
      {viewing !== null && view.pages[viewing] && (
        <PhotoViewer pages={view.pages} index={viewing} onIndex={setViewing} onClose={() => setViewing(null)} />
      )}
    </section>
  );
}
