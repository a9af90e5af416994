import { describe, expect, it, vi } from "vitest";
import { BincodeSerializer } from "../generated/types/bincode";
import {
  RenderOperation,
  Request,
  Requests,
  UploadRequest,
  type Effect,
  type ImageRef,
  type StoreResponse,
  type ViewModel,
} from "../generated/types/shared_types";
import { encodeOutput } from "./codec";
import { Runtime, type Bridge, type Effects } from "./runtime";
import { Timers } from "./time";

function requests(...effects: [number, Effect][]): Uint8Array {
  const s = new BincodeSerializer();
  new Requests(effects.map(([id, e]) => new Request(id, e))).serialize(s);
  return s.getBytes();
}

function effects(overrides: Partial<Effects>): Effects {
  return {
    store: vi.fn(),
    timers: new Timers(),
    http: vi.fn(),
    photo: vi.fn(),
    upload: vi.fn(),
    keepPhoto: vi.fn(),
    getBlob: vi.fn(),
    origin: "http://kvits.test",
    ...overrides,
  } as Effects;
}

describe("Runtime", () => {
  it("performs effects, resolves each answer by its id, and tells subscribers of renders", async () => {
    const resolved: [number, Uint8Array][] = [];
    let views = 0;
    const bridge: Bridge = {
      update: () =>
        requests(
          [5, { kind: "Store", value: { kind: "Load" } }],
          [6, { kind: "Render", value: new RenderOperation() }],
          [7, { kind: "Render", value: new RenderOperation() }],
        ),
      resolve: (id, output) => {
        resolved.push([id, output]);
        return requests();
      },
      view: () => new Uint8Array(),
    };
    const loaded: StoreResponse = { kind: "Loaded", rows: [] };
    const store = vi.fn(async () => loaded);
    const runtime = new Runtime(bridge, effects({ store }), () => ({ n: ++views }) as unknown as ViewModel);
    const listener = vi.fn();
    runtime.subscribe(listener);
    runtime.dispatch({ kind: "Sync", value: { kind: "Now" } });
    await vi.waitFor(() => expect(resolved).toHaveLength(1));
    expect(store).toHaveBeenCalledWith({ kind: "Load" });
    expect(resolved[0]).toEqual([5, encodeOutput.store(loaded)]);
    // two renders in one burst: one new view, one notification
    expect(listener).toHaveBeenCalledTimes(1);
    expect(runtime.view()).toEqual({ n: 2 });
  });

  it("streams upload progress and the last update to the same id", async () => {
    const resolved: number[] = [];
    const bridge: Bridge = {
      update: () => uploadRequestBytes(),
      resolve: (id) => {
        resolved.push(id);
        return requests();
      },
      view: () => new Uint8Array(),
    };
    const upload = vi.fn(async (_r: unknown, progress: (s: number, t: number) => void) => {
      progress(0, 10);
      progress(10, 10);
      return { kind: "Done" } as const;
    });
    const runtime = new Runtime(
      bridge,
      effects({ upload: upload as unknown as Effects["upload"] }),
      () => ({}) as ViewModel,
    );
    runtime.dispatch({ kind: "Sync", value: { kind: "Now" } });
    await vi.waitFor(() => expect(resolved).toEqual([9, 9, 9]));
  });

  it("loads server images with the view's authorization, once, and local photos from blobs", async () => {
    const bridge: Bridge = { update: () => requests(), resolve: () => requests(), view: () => new Uint8Array() };
    const fetch = vi.fn(async (_url: URL | RequestInfo, init?: RequestInit) => {
      expect(new Headers(init?.headers).get("authorization")).toBe("Bearer abc");
      return new Response(new Blob([new Uint8Array([1])]), { status: 200 });
    });
    const getBlob = vi.fn(async (ref: string) => (ref === "photo/a.jpg" ? new Blob([new Uint8Array([2])]) : null));
    const runtime = new Runtime(
      bridge,
      effects({ fetch: fetch as unknown as typeof globalThis.fetch, getBlob }),
      () => ({ image_authorization: "Bearer abc" }) as ViewModel,
    );
    const server = { file_ref: null, url: "/v1/blobs/" + "b".repeat(64) } as ImageRef;
    const first = await runtime.loadImage(server);
    expect(first).toMatch(/^blob:/);
    expect(await runtime.loadImage(server)).toBe(first);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(String(fetch.mock.calls[0][0])).toBe("http://kvits.test/v1/blobs/" + "b".repeat(64));
    expect(await runtime.loadImage({ file_ref: "photo/a.jpg", url: null } as ImageRef)).toMatch(/^blob:/);
    expect(await runtime.loadImage({ file_ref: "photo/none.jpg", url: null } as ImageRef)).toBeNull();
  });

  it("never writes the credentials to the console, nor sends them to another origin", async () => {
    const bridge: Bridge = { update: () => requests(), resolve: () => requests(), view: () => new Uint8Array() };
    const fetch = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const runtime = new Runtime(
      bridge,
      effects({ fetch: fetch as unknown as typeof globalThis.fetch }),
      () => ({ image_authorization: "Bearer kvt_secret" }) as ViewModel,
    );
    // Offline: the failure is reported, without the token.
    expect(await runtime.loadImage({ file_ref: null, url: "/v1/blobs/" + "c".repeat(64) } as ImageRef)).toBeNull();
    expect(fetch).toHaveBeenCalledTimes(1);
    // Another origin, or a scheme that is not the server's: refused before any request.
    for (const url of ["https://elsewhere.test/a.jpg", "//elsewhere.test/a.jpg", "http://kvits.test.evil/a.jpg"]) {
      expect(await runtime.loadImage({ file_ref: null, url } as ImageRef)).toBeNull();
    }
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(error).toHaveBeenCalled();
    const written = JSON.stringify(error.mock.calls, (_k, v) => (v instanceof Error ? String(v) : v));
    expect(written).not.toContain("kvt_secret");
    error.mockRestore();
  });

  it("reports a refused event instead of throwing", () => {
    const bridge: Bridge = {
      update: () => {
        throw new Error("update: the event cannot be read");
      },
      resolve: () => requests(),
      view: () => new Uint8Array(),
    };
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const runtime = new Runtime(bridge, effects({}), () => ({}) as ViewModel);
    expect(() => runtime.dispatch({ kind: "Sync", value: { kind: "Now" } })).not.toThrow();
    expect(error).toHaveBeenCalled();
    error.mockRestore();
  });
});

function uploadRequestBytes(): Uint8Array {
  const request = new UploadRequest("http://kvits.test", "t", "photo/a.jpg", "a".repeat(64), 10n, "image/jpeg");
  return requests([9, { kind: "Upload", value: request }]);
}
