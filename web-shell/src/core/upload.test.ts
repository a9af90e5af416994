import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { initSync } from "../generated/wasm/kvits_web";
import { uploadPhoto, type UploadOptions } from "./upload";
import { UploadRequest, type UploadUpdate } from "../generated/types/shared_types";

// The protocol is the wasm `UploadMachine`: load the module the build wrote.
beforeAll(() => {
  initSync({ module: readFileSync(new URL("../generated/wasm/kvits_web_bg.wasm", import.meta.url)) });
});

const ID = "0b3a8e36-5a5c-4a52-9a9e-6c0b8e0e1f01";

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

function photo(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

/**
 * A fake of the server's upload protocol (sync-server/src/uploads.rs): one upload per hash,
 * PATCH at the right offset with a good checksum appends, 409 with the right offset otherwise.
 */
class FakeServer {
  received = new Uint8Array(0);
  offset = 0;
  stored = false;
  token = "good";
  calls: string[] = [];
  /** Answers that go missing (thrown as a network failure) before reaching the server. */
  dropNext = 0;
  /** The next PATCH answers 409 with this offset, once (another, cut call got further). */
  conflictOnce: number | null = null;
  conflictInBodyOnly = false;
  /** The next PATCHes arrive damaged (460). */
  damageNext = 0;
  /** The upload exists: PATCH and HEAD answer 404 otherwise (expired and swept). */
  open = false;

  constructor(readonly length: number) {}

  fetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const method = init?.method ?? "GET";
    const headers = new Headers(init?.headers);
    this.calls.push(`${method} ${url.pathname}`);
    if (this.dropNext > 0) {
      this.dropNext--;
      throw new TypeError("Failed to fetch");
    }
    if (headers.get("authorization") !== `Bearer ${this.token}`) {
      return Response.json({ code: "unauthorized", message: "the session has ended" }, { status: 401 });
    }
    expect(headers.get("kvits-protocol")).toBe("1");
    if (method === "POST" && url.pathname === "/v1/uploads") {
      expect(headers.get("upload-length")).toBe(String(this.length));
      if (!this.stored) this.open = true;
      return Response.json(
        {
          upload_id: ID,
          sha256: headers.get("upload-sha256"),
          offset: this.offset,
          length: this.length,
          complete: this.stored,
        },
        { status: this.offset === 0 ? 201 : 200 },
      );
    }
    if (method === "HEAD" && url.pathname === `/v1/uploads/${ID}` && this.open) {
      return new Response(null, { status: 200, headers: { "upload-offset": String(this.offset) } });
    }
    if (method === "PATCH" && url.pathname === `/v1/uploads/${ID}` && this.open) {
      const chunk = init?.body as Uint8Array;
      if (this.damageNext > 0) {
        this.damageNext--;
        return new Response(null, { status: 460, headers: { "upload-offset": String(this.offset) } });
      }
      const at = Number(headers.get("upload-offset"));
      if (this.conflictOnce !== null) {
        this.offset = this.conflictOnce;
        this.received = this.fullPhoto!.slice(0, this.offset);
        this.conflictOnce = null;
        const body = { code: "offset_mismatch", message: "wrong offset", details: { offset: this.offset } };
        return this.conflictInBodyOnly
          ? Response.json(body, { status: 409 })
          : Response.json(body, { status: 409, headers: { "upload-offset": String(this.offset) } });
      }
      if (at !== this.offset) {
        return Response.json(
          { code: "offset_mismatch", message: "wrong offset" },
          { status: 409, headers: { "upload-offset": String(this.offset) } },
        );
      }
      const digest = await crypto.subtle.digest("SHA-256", chunk as BufferSource);
      const expected = `sha256 ${btoa(String.fromCharCode(...new Uint8Array(digest)))}`;
      if (headers.get("upload-checksum") !== expected) return new Response(null, { status: 460 });
      const next = new Uint8Array(this.received.length + chunk.length);
      next.set(this.received);
      next.set(chunk, this.received.length);
      this.received = next;
      this.offset += chunk.length;
      if (this.offset === this.length) {
        this.stored = true;
        this.open = false;
      }
      return new Response(null, { status: 204, headers: { "upload-offset": String(this.offset) } });
    }
    return Response.json({ code: "not_found", message: "no such route" }, { status: 404 });
  };

  fullPhoto: Uint8Array | null = null;
}

async function setup(size: number, chunkSize = 1000) {
  const bytes = photo(size);
  const sha = await sha256Hex(bytes);
  const server = new FakeServer(size);
  server.fullPhoto = bytes;
  const request = new UploadRequest("http://kvits.test/", "good", "photo/x.jpg", sha, BigInt(size), "image/jpeg");
  const options: UploadOptions = {
    fetch: (input, init) => server.fetch(input, init),
    getBlob: async (ref) => (ref === "photo/x.jpg" ? new Blob([bytes as BlobPart]) : null),
    chunkSize,
  };
  const progress: [number, number][] = [];
  const run = (r: UploadRequest = request): Promise<UploadUpdate> =>
    uploadPhoto(r, options, (sent, total) => progress.push([sent, total]));
  return { bytes, sha, server, request, options, progress, run };
}

describe("Upload", () => {
  it("sends the photo in chunks, reporting progress, and is Done", async () => {
    const { bytes, server, progress, run } = await setup(2500);
    expect(await run()).toEqual({ kind: "Done" });
    expect(server.received).toEqual(bytes);
    expect(progress).toEqual([
      [0, 2500],
      [1000, 2500],
      [2000, 2500],
      [2500, 2500],
    ]);
    expect(server.calls.filter((c) => c.startsWith("PATCH"))).toHaveLength(3);
  });

  it("is Done at once when the server already holds the photo", async () => {
    const { server, progress, run } = await setup(1500);
    server.stored = true;
    server.offset = 1500;
    expect(await run()).toEqual({ kind: "Done" });
    expect(progress).toEqual([[1500, 1500]]);
    expect(server.calls).toEqual(["POST /v1/uploads"]);
  });

  it("resumes from the server's offset after a cut connection", async () => {
    const { bytes, server, progress, run } = await setup(3000);
    server.dropNext = 0;
    // The first call gets one chunk through, then the network goes.
    const originalFetch = server.fetch;
    let patches = 0;
    server.fetch = async (input, init) => {
      if (init?.method === "PATCH" && ++patches === 2) throw new TypeError("Failed to fetch");
      return originalFetch(input, init);
    };
    const first = await run();
    expect(first.kind).toBe("Failed");
    if (first.kind === "Failed") expect(first.value.kind.kind).toBe("Transient");
    expect(server.offset).toBe(1000);
    server.fetch = originalFetch;
    progress.length = 0;
    expect(await run()).toEqual({ kind: "Done" });
    expect(progress[0]).toEqual([1000, 3000]);
    expect(server.received).toEqual(bytes);
  });

  it("continues at the offset a 409 names (header or body)", async () => {
    for (const inBodyOnly of [false, true]) {
      const { bytes, server, progress, run } = await setup(3000);
      server.conflictOnce = 2000;
      server.conflictInBodyOnly = inBodyOnly;
      expect(await run()).toEqual({ kind: "Done" });
      expect(server.received).toEqual(bytes);
      expect(progress).toContainEqual([2000, 3000]);
      expect(progress.at(-1)).toEqual([3000, 3000]);
    }
  });

  it("sends a damaged chunk again, and gives up when it keeps arriving damaged", async () => {
    const { bytes, server, run } = await setup(2000);
    server.damageNext = 1;
    expect(await run()).toEqual({ kind: "Done" });
    expect(server.received).toEqual(bytes);

    const again = await setup(2000);
    again.server.damageNext = 100;
    const result = await again.run();
    expect(result.kind === "Failed" && result.value.kind.kind).toBe("Transient");
    expect(result.kind === "Failed" && result.value.message).toMatch(/damaged 3 times/);
    expect(again.server.calls.filter((c) => c.startsWith("PATCH"))).toHaveLength(3);
  });

  it("starts over when the upload expired on the server", async () => {
    const { bytes, server, run } = await setup(3000);
    const originalFetch = server.fetch;
    let patches = 0;
    server.fetch = async (input, init) => {
      if (init?.method === "PATCH" && ++patches === 2) {
        // swept: the server forgot the upload and its bytes
        server.open = false;
        server.offset = 0;
        server.received = new Uint8Array(0);
      }
      return originalFetch(input, init);
    };
    expect(await run()).toEqual({ kind: "Done" });
    expect(server.received).toEqual(bytes);
    expect(server.calls.filter((c) => c === "POST /v1/uploads")).toHaveLength(2);
  });

  it("stops after maxChunks and resumes from there", async () => {
    const { bytes, server, options, request, progress } = await setup(3000);
    const first = await uploadPhoto(request, { ...options, maxChunks: 2 }, () => undefined);
    expect(first.kind === "Failed" && first.value.message).toMatch(/stopped after 2/);
    expect(server.offset).toBe(2000);
    expect(await uploadPhoto(request, options, (s, t) => progress.push([s, t]))).toEqual({ kind: "Done" });
    expect(progress[0]).toEqual([2000, 3000]);
    expect(server.received).toEqual(bytes);
  });

  it("fails, never throws, on requests that cannot be right", async () => {
    const { request, options } = await setup(1000);
    const cases: [UploadRequest, string][] = [
      [new UploadRequest("not a url", "good", request.file_ref, request.sha256, 1000n, "image/jpeg"), "Transient"],
      [new UploadRequest(request.server_url, "", request.file_ref, request.sha256, 1000n, "image/jpeg"), "Unauthorized"],
      [new UploadRequest(request.server_url, "good", request.file_ref, "XYZ", 1000n, "image/jpeg"), "Refused"],
      [new UploadRequest(request.server_url, "good", request.file_ref, request.sha256, 0n, "image/jpeg"), "Refused"],
      [new UploadRequest(request.server_url, "good", request.file_ref, request.sha256, -1n, "image/jpeg"), "Transient"],
    ];
    for (const [r, kind] of cases) {
      const result = await uploadPhoto(r, options, () => undefined);
      expect(result.kind === "Failed" && result.value.kind.kind, JSON.stringify(r.server_url + r.size)).toBe(kind);
    }
  });

  it("fails Unauthorized on a 401 with the server's message", async () => {
    const { server, run } = await setup(1000);
    server.token = "other";
    expect(await run()).toEqual({
      kind: "Failed",
      value: { kind: { kind: "Unauthorized" }, message: "the session has ended" },
    });
  });

  it("fails FileMissing when the blob is gone, Refused when it changed", async () => {
    const { request, run } = await setup(1000);
    const gone = new UploadRequest(request.server_url, "good", "photo/none.jpg", request.sha256, 1000n, "image/jpeg");
    const missing = await run(gone);
    expect(missing.kind === "Failed" && missing.value.kind.kind).toBe("FileMissing");
    const wrongHash = new UploadRequest(request.server_url, "good", "photo/x.jpg", "0".repeat(64), 1000n, "image/jpeg");
    const changed = await run(wrongHash);
    expect(changed.kind === "Failed" && changed.value.kind.kind).toBe("Refused");
    expect(changed.kind === "Failed" && changed.value.message).toMatch(/changed/);
  });

  it("maps server answers like the native runtime", async () => {
    const cases: [number, string][] = [
      [500, "Transient"],
      [503, "Transient"],
      [429, "Transient"],
      [426, "Transient"],
      [404, "Transient"],
      [413, "Refused"],
      [422, "Refused"],
    ];
    for (const [status, kind] of cases) {
      const { options, request } = await setup(1000);
      const result = await uploadPhoto(
        request,
        { ...options, fetch: async () => Response.json({ code: "x", message: `said ${status}` }, { status }) },
        () => undefined,
      );
      expect(result.kind === "Failed" && result.value.kind.kind, `status ${status}`).toBe(kind);
      expect(result.kind === "Failed" && result.value.message).toMatch(`said ${status}`);
    }
  });

  it("fails Transient when offline", async () => {
    const { server, run } = await setup(1000);
    server.dropNext = 1;
    const result = await run();
    expect(result.kind === "Failed" && result.value.kind.kind).toBe("Transient");
    expect(result.kind === "Failed" && result.value.message).toMatch(/could not reach the server/);
  });
});
