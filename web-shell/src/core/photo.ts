// The `ProcessPhoto` effect on the web: the picked photo (a blob in IndexedDB) goes through the
// wasm pipeline in a Web Worker; the receipt image and its thumbnail are stored as blobs named
// by hash (like the native runtime's files) before the core hears of them.

import type { PhotoAnswer, PhotoJob } from "../worker/messages";
import {
  PhotoError,
  ProcessedPhoto,
  type ProcessPhotoRequest,
  type ProcessPhotoResponse,
} from "../generated/types/shared_types";

/** Runs one photo through the pipeline. */
export type RunPipeline = (job: Omit<PhotoJob, "id">) => Promise<PhotoAnswer>;

export interface BlobStore {
  getBlob(key: string): Promise<Blob | null>;
  putBlobs(entries: [string, Blob][]): Promise<void>;
}

export const imageRef = (sha256: string) => `photo/${sha256}.jpg`;
export const thumbnailRef = (sha256: string) => `photo/${sha256}.thumb.jpg`;

const failed = (code: string, message: string): ProcessPhotoResponse => ({
  kind: "Failed",
  value: new PhotoError(code, message),
});

export async function processPhoto(
  request: ProcessPhotoRequest,
  blobs: BlobStore,
  pipeline: RunPipeline,
): Promise<ProcessPhotoResponse> {
  let source: Blob | null;
  try {
    source = await blobs.getBlob(request.source);
  } catch (e) {
    return failed("io", `the photo cannot be read: ${String(e)}`);
  }
  if (source === null) {
    return failed("io", "the photo cannot be read: it is no longer stored in this browser");
  }
  let answer: PhotoAnswer;
  try {
    answer = await pipeline({
      source,
      colour: request.mode.kind === "Colour",
      longReceipt: request.long_receipt,
    });
  } catch (e) {
    return failed("internal", `the photo could not be processed: ${String(e)}`);
  }
  if (!answer.ok) return failed(answer.code, answer.message);
  const file_ref = imageRef(answer.sha256);
  const thumbnail_ref = thumbnailRef(answer.sha256);
  try {
    await blobs.putBlobs([
      [file_ref, new Blob([answer.image as BlobPart], { type: "image/jpeg" })],
      [thumbnail_ref, new Blob([answer.thumbnail as BlobPart], { type: "image/jpeg" })],
    ]);
  } catch (e) {
    const full = (e as { name?: string } | null)?.name === "QuotaExceededError";
    return failed(full ? "full" : "io", `the photo cannot be saved: ${String(e)}`);
  }
  return {
    kind: "Processed",
    value: new ProcessedPhoto(
      file_ref,
      answer.sha256,
      BigInt(answer.image.length),
      answer.width,
      answer.height,
      "image/jpeg",
      thumbnail_ref,
      answer.takenOn,
    ),
  };
}

/** The photo worker, started lazily, restarted after a fatal failure. One job at a time. */
export class PhotoWorker {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, (a: PhotoAnswer) => void>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly create: () => Worker) {}

  readonly run: RunPipeline = (job) => {
    const next = this.queue.then(() => this.runNow(job));
    this.queue = next.catch(() => undefined);
    return next;
  };

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = this.create();
    worker.onmessage = (event: MessageEvent<PhotoAnswer>) => {
      const answer = event.data;
      const reply = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      if (!answer.ok && answer.fatal) this.restart();
      reply?.(answer);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      this.failAll(`the photo worker failed: ${event.message || "unknown error"}`);
    };
    this.worker = worker;
    return worker;
  }

  private restart(): void {
    this.worker?.terminate();
    this.worker = null;
  }

  private failAll(message: string): void {
    this.restart();
    for (const [id, reply] of this.waiting) reply({ id, ok: false, code: "internal", message });
    this.waiting.clear();
  }

  private runNow(job: Omit<PhotoJob, "id">): Promise<PhotoAnswer> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      try {
        this.start().postMessage({ ...job, id } satisfies PhotoJob);
      } catch (e) {
        this.waiting.delete(id);
        resolve({ id, ok: false, code: "internal", message: `the photo worker cannot start: ${String(e)}` });
      }
    });
  }
}
