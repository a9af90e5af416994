// The web shell's core: `startCore()` loads the wasm core, opens the local store, starts the
// core and wires the browser's events to it. The screens use only the returned `CoreHandle`.

import init, { KvitsCore } from "../generated/wasm/kvits_web";
import wasmUrl from "../generated/wasm/kvits_web_bg.wasm?url";
import type { CoreHandle } from "./api";
import { deviceName, entropy, utcOffsetMinutes } from "./device";
import { performHttp } from "./http";
import { PhotoWorker, processPhoto } from "./photo";
import { Runtime } from "./runtime";
import { LocalStore, storeError } from "./store";
import { Timers } from "./time";
import { uploadPhoto } from "./upload";
import type { StoreResponse } from "../generated/types/shared_types";

export type { CoreHandle } from "./api";

let started: Promise<CoreHandle> | null = null;

/** Starts the app's core once per page; later calls get the same handle. */
export function startCore(): Promise<CoreHandle> {
  started ??= start();
  return started;
}

async function start(): Promise<CoreHandle> {
  const [, opened] = await Promise.all([
    init({ module_or_path: wasmUrl }),
    LocalStore.open().then(
      (store) => ({ store, error: null }),
      (error: unknown) => ({ store: null, error }),
    ),
  ]);
  const { store, error: openError } = opened;
  if (openError) console.error("kvits: the local database cannot be opened:", openError);

  // Without a database the core is told so by every store answer, and shows it.
  const noStore = (): Promise<StoreResponse> =>
    Promise.resolve({ kind: "Failed", value: storeError(openError, "the local database cannot be opened") });
  const needStore = (): LocalStore => {
    if (!store) throw new Error(`this browser's local storage cannot be used: ${String(openError)}`);
    return store;
  };

  const worker = new PhotoWorker(
    () => new Worker(new URL("../worker/photo.worker.ts", import.meta.url), { type: "module" }),
  );
  const getBlob = (key: string) => (store ? store.getBlob(key) : Promise.resolve(null));

  const runtime = new Runtime(new KvitsCore(), {
    http: (request) => performHttp(request),
    store: (request) => (store ? store.handle(request) : noStore()),
    timers: new Timers(),
    photo: (request) =>
      processPhoto(request, { getBlob, putBlobs: (e) => needStore().putBlobs(e) }, worker.run),
    upload: (request, progress) => uploadPhoto(request, { getBlob }, progress),
    keepPhoto: async (file) => {
      const key = `capture/${crypto.randomUUID()}`;
      const local = needStore();
      local.inFlight.add(key);
      await local.putBlob(key, file);
      return key;
    },
    getBlob,
    origin: location.origin,
  });

  runtime.dispatch({
    kind: "Start",
    server_url: location.origin,
    entropy: entropy(32),
    device_name: deviceName(navigator.userAgent),
    utc_offset_minutes: utcOffsetMinutes(),
  });
  if (!navigator.onLine) runtime.dispatch({ kind: "NetworkChanged", online: false });

  window.addEventListener("online", () => runtime.dispatch({ kind: "NetworkChanged", online: true }));
  window.addEventListener("offline", () =>
    runtime.dispatch({ kind: "NetworkChanged", online: false }),
  );
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") runtime.dispatch({ kind: "Foregrounded" });
  });

  registerServiceWorker();
  return runtime;
}

/** The offline cache of the app (production builds only: in development it would serve stale
 * modules). */
function registerServiceWorker(): void {
  if (!import.meta.env.PROD || !("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((e: unknown) => {
    console.warn("kvits: the offline cache cannot be set up:", e);
  });
}
