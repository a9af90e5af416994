// The whole app: renders the core's view model and sends events; no decisions here.

import { useEffect, useState, useSyncExternalStore } from "react";
import type { CoreHandle } from "../core/api";
import { askToKeepData, type StorageKeeping } from "../core/storage";
import type { ScreenView, Tab, ViewModel } from "../generated/types/shared_types";
import { CoreContext, navigate, useDispatch } from "./common";
import { SignInScreen } from "./SignIn";
import { ReceiptsScreen, ReceiptScreen } from "./Receipts";
import { ApprovalsScreen, ApprovalScreen } from "./Approvals";
import { ComposeScreen, InboxScreen, ThreadScreen } from "./Messages";
import { CatalogScreen } from "./Catalog";
import { ClientsScreen } from "./Clients";
import { CardsScreen } from "./Cards";
import { Devices } from "./Devices";
import { ExportScreen } from "./Export";
import { FirmScreen } from "./Firm";
import "./app.css";

export function App(props: { core: CoreHandle }) {
  const core = props.core;
  const view = useSyncExternalStore(
    (listener) => core.subscribe(listener),
    () => core.view(),
  );
  return (
    <CoreContext.Provider value={core}>
      <Shell view={view} />
    </CoreContext.Provider>
  );
}

function Shell({ view }: { view: ViewModel }) {
  const signedIn = view.user !== null;
  // An invitation link is used once: after signing in, the address goes back to the app's root.
  useEffect(() => {
    if (signedIn && window.location.pathname.startsWith("/invite/")) {
      window.history.replaceState(null, "", "/");
    }
  }, [signedIn]);
  return (
    <div className={`app${signedIn ? "" : " app-signed-out"}`}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <Header view={view} />
      <main id="main" tabIndex={-1} aria-busy={view.saving || undefined}>
        <Alert text={view.alert} />
        <Notices view={view} />
        <Screen screen={view.screen} />
      </main>
    </div>
  );
}

function Header({ view }: { view: ViewModel }) {
  const dispatch = useDispatch();
  const user = view.user;
  const [devicesOpen, setDevicesOpen] = useState(false);
  return (
    <header className="topbar">
      <div className="topbar-row">
        <span className="brand" aria-label="Kvits">
          <span className="brand-mark" aria-hidden="true">
            K
          </span>
          <span className="brand-name">Kvits</span>
        </span>
        {user && user.companies.length > 1 && (
          <label className="company-switch">
            <span className="sr-only">Company</span>
            <select
              value={user.company_id ?? ""}
              onChange={(e) => dispatch({ kind: "Session", value: { kind: "SelectCompany", company_id: e.target.value } })}
            >
              {!user.company_id && <option value="">Choose a company</option>}
              {user.companies.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
        )}
        {user && user.companies.length === 1 && <span className="company-name">{user.company_name}</span>}
        <span className="spacer" />
        <SyncStatus view={view} />
        {user && (
          <div className="who">
            <button
              type="button"
              className="button-quiet who-name"
              title={`${user.email} · ${user.firm}`}
              aria-expanded={devicesOpen}
              onClick={() => setDevicesOpen(!devicesOpen)}
            >
              {user.name}
            </button>
            <button type="button" className="button-quiet" onClick={() => dispatch({ kind: "Session", value: { kind: "SignOut" } })}>
              Sign out
            </button>
          </div>
        )}
      </div>
      {user && devicesOpen && <Devices path={user.devices_path} close={() => setDevicesOpen(false)} />}
      {view.tabs.length > 0 && (
        <nav className="tabs" aria-label="Main">
          {view.tabs.map((t) => (
            <button
              key={t.tab.kind}
              type="button"
              className={`tab${t.selected ? " tab-selected" : ""}`}
              aria-current={t.selected ? "page" : undefined}
              onClick={() => dispatch(navigate(tabRoute(t.tab)))}
            >
              {t.label}
              {t.badge > 0 && (
                <span className="badge" aria-label={`${t.badge} new`}>
                  {t.badge}
                </span>
              )}
            </button>
          ))}
        </nav>
      )}
    </header>
  );
}

function tabRoute(tab: Tab) {
  switch (tab.kind) {
    case "Receipts":
      return { kind: "Receipts" } as const;
    case "Approvals":
      return { kind: "Approvals" } as const;
    case "Messages":
      return { kind: "Inbox" } as const;
    case "Settings":
      return { kind: "Catalog" } as const;
    case "Firm":
      return { kind: "Firm" } as const;
    case "Clients":
      return { kind: "Clients" } as const;
    case "Cards":
      return { kind: "Cards" } as const;
  }
}

/** Asks the browser once, after sign-in, to keep the site's data; answers what it said. */
function useStorageKeeping(signedIn: boolean): StorageKeeping {
  const [keeping, setKeeping] = useState<StorageKeeping>("unknown");
  useEffect(() => {
    if (!signedIn) return;
    let live = true;
    void askToKeepData(navigator.storage).then((k) => {
      if (live) setKeeping(k);
    });
    return () => {
      live = false;
    };
  }, [signedIn]);
  return keeping;
}

function SyncStatus({ view }: { view: ViewModel }) {
  const dispatch = useDispatch();
  const s = view.status;
  const keeping = useStorageKeeping(view.user !== null);
  if (!view.user && s.pending === 0) return null;
  const state = !s.online ? "offline" : s.problem ? "problem" : s.syncing ? "syncing" : "online";
  const label = !s.online ? "Offline" : s.problem ? "Not syncing" : s.syncing ? "Syncing…" : "Online";
  const pending =
    s.pending > 0 ? `${s.pending} waiting to be sent` : s.online && !s.problem ? "All sent" : "Nothing waiting";
  return (
    <div className={`sync sync-${state}`} role="status" aria-live="polite" aria-label="Sync status">
      <span className="sync-dot" aria-hidden="true" />
      <span className="sync-text">
        <strong className="sync-state">{label}</strong>
        <span className="sync-pending">{pending}</span>
        {s.last_synced && <span className="sync-last">Last synced {s.last_synced}</span>}
        {s.problem && <span className="sync-problem">{s.problem}</span>}
        {keeping === "may-be-cleared" && s.pending > 0 && (
          <span className="sync-problem">
            This browser may clear what Kvits keeps on this device when space runs low: send what is waiting soon (go
            online), or let this site keep its data in the browser's settings.
          </span>
        )}
      </span>
      {s.needs_sign_in && view.user && (
        <button
          type="button"
          className="button-quiet"
          onClick={() => dispatch(navigate({ kind: "SignIn" }))}
        >
          Sign in again
        </button>
      )}
      {s.needs_update && <span className="sync-problem">Please update the app (reload the page).</span>}
      {s.online && !s.syncing && view.user && (
        <button
          type="button"
          className="button-quiet sync-now"
          onClick={() => dispatch({ kind: "Sync", value: { kind: "Now" } })}
          aria-label="Sync now"
          title="Sync now"
        >
          ↻
        </button>
      )}
    </div>
  );
}

function Alert({ text }: { text: string | null }) {
  const dispatch = useDispatch();
  // The live region stays in the page so screen readers announce each new alert.
  return (
    <div className="alert-region" aria-live="assertive" aria-atomic="true">
      {text && (
        <div className="alert" role="alert">
          <span>{text}</span>
          <button type="button" className="button-quiet" onClick={() => dispatch({ kind: "DismissAlert" })}>
            Dismiss
          </button>
        </div>
      )}
    </div>
  );
}

function Notices({ view }: { view: ViewModel }) {
  const dispatch = useDispatch();
  if (view.notices.length === 0) return null;
  return (
    <section className="notices" aria-label="Notices">
      <ul>
        {view.notices.map((n) => (
          <li key={n.id} className="notice">
            <div className="notice-body">
              <span>{n.text}</span>
              <time className="muted">{n.at}</time>
            </div>
            <div className="notice-actions">
              {n.expense_id && (
                <button
                  type="button"
                  className="button-quiet"
                  onClick={() => dispatch(navigate({ kind: "Receipt", expense_id: n.expense_id! }))}
                >
                  Open receipt
                </button>
              )}
              <button
                type="button"
                className="button-quiet"
                onClick={() => dispatch({ kind: "Sync", value: { kind: "DismissNotice", id: n.id } })}
                aria-label={`Dismiss notice: ${n.text}`}
              >
                Dismiss
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Screen({ screen }: { screen: ScreenView }) {
  switch (screen.kind) {
    case "Loading":
      return (
        <div className="centered" role="status" aria-live="polite">
          <span className="spinner" aria-hidden="true" /> Loading…
        </div>
      );
    case "Broken":
      return (
        <section className="card broken" role="alert">
          <h1>Kvits cannot open this device's data</h1>
          <p>{screen.message}</p>
          <p className="muted">Nothing has been deleted. Reload the page to try again.</p>
        </section>
      );
    case "SignIn":
      return <SignInScreen view={screen.value} />;
    case "Receipts":
      return <ReceiptsScreen view={screen.value} />;
    case "Receipt":
      return <ReceiptScreen view={screen.value} />;
    case "Approvals":
      return <ApprovalsScreen view={screen.value} />;
    case "Approval":
      return <ApprovalScreen view={screen.value} />;
    case "Inbox":
      return <InboxScreen view={screen.value} />;
    case "Thread":
      return <ThreadScreen view={screen.value} />;
    case "Compose":
      return <ComposeScreen view={screen.value} />;
    case "Catalog":
      return <CatalogScreen view={screen.value} />;
    case "Firm":
      return <FirmScreen view={screen.value} />;
    case "Clients":
      return <ClientsScreen view={screen.value} />;
    case "Export":
      return <ExportScreen view={screen.value} />;
    case "Cards":
      return <CardsScreen view={screen.value} />;
    default:
      return (
        <section className="card">
          <p>This screen needs a newer version of the app. Please reload the page.</p>
        </section>
      );
  }
}
