// The photo pipeline (kvits-imaging compiled to wasm) in a Web Worker, so decoding and
// encoding a 12 MP photo never freezes the page. One job at a time; each answer carries the id
// of its job. A file that is not a supported image, or is damaged, is answered with the
// pipeline's typed failure; a trap inside the wasm is answered `internal` + `fatal`, and the
// page starts a fresh worker.

/// <reference lib="webworker" />

import init, { PhotoFailure, processPhoto } from "../generated/wasm/kvits_web";
import wasmUrl from "../generated/wasm/kvits_web_bg.wasm?url";
import type { PhotoAnswer, PhotoJob } from "./messages";

declare const self: DedicatedWorkerGlobalScope;

let ready: Promise<unknown> | null = null;

async function run(job: PhotoJob): Promise<PhotoAnswer> {
  let input: Uint8Array;
  try {
    input = new Uint8Array(await job.source.arrayBuffer());
  } catch (e) {
    return { id: job.id, ok: false, code: "io", message: `the photo cannot be read: ${String(e)}` };
  }
  try {
    ready ??= init({ module_or_path: wasmUrl });
    await ready;
  } catch (e) {
    ready = null;
    return {
      id: job.id,
      ok: false,
      code: "internal",
      message: `the photo tools could not be loaded: ${String(e)}`,
      fatal: true,
    };
  }
  try {
    const out = processPhoto(input, job.colour, job.longReceipt);
    const answer: PhotoAnswer = {
      id: job.id,
      ok: true,
      image: out.image,
      thumbnail: out.thumbnail,
      sha256: out.sha256,
      width: out.width,
      height: out.height,
      takenOn: out.taken_on ?? null,
    };
    out.free();
    return answer;
  } catch (e) {
    if (e instanceof PhotoFailure) {
      const answer: PhotoAnswer = { id: job.id, ok: false, code: e.code, message: e.message };
      e.free();
      return answer;
    }
    return {
      id: job.id,
      ok: false,
      code: "internal",
      message: `the photo could not be processed: ${String(e)}`,
      fatal: true,
    };
  }
}

self.onmessage = (event: MessageEvent<PhotoJob>) => {
  void run(event.data).then((answer) => {
    const transfer = answer.ok ? [answer.image.buffer, answer.thumbnail.buffer] : [];
    self.postMessage(answer, transfer as Transferable[]);
  });
};
