// The accountant's home: every client with the work waiting there. Search, filter and order
// change the list at once (the core does it on the device); opening a client shows its
// documents narrowed to the work the filter looked for.

import type { ClientOverviewRow, ClientsEvent, ClientsView } from "../generated/types/shared_types";
import { MoreButton, useDispatch } from "./common";

const FILTER_IDS = ["All", "ToReview", "WaitingForApproval", "ReadyForExport", "UnreadReplies", "MissingReceipts"] as const;
const SORT_IDS = ["Name", "WorkWaiting"] as const;

export function ClientsScreen({ view }: { view: ClientsView }) {
  const dispatch = useDispatch();
  const send = (value: ClientsEvent) => dispatch({ kind: "Clients", value });
  return (
    <section className="clients" aria-labelledby="clients-overview-h" aria-busy={view.loading || undefined}>
      <div className="screen-head">
        <h1 id="clients-overview-h">Clients</h1>
        <button type="button" className="button-quiet" onClick={() => send({ kind: "Refresh" })}>
          Refresh
        </button>
      </div>
      <div className="filters card" role="search" aria-label="Find clients">
        <label className="field">
          <span>Search</span>
          <input type="search" value={view.search} placeholder="Client name" onChange={(e) => send({ kind: "Search", text: e.target.value })} />
        </label>
        <label className="field">
          <span>Show</span>
          <select
            value={view.filters.find((f) => f.selected)?.id ?? "All"}
            onChange={(e) => send({ kind: "Filter", filter: { kind: FILTER_IDS.find((f) => f === e.target.value) ?? "All" } })}
          >
            {view.filters.map((f) => (
              <option key={f.id} value={f.id}>
                {f.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Order</span>
          <select
            value={view.sorts.find((s) => s.selected)?.id ?? "Name"}
            onChange={(e) => send({ kind: "Sort", sort: { kind: SORT_IDS.find((s) => s === e.target.value) ?? "Name" } })}
          >
            {view.sorts.map((s) => (
              <option key={s.id} value={s.id}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        {view.can_choose_mine && (
          <fieldset className="segmented">
            <legend className="sr-only">Whose clients</legend>
            <label className="check">
              <input type="radio" name="mine" checked={view.only_mine} onChange={() => send({ kind: "OnlyMine", only_mine: true })} />
              My clients
            </label>
            <label className="check">
              <input type="radio" name="mine" checked={!view.only_mine} onChange={() => send({ kind: "OnlyMine", only_mine: false })} />
              All
            </label>
          </fieldset>
        )}
        <p className="muted small filters-summary" role="status">
          {view.count}
          {view.as_of && ` · ${view.as_of}`}
        </p>
      </div>
      {view.error && (
        <p className="form-error" role="alert">
          {view.error}
        </p>
      )}
      {!view.loaded && !view.error ? (
        <p className="processing" role="status">
          <span className="spinner" aria-hidden="true" /> Counting the work waiting…
        </p>
      ) : view.rows.length === 0 ? (
        <div className="empty card">
          <p>No clients match.</p>
        </div>
      ) : (
        <ul className="rows" aria-label="Clients">
          {view.rows.map((row) => (
            <ClientItem key={row.company_id} row={row} open={() => send({ kind: "Open", company_id: row.company_id })} />
          ))}
        </ul>
      )}
      <MoreButton more={view.more} what="clients" />
    </section>
  );
}

function Count({ n, label }: { n: number; label: string }) {
  return n > 0 ? (
    <span className="tag">
      {n} {label}
    </span>
  ) : null;
}

function ClientItem({ row, open }: { row: ClientOverviewRow; open: () => void }) {
  return (
    <li className="row">
      <button type="button" className="row-button" onClick={open} aria-label={`${row.name}: ${row.summary}`}>
        <span className="row-main">
          <span className="row-title">{row.name}</span>
          <span className="row-meta">{row.detail}</span>
        </span>
        <span className="row-side">
          <Count n={row.to_review} label="to review" />
          <Count n={row.waiting_for_approval} label="waiting" />
          <Count n={row.returned} label="returned" />
          <Count n={row.ready_for_export} label="to export" />
          <Count n={row.unread_replies} label="unread" />
          <Count n={row.missing_receipts} label="missing receipts" />
        </span>
      </button>
    </li>
  );
}
