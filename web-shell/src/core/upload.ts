// The `Upload` effect on the web: one receipt photo to the sync server, resumably, with
// progress — the same protocol and error mapping as the native runtime
// (shared/native/src/upload.rs; server side sync-server/src/uploads.rs):
//
// 1. the local blob must exist (else `FileMissing`), have the stated size and SHA-256 (else
//    `Refused`: "the photo file changed");
// 2. `POST /v1/uploads` with `upload-length` and `upload-sha256`: `complete` (this user holds
//    the blob already: done) or the id and offset of this user's upload — which is how an upload
//    survives a reload: the next call continues from the server's offset;
// 3. `PATCH /v1/uploads/{id}` chunk by chunk with `upload-offset`, `upload-checksum: sha256
//    <base64>`: 204 carries the new offset, 409 the right one (continue there; from the header,
//    the body's `details.offset`, or a HEAD), 460 a damaged chunk (sent again a few times), 404
//    a vanished upload (start over at 2).
//
// Errors: no connection, a timeout, 5xx, 404/405/408/425/426/429 → `Transient`; 401 →
// `Unauthorized`; any other 4xx → `Refused` with the server's message.

import {
  UploadError,
  type UploadRequest,
  type UploadUpdate,
} from "../generated/types/shared_types";
import { TimedOut, withTimeout } from "./timeout";

export const PROTOCOL_HEADER = "kvits-protocol";
export const PROTOCOL_VERSION = "1";
export const DEFAULT_CHUNK_SIZE = 256 * 1024;
export const DEFAULT_CHUNK_TIMEOUT_MS = 120_000;
export const REQUEST_TIMEOUT_MS = 60_000;
export const MAX_BLOB_BYTES = 25 * 1024 * 1024;
export const MAX_CHUNK_BYTES = 8 * 1024 * 1024;
const CHECKSUM_MISMATCH_STATUS = 460;
const CHECKSUM_ATTEMPTS = 3;
const MAX_STALLS = 8;
const MAX_RESTARTS = 3;

export interface UploadOptions {
  fetch?: typeof fetch;
  /** The photo behind a `file_ref`, or null when it is gone. */
  getBlob: (fileRef: string) => Promise<Blob | null>;
  chunkSize?: number;
  chunkTimeoutMs?: number;
  requestTimeoutMs?: number;
}

class Failure extends Error {
  constructor(readonly error: UploadError) {
    super(error.message);
  }
}

const fail = (kind: UploadError["kind"]["kind"], message: string): Failure =>
  new Failure(new UploadError({ kind } as UploadError["kind"], message));
const transient = (m: string) => fail("Transient", m);
const refused = (m: string) => fail("Refused", m);

function toHex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function toBase64(buffer: ArrayBuffer): string {
  let s = "";
  for (const b of new Uint8Array(buffer)) s += String.fromCharCode(b);
  return btoa(s);
}

export const isSha256Hex = (s: string): boolean => /^[0-9a-f]{64}$/.test(s);

/** The `message` of a `{code, message}` body, or a short plain-text body. */
async function serverMessage(response: Response): Promise<string | null> {
  let text: string;
  try {
    text = (await response.text()).slice(0, 64 * 1024);
  } catch {
    return null;
  }
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body?.message === "string") return body.message;
  } catch {
    // not JSON
  }
  const trimmed = text.trim();
  if (trimmed === "" || trimmed.startsWith("<")) return null;
  return trimmed.slice(0, 200);
}

async function refusal(response: Response): Promise<Failure> {
  const status = response.status;
  const said = await serverMessage(response);
  const withSaid = (prefix: string) => (said ? `${prefix}: ${said}` : prefix);
  const label = `${status}${response.statusText ? ` ${response.statusText}` : ""}`;
  if (status === 401) return fail("Unauthorized", said ?? "sign in again");
  if ([404, 405, 408, 425, 426, 429].includes(status)) {
    return transient(withSaid(`the server said ${label}`));
  }
  if (status >= 400 && status < 500) return refused(said ?? `the server refused it (${label})`);
  if (status >= 500 && status < 600) return transient(withSaid(`the server failed (${label})`));
  return transient(withSaid(`unexpected answer from the server (${label})`));
}

function headerNumber(response: Response, name: string): number | null {
  const v = response.headers.get(name);
  if (v === null || !/^\s*\d+\s*$/.test(v)) return null;
  return Number(v.trim());
}

/**
 * Uploads `request.file_ref` (a blob key) to `request.server_url`, calling `progress(sent, total)`
 * whenever the server acknowledges bytes. Answers the final update, `Done` or `Failed`; it never
 * throws.
 */
export async function uploadPhoto(
  request: UploadRequest,
  options: UploadOptions,
  progress: (sent: number, total: number) => void,
): Promise<UploadUpdate> {
  try {
    await new Upload(request, options).run(progress);
    return { kind: "Done" };
  } catch (e) {
    if (e instanceof Failure) return { kind: "Failed", value: e.error };
    return {
      kind: "Failed",
      value: new UploadError({ kind: "Transient" }, `the upload failed: ${String(e)}`),
    };
  }
}

class Upload {
  private readonly fetch: typeof fetch;
  private readonly base: string;
  private readonly size: number;
  private readonly chunkSize: number;

  constructor(
    private readonly request: UploadRequest,
    private readonly options: UploadOptions,
  ) {
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.base = request.server_url.replace(/\/+$/, "");
    this.size = Number(request.size);
    this.chunkSize = Math.min(Math.max(options.chunkSize ?? DEFAULT_CHUNK_SIZE, 1), MAX_CHUNK_BYTES);
  }

  async run(progress: (sent: number, total: number) => void): Promise<void> {
    const { size } = this;
    const sha256 = this.request.sha256;
    try {
      new URL(this.base);
    } catch {
      throw transient(`the server address ${JSON.stringify(this.request.server_url)} is not a URL`);
    }
    if (!isSha256Hex(sha256)) throw refused(`the photo's SHA-256 ${JSON.stringify(sha256)} is not lower-case hex`);
    if (size === 0) throw refused("the photo file is empty");
    if (size > MAX_BLOB_BYTES) {
      throw refused(`the photo is ${size} bytes; the server takes at most ${MAX_BLOB_BYTES}`);
    }
    if (/[\r\n]/.test(this.request.token) || this.request.token === "") {
      throw fail("Unauthorized", "the session token is not valid; sign in again");
    }
    const blob = await this.checkedBlob();

    for (let attempt = 0; attempt <= MAX_RESTARTS; attempt++) {
      const start = await this.start();
      if (start === "stored") {
        progress(size, size);
        return;
      }
      progress(start.offset, size);
      if ((await this.send(blob, start.id, start.offset, progress)) === "stored") return;
    }
    throw transient("the server kept losing this upload; it will be tried again");
  }

  private async checkedBlob(): Promise<Blob> {
    const ref = this.request.file_ref;
    let blob: Blob | null;
    try {
      blob = await this.options.getBlob(ref);
    } catch (e) {
      throw transient(`the photo file ${ref} could not be read: ${String(e)}`);
    }
    if (blob === null) throw fail("FileMissing", `the photo file ${ref} is gone`);
    if (blob.size !== this.size) {
      throw refused(`the photo file changed (it has ${blob.size} bytes, ${this.size} were expected)`);
    }
    let digest: ArrayBuffer;
    try {
      digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
    } catch (e) {
      throw transient(`the photo file ${ref} could not be read: ${String(e)}`);
    }
    if (toHex(digest) !== this.request.sha256) {
      throw refused("the photo file changed (its content is not the one taken)");
    }
    return blob;
  }

  private async call(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: Uint8Array<ArrayBuffer>,
    timeoutMs = this.options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
  ): Promise<Response> {
    try {
      return await withTimeout(timeoutMs, (signal) =>
        this.fetch(`${this.base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${this.request.token}`,
            [PROTOCOL_HEADER]: PROTOCOL_VERSION,
            ...headers,
          },
          body,
          signal,
          cache: "no-store",
          credentials: "omit",
        }),
      );
    } catch (e) {
      if (e instanceof TimedOut) throw transient("the server did not answer in time");
      const detail = e instanceof Error ? e.message : String(e);
      throw transient(`could not reach the server: ${detail}`);
    }
  }

  /** `POST /v1/uploads`: stored already, or where to continue. */
  private async start(): Promise<"stored" | { id: string; offset: number }> {
    const response = await this.call("POST", "/v1/uploads", {
      "upload-length": String(this.size),
      "upload-sha256": this.request.sha256,
    });
    if (response.status !== 200 && response.status !== 201) throw await refusal(response);
    let status: { upload_id?: unknown; offset?: unknown; length?: unknown; complete?: unknown };
    try {
      status = JSON.parse(await response.text());
    } catch (e) {
      throw transient(`the server's answer to starting the upload is not understood: ${String(e)}`);
    }
    if (status.complete === true) return "stored";
    const { upload_id: id, offset, length } = status;
    if (typeof id !== "string" || typeof offset !== "number" || typeof length !== "number") {
      throw transient("the server's answer to starting the upload is not understood");
    }
    if (length !== this.size || offset >= this.size || offset < 0) {
      throw transient(
        `the server describes the upload as ${offset} of ${length} bytes; the photo has ${this.size}`,
      );
    }
    return { id, offset };
  }

  /** `HEAD /v1/uploads/{id}`: the offset, or null if the upload is gone. */
  private async offsetOf(id: string): Promise<number | null> {
    const response = await this.call("HEAD", `/v1/uploads/${encodeURIComponent(id)}`, {});
    if (response.status === 200) {
      const o = headerNumber(response, "upload-offset");
      if (o === null) throw transient("the server did not say where the upload stands");
      return o;
    }
    if (response.status === 404) return null;
    throw await refusal(response);
  }

  /** `PATCH`es chunks from `offset` until the server has stored the blob. */
  private async send(
    blob: Blob,
    id: string,
    offset: number,
    progress: (sent: number, total: number) => void,
  ): Promise<"stored" | "vanished"> {
    const { size } = this;
    const path = `/v1/uploads/${encodeURIComponent(id)}`;
    let best = offset;
    let stalls = 0;
    let damaged = 0;
    for (;;) {
      if (offset >= size) {
        throw transient(`the server holds all ${size} bytes of the upload but has not stored it`);
      }
      const len = Math.min(this.chunkSize, size - offset);
      let chunk: Uint8Array<ArrayBuffer>;
      try {
        chunk = new Uint8Array(await blob.slice(offset, offset + len).arrayBuffer());
      } catch (e) {
        throw transient(`the photo file could not be read: ${String(e)}`);
      }
      if (chunk.length !== len) {
        throw refused("the photo file changed (it became shorter during the upload)");
      }
      const checksum = `sha256 ${toBase64(await crypto.subtle.digest("SHA-256", chunk))}`;
      const response = await this.call(
        "PATCH",
        path,
        {
          "content-type": "application/offset+octet-stream",
          "upload-offset": String(offset),
          "upload-checksum": checksum,
        },
        chunk,
        this.options.chunkTimeoutMs ?? DEFAULT_CHUNK_TIMEOUT_MS,
      );
      const stated = headerNumber(response, "upload-offset");
      switch (response.status) {
        case 200:
        case 204: {
          if (stated !== null && stated > size) {
            throw transient(`the server acknowledged byte ${stated} of a ${size}-byte photo`);
          }
          offset = stated ?? offset + len;
          damaged = 0;
          progress(offset, size);
          if (offset === size) return "stored";
          break;
        }
        case 409: {
          let right = stated;
          if (right === null) right = await offsetOfBody(response);
          if (right === null) right = await this.offsetOf(id);
          if (right === null) return "vanished";
          if (right > size) {
            throw transient(`the server expects byte ${right} of a ${size}-byte photo`);
          }
          offset = right;
          progress(offset, size);
          break;
        }
        case CHECKSUM_MISMATCH_STATUS: {
          damaged += 1;
          if (damaged >= CHECKSUM_ATTEMPTS) {
            throw transient(`a chunk arrived damaged ${damaged} times in a row (a bad network?)`);
          }
          if (stated !== null && stated !== offset && stated < size) {
            offset = stated;
            progress(offset, size);
          }
          break;
        }
        case 404:
          return "vanished";
        default:
          throw await refusal(response);
      }
      if (offset > best) {
        best = offset;
        stalls = 0;
      } else {
        stalls += 1;
        if (stalls >= MAX_STALLS) {
          throw transient(`the upload made no progress in ${stalls} tries, at byte ${offset}`);
        }
      }
    }
  }
}

/** `details.offset` of a 409 body. */
async function offsetOfBody(response: Response): Promise<number | null> {
  try {
    const body = JSON.parse(await response.text()) as { details?: { offset?: unknown } };
    const o = body?.details?.offset;
    return typeof o === "number" && Number.isInteger(o) && o >= 0 ? o : null;
  } catch {
    return null;
  }
}
