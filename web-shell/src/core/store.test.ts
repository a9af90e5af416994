import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { LocalStore } from "./store";
import type { Collection, StoreOp, StoreResponse } from "../generated/types/shared_types";

const c = (kind: Collection["kind"]) => ({ kind }) as Collection;
const put = (kind: Collection["kind"], key: string, value: string): StoreOp => ({
  kind: "Put",
  collection: c(kind),
  key,
  value,
});

async function fresh(): Promise<LocalStore> {
  return LocalStore.open(new IDBFactory());
}

function rows(response: StoreResponse): string[] {
  if (response.kind !== "Loaded") throw new Error(`not loaded: ${JSON.stringify(response)}`);
  return response.rows.map((r) => `${r.collection.kind}/${r.key}=${r.value}`).sort();
}

describe("Store on IndexedDB", () => {
  it("loads nothing from a new database", async () => {
    const store = await fresh();
    expect(rows(await store.handle({ kind: "Load" }))).toEqual([]);
  });

  it("commits puts, deletes and clears in order, and loads every collection", async () => {
    const store = await fresh();
    const first = await store.handle({
      kind: "Commit",
      ops: [
        put("Meta", "client_id", '"abc"'),
        put("Outbox", "00000000000000000001", '{"seq":1}'),
        put("Outbox", "00000000000000000002", '{"seq":2}'),
        put("Mirror", "expense/1", "{}"),
        put("Mirror", "expense/2", "{}"),
        put("Captures", "c1", '{"file_ref":"capture/1"}'),
      ],
    });
    expect(first).toEqual({ kind: "Committed" });
    const second = await store.handle({
      kind: "Commit",
      ops: [
        { kind: "Delete", collection: c("Outbox"), key: "00000000000000000001" },
        { kind: "Delete", collection: c("Outbox"), key: "not-there" },
        { kind: "Clear", collection: c("Mirror") },
        put("Mirror", "expense/3", '{"v":3}'),
        put("Meta", "client_id", '"def"'),
      ],
    });
    expect(second).toEqual({ kind: "Committed" });
    expect(rows(await store.handle({ kind: "Load" }))).toEqual([
      'Captures/c1={"file_ref":"capture/1"}',
      'Meta/client_id="def"',
      'Mirror/expense/3={"v":3}',
      'Outbox/00000000000000000002={"seq":2}',
    ]);
  });

  it("keeps the rows across reopening the database", async () => {
    const factory = new IDBFactory();
    const a = await LocalStore.open(factory, "kvits-reopen");
    await a.handle({ kind: "Commit", ops: [put("Notices", "n1", '"hi"')] });
    a.close();
    const b = await LocalStore.open(factory, "kvits-reopen");
    expect(rows(await b.handle({ kind: "Load" }))).toEqual(['Notices/n1="hi"']);
  });

  it("applies nothing of a commit that fails part-way, and says why", async () => {
    const store = await fresh();
    await store.handle({ kind: "Commit", ops: [put("Meta", "kept", "1")] });
    const bogus = { kind: "Put", collection: { kind: "Bogus" }, key: "x", value: "y" } as unknown as StoreOp;
    const response = await store.handle({
      kind: "Commit",
      ops: [put("Meta", "kept", "2"), put("Outbox", "1", "{}"), bogus, put("Photos", "p", "{}")],
    });
    expect(response.kind).toBe("Failed");
    if (response.kind === "Failed") {
      expect(response.value.kind.kind).toBe("Other");
      expect(response.value.message).toMatch(/cannot be saved/);
    }
    expect(rows(await store.handle({ kind: "Load" }))).toEqual(["Meta/kept=1"]);
    // and the store still works afterwards
    expect(await store.handle({ kind: "Commit", ops: [put("Meta", "kept", "3")] })).toEqual({
      kind: "Committed",
    });
  });

  it("runs requests one at a time, in the order asked", async () => {
    const store = await fresh();
    const answers = await Promise.all([
      store.handle({ kind: "Commit", ops: [put("Meta", "k", "1")] }),
      store.handle({ kind: "Load" }),
      store.handle({ kind: "Commit", ops: [put("Meta", "k", "2")] }),
      store.handle({ kind: "Load" }),
    ]);
    expect(rows(answers[1])).toEqual(["Meta/k=1"]);
    expect(rows(answers[3])).toEqual(["Meta/k=2"]);
  });

  it("answers a closed database with a StoreError, not an exception", async () => {
    const store = await fresh();
    store.close();
    const load = await store.handle({ kind: "Load" });
    const commit = await store.handle({ kind: "Commit", ops: [put("Meta", "k", "1")] });
    expect(load.kind).toBe("Failed");
    expect(commit.kind).toBe("Failed");
  });

  it("refuses a database written by a newer version, leaving it alone", async () => {
    const factory = new IDBFactory();
    await new Promise<void>((resolve, reject) => {
      const r = factory.open("kvits-newer", 99);
      r.onsuccess = () => {
        r.result.close();
        resolve();
      };
      r.onerror = () => reject(r.error);
    });
    await expect(LocalStore.open(factory, "kvits-newer")).rejects.toThrow(/newer version/);
  });

  it("keeps photo blobs by key", async () => {
    const store = await fresh();
    await store.putBlob("capture/1", new Blob([new Uint8Array([1, 2, 3])], { type: "image/jpeg" }));
    const blob = await store.getBlob("capture/1");
    expect(blob).not.toBeNull();
    expect(new Uint8Array(await blob!.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
    expect(await store.getBlob("capture/none")).toBeNull();
  });

  it("drops photo blobs no row names before the first load, and keeps the rest", async () => {
    const factory = new IDBFactory();
    const first = await LocalStore.open(factory, "kvits-sweep");
    const jpeg = () => new Blob([new Uint8Array([0xff, 0xd8])], { type: "image/jpeg" });
    await first.handle({
      kind: "Commit",
      ops: [
        put("Captures", "c1", '{"id":"c1","source":"capture/pending"}'),
        put("Photos", "abc", '{"sha256":"abc","file_ref":"photo/abc.jpg","thumbnail_ref":"photo/abc.thumb.jpg"}'),
        put("Captures", "broken", "not json"),
      ],
    });
    for (const key of [
      "capture/pending",
      "capture/done",
      "photo/abc.jpg",
      "photo/abc.thumb.jpg",
      "photo/old.jpg",
      "capture/just-picked",
    ]) {
      await first.putBlob(key, jpeg());
    }
    first.close();

    // The next page: a capture is being kept while the core loads.
    const next = await LocalStore.open(factory, "kvits-sweep");
    next.inFlight.add("capture/just-picked");
    await next.handle({ kind: "Load" });
    const kept = async (key: string) => (await next.getBlob(key)) !== null;
    expect(await kept("capture/pending")).toBe(true);
    expect(await kept("photo/abc.jpg")).toBe(true);
    expect(await kept("photo/abc.thumb.jpg")).toBe(true);
    expect(await kept("capture/just-picked")).toBe(true);
    expect(await kept("capture/done")).toBe(false);
    expect(await kept("photo/old.jpg")).toBe(false);

    // Only once per page: a blob kept after the first load is not swept by later loads.
    await next.putBlob("photo/new.jpg", jpeg());
    await next.handle({ kind: "Load" });
    expect(await kept("photo/new.jpg")).toBe(true);
  });
});
