// The `Store` effect on the web: one IndexedDB database, one object store per collection of
// JSON rows (keyed by the row's key), plus `blobs` for photos. Same semantics as the native
// SQLite store (shared/native/src/store.rs): `Load` hands back every row of every collection;
// `Commit` applies its puts, deletes and clears in order as ONE readwrite transaction — all or
// nothing — and answers `Committed` only when the transaction completed, with "strict"
// durability (flushed to disk), because that is when the user is told a receipt is saved.
// Failures answer `Failed(StoreError)`: `Full` when the browser's quota is exhausted.
//
// A photo's `file_ref` is the key of its Blob in `blobs`.

import {
  StoreError,
  StoredRow,
  type Collection,
  type StoreOp,
  type StoreRequest,
  type StoreResponse,
} from "../generated/types/shared_types";

export const DB_NAME = "kvits";
/** The schema this code writes; a newer database (a newer app version) is refused untouched. */
export const DB_VERSION = 1;
export const BLOBS = "blobs";

/** Object store names, stable forever (the same names as the native store's collections). */
const COLLECTIONS: Record<Collection["kind"], string> = {
  Meta: "meta",
  Outbox: "outbox",
  Mirror: "mirror",
  Photos: "photos",
  Notices: "notices",
  Captures: "captures",
};

const KINDS = Object.keys(COLLECTIONS) as Collection["kind"][];
const ROW_STORES = KINDS.map((k) => COLLECTIONS[k]);

function collectionName(collection: Collection): string {
  const name = COLLECTIONS[collection.kind];
  if (name === undefined) throw new Error(`unknown collection ${JSON.stringify(collection)}`);
  return name;
}

function isQuota(e: unknown): boolean {
  const name = (e as { name?: string } | null)?.name;
  return name === "QuotaExceededError";
}

export function storeError(e: unknown, what: string): StoreError {
  const detail =
    e instanceof Error || (typeof DOMException !== "undefined" && e instanceof DOMException)
      ? `${(e as Error).name}: ${(e as Error).message}`
      : String(e ?? "unknown error");
  if (isQuota(e)) {
    return new StoreError(
      { kind: "Full" },
      `${what}: this device's storage for Kvits is full (${detail})`,
    );
  }
  return new StoreError({ kind: "Other" }, `${what}: ${detail}`);
}

/** Opens (creating or upgrading) the database. */
export function openDatabase(factory: IDBFactory = indexedDB, name = DB_NAME): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    let request: IDBOpenDBRequest;
    try {
      request = factory.open(name, DB_VERSION);
    } catch (e) {
      reject(e);
      return;
    }
    request.onupgradeneeded = (event) => {
      const db = request.result;
      // Forward-only: each version adds what it needs; nothing is ever dropped.
      if (event.oldVersion < 1) {
        for (const store of ROW_STORES) db.createObjectStore(store);
        db.createObjectStore(BLOBS);
      }
    };
    request.onsuccess = () => {
      const db = request.result;
      // Another tab upgrading the schema: step aside rather than block it.
      db.onversionchange = () => db.close();
      resolve(db);
    };
    request.onerror = () => {
      const error = request.error;
      if (error?.name === "VersionError") {
        reject(
          new Error(
            "the local database was written by a newer version of Kvits; it was left " +
              "untouched — reload to get the new version",
          ),
        );
      } else {
        reject(error ?? new Error("the local database cannot be opened"));
      }
    };
    request.onblocked = () => {
      // Another tab holds an older version open; opening continues once it closes.
    };
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error("the transaction failed"));
    tx.onabort = () => reject(tx.error ?? new Error("the transaction was aborted"));
  });
}

function requestResult<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** The local store: answers the core's `StoreRequest`s, one at a time, and keeps photo blobs. */
export class LocalStore {
  /** Requests run one after another, like the native store's single connection. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: IDBDatabase) {}

  static async open(factory: IDBFactory = indexedDB, name = DB_NAME): Promise<LocalStore> {
    return new LocalStore(await openDatabase(factory, name));
  }

  close(): void {
    this.db.close();
  }

  /** Blob keys the shell is keeping right now that no row names yet (a capture on its way). */
  readonly inFlight = new Set<string>();
  private swept = false;

  handle(request: StoreRequest): Promise<StoreResponse> {
    const run = async () => {
      if (request.kind !== "Load") return this.commit(request.ops);
      // Before the first load of a page, nothing is being captured or processed yet: the
      // moment to drop photo blobs that no row names any more.
      if (!this.swept) {
        this.swept = true;
        try {
          await this.sweepBlobs();
        } catch (e) {
          console.warn("kvits: unused photos could not be removed:", e);
        }
      }
      return this.load();
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async load(): Promise<StoreResponse> {
    try {
      const tx = this.db.transaction(ROW_STORES, "readonly");
      const finished = done(tx);
      const reads = KINDS.map((kind) => {
        const store = tx.objectStore(COLLECTIONS[kind]);
        return Promise.all([requestResult(store.getAllKeys()), requestResult(store.getAll())]).then(
          ([keys, values]) =>
            keys.map((key, i) => new StoredRow({ kind } as Collection, String(key), String(values[i]))),
        );
      });
      const rows = (await Promise.all(reads)).flat();
      await finished;
      return { kind: "Loaded", rows };
    } catch (e) {
      return { kind: "Failed", value: storeError(e, "the local data cannot be read") };
    }
  }

  async commit(ops: StoreOp[]): Promise<StoreResponse> {
    let tx: IDBTransaction;
    try {
      tx = this.db.transaction(ROW_STORES, "readwrite", { durability: "strict" });
    } catch (e) {
      return { kind: "Failed", value: storeError(e, "the change cannot be saved") };
    }
    const finished = done(tx);
    let failure: unknown = null;
    try {
      for (const op of ops) {
        const store = tx.objectStore(collectionName(op.collection));
        switch (op.kind) {
          case "Put":
            store.put(op.value, op.key);
            break;
          case "Delete":
            store.delete(op.key);
            break;
          case "Clear":
            store.clear();
            break;
          default:
            throw new Error(`unknown store operation ${JSON.stringify(op)}`);
        }
      }
    } catch (e) {
      // Nothing of this transaction may land: abort it, then report why.
      failure = e;
      try {
        tx.abort();
      } catch {
        // already finished or aborted
      }
    }
    try {
      await finished;
    } catch (e) {
      failure = failure ?? e;
    }
    if (failure !== null) {
      return { kind: "Failed", value: storeError(failure, "the change cannot be saved") };
    }
    return { kind: "Committed" };
  }

  /** Keeps a blob under `key`, durably (the promise resolves once it is on disk). */
  async putBlob(key: string, blob: Blob): Promise<void> {
    await this.putBlobs([[key, blob]]);
  }

  /** Keeps several blobs in one transaction. */
  async putBlobs(entries: [string, Blob][]): Promise<void> {
    const tx = this.db.transaction([BLOBS], "readwrite", { durability: "strict" });
    const finished = done(tx);
    const store = tx.objectStore(BLOBS);
    for (const [key, blob] of entries) store.put(blob, key);
    await finished;
  }

  /** The blob under `key`, or null. */
  async getBlob(key: string): Promise<Blob | null> {
    const tx = this.db.transaction([BLOBS], "readonly");
    const value = await requestResult(tx.objectStore(BLOBS).get(key));
    return value instanceof Blob ? value : null;
  }

  /**
   * Deletes the blobs no row refers to: originals (`capture/…`) whose capture is done or gone,
   * and processed photos and thumbnails (`photo/…`) the core no longer keeps (after sign-out,
   * or a deleted receipt). Keys in `inFlight` are kept. One transaction, so rows and blobs are
   * read and changed together. Returns the number of blobs deleted.
   */
  async sweepBlobs(): Promise<number> {
    const captures = COLLECTIONS.Captures;
    const photos = COLLECTIONS.Photos;
    const tx = this.db.transaction([captures, photos, BLOBS], "readwrite");
    const finished = done(tx);
    const [captureRows, photoRows, keys] = await Promise.all([
      requestResult(tx.objectStore(captures).getAll()),
      requestResult(tx.objectStore(photos).getAll()),
      requestResult(tx.objectStore(BLOBS).getAllKeys()),
    ]);
    const named = new Set<string>(this.inFlight);
    for (const row of captureRows) addRefs(named, row, ["source"]);
    for (const row of photoRows) addRefs(named, row, ["file_ref", "thumbnail_ref"]);
    let deleted = 0;
    const blobs = tx.objectStore(BLOBS);
    for (const key of keys) {
      if (typeof key === "string" && !named.has(key)) {
        blobs.delete(key);
        deleted += 1;
      }
    }
    await finished;
    return deleted;
  }

  async deleteBlob(key: string): Promise<void> {
    const tx = this.db.transaction([BLOBS], "readwrite");
    const finished = done(tx);
    tx.objectStore(BLOBS).delete(key);
    await finished;
  }
}

/** Adds the string fields `fields` of a stored JSON row to `refs`; a row that does not parse
 * names nothing (and its blobs are kept only if another row names them). */
function addRefs(refs: Set<string>, row: unknown, fields: string[]): void {
  let value: unknown;
  try {
    value = JSON.parse(String(row));
  } catch {
    return;
  }
  if (typeof value !== "object" || value === null) return;
  for (const field of fields) {
    const ref = (value as Record<string, unknown>)[field];
    if (typeof ref === "string") refs.add(ref);
  }
}
