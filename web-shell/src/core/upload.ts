// The `Upload` effect on the web: one receipt photo to the sync server, resumably, with
// progress. The protocol — which request comes next, what each answer means, the local file's
// check and the error mapping — is the Rust state machine `kvits_upload::Upload` (the one the
// native runtime drives), reached through the wasm bridge as `UploadMachine`
// (shared/web/src/upload.rs). This file keeps only the transport: `fetch` with a timeout and
// abort, Blob slices for the hash and the chunks, the body of an answer read up to a limit.

import { UploadMachine } from "../generated/wasm/kvits_web";
import { UploadError, type UploadRequest, type UploadUpdate } from "../generated/types/shared_types";
import { TimedOut, withTimeout } from "./timeout";

export const DEFAULT_CHUNK_SIZE = 256 * 1024;
export const DEFAULT_CHUNK_TIMEOUT_MS = 120_000;
export const REQUEST_TIMEOUT_MS = 60_000;
/** Bytes of the photo hashed per slice (never the whole file in memory). */
const HASH_SLICE = 1024 * 1024;
/** Bytes of an answer's body the machine reads (kvits_upload::MAX_ANSWER_BODY). */
const MAX_ANSWER_BODY = 64 * 1024;

export interface UploadOptions {
  fetch?: typeof fetch;
  /** The photo behind a `file_ref`, or null when it is gone. */
  getBlob: (fileRef: string) => Promise<Blob | null>;
  chunkSize?: number;
  /** Stop after this many chunks (a cut connection on demand, for tests). */
  maxChunks?: number;
  chunkTimeoutMs?: number;
  requestTimeoutMs?: number;
}

const failed = (kind: string, message: string): UploadUpdate => ({
  kind: "Failed",
  value: new UploadError({ kind } as UploadError["kind"], message),
});

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
  let machine: UploadMachine;
  try {
    machine = new UploadMachine(
      request.server_url,
      request.token,
      request.sha256,
      Number(request.size),
      options.chunkSize ?? DEFAULT_CHUNK_SIZE,
      options.maxChunks,
    );
  } catch (e) {
    return failed("Transient", `the upload could not start: ${String(e)}`);
  }
  try {
    return await drive(machine, request.file_ref, options, progress);
  } catch (e) {
    return failed("Transient", `the upload failed: ${String(e)}`);
  } finally {
    machine.free();
  }
}

/** Does what the machine asks until it ends. */
async function drive(
  machine: UploadMachine,
  fileRef: string,
  options: UploadOptions,
  progress: (sent: number, total: number) => void,
): Promise<UploadUpdate> {
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  let blob: Blob | null = null;
  let chunk = new Uint8Array(0);
  for (;;) {
    const step = machine.next();
    const { kind } = step;
    switch (kind) {
      case "check_file":
        blob = await checkFile(machine, fileRef, options.getBlob);
        break;
      case "progress":
        progress(step.sent, step.total);
        break;
      case "read_chunk": {
        const read = await readSlice(blob, step.offset, step.length);
        if (typeof read === "string") machine.fileUnreadable(read);
        else machine.chunk((chunk = read));
        break;
      }
      case "send": {
        const timeoutMs = step.chunk
          ? (options.chunkTimeoutMs ?? DEFAULT_CHUNK_TIMEOUT_MS)
          : (options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS);
        const headers: Record<string, string> = {};
        for (let i = 0; i + 1 < step.headers.length; i += 2) headers[step.headers[i]] = step.headers[i + 1];
        const init: RequestInit = {
          method: step.method,
          headers,
          body: step.chunk ? chunk : undefined,
          cache: "no-store",
          credentials: "omit",
        };
        const answer = await send(fetchFn, step.url, init, timeoutMs);
        if (typeof answer === "string") machine.noAnswer(answer);
        else machine.answer(answer.status, answer.offset, answer.retryAfter, answer.body);
        break;
      }
      case "done":
        step.free();
        return { kind: "Done" };
      case "failed": {
        const update = failed(step.error_kind, step.message);
        step.free();
        return update;
      }
      default:
        step.free();
        throw new Error(`unknown upload step ${kind}`);
    }
    step.free();
  }
}

/** Tells the machine about the photo: there or not, its size, its bytes slice by slice. */
async function checkFile(
  machine: UploadMachine,
  fileRef: string,
  getBlob: UploadOptions["getBlob"],
): Promise<Blob | null> {
  let blob: Blob | null;
  try {
    blob = await getBlob(fileRef);
  } catch (e) {
    machine.fileUnreadable(`${fileRef}: ${String(e)}`);
    return null;
  }
  if (blob === null) {
    machine.fileMissing(fileRef);
    return null;
  }
  machine.fileSize(blob.size);
  if (machine.ended()) return null;
  for (let at = 0; at < blob.size; at += HASH_SLICE) {
    const read = await readSlice(blob, at, HASH_SLICE);
    if (typeof read === "string") {
      machine.fileUnreadable(read);
      return null;
    }
    machine.fileBytes(read);
  }
  machine.fileEnd();
  return blob;
}

/** Bytes `offset..offset + length` of the blob (fewer where it ends), or why not. */
async function readSlice(blob: Blob | null, offset: number, length: number): Promise<Uint8Array<ArrayBuffer> | string> {
  if (blob === null) return "the photo file is not open";
  try {
    return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
  } catch (e) {
    return String(e);
  }
}

interface Answer {
  status: number;
  offset: string | null;
  retryAfter: string | null;
  body: Uint8Array;
}

/** One request with its deadline: the answer, or a sentence saying why there is none. */
async function send(fetchFn: typeof fetch, url: string, init: RequestInit, timeoutMs: number): Promise<Answer | string> {
  try {
    return await withTimeout(timeoutMs, async (signal) => {
      const response = await fetchFn(url, { ...init, signal });
      return {
        status: response.status,
        offset: response.headers.get("upload-offset"),
        retryAfter: response.headers.get("retry-after"),
        body: await readLimited(response, MAX_ANSWER_BODY),
      };
    });
  } catch (e) {
    if (e instanceof TimedOut) return "the server did not answer in time";
    const detail = e instanceof Error ? e.message : String(e);
    return `could not reach the server: ${detail}`;
  }
}

/** At most `limit` bytes of a body; the rest is not read. */
async function readLimited(response: Response, limit: number): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  while (length < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    length += value.length;
  }
  if (length >= limit) void reader.cancel().catch(() => undefined);
  const out = new Uint8Array(Math.min(length, limit));
  let at = 0;
  for (const part of parts) {
    const take = part.subarray(0, out.length - at);
    out.set(take, at);
    at += take.length;
  }
  return out;
}
