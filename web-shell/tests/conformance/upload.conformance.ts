// Every case of tests/conformance (the Rust crate kvits-conformance) played by the web shell's
// upload driver, as tests/conformance/tests/native.rs plays them with the native one: the
// harness arms each run's faults, the driver uploads, the harness checks what it reports.

import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { initSync } from "../../src/generated/wasm/kvits_web";
import { UploadRequest } from "../../src/generated/types/shared_types";
import { uploadPhoto } from "../../src/core/upload";

const harness = process.env.KVITS_CONFORMANCE;

interface Plan {
  case: string;
  about: string;
  server_url: string;
  token: string;
  sha256: string;
  size: number;
  chunk_size: number;
  runs: { max_chunks: number | null }[];
}

/** Calls the harness; a refusal (a failed check) fails the test with the harness's reasons. */
async function call(method: string, path: string, body?: unknown): Promise<Response> {
  const response = await fetch(`${harness}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response;
}

beforeAll(() => {
  if (!harness) throw new Error("KVITS_CONFORMANCE is not set: run these through `cargo xtask web test`");
  initSync({ module: readFileSync(new URL("../../src/generated/wasm/kvits_web_bg.wasm", import.meta.url)) });
});

describe("the upload's conformance cases through the web driver", () => {
  it("plays every case", async () => {
    const names = (await (await call("GET", "/cases")).json()) as string[];
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) {
      const plan = (await (await call("POST", `/cases/${name}/begin`)).json()) as Plan;
      const photo = new Blob([await (await call("GET", "/photo")).arrayBuffer()], { type: "image/jpeg" });
      const request = new UploadRequest(
        plan.server_url,
        plan.token,
        `photo-${name}`,
        plan.sha256,
        BigInt(plan.size),
        "image/jpeg",
      );
      for (const [n, run] of plan.runs.entries()) {
        await call("POST", `/runs/${n}/arm`);
        const progress: [number, number][] = [];
        const update = await uploadPhoto(
          request,
          {
            getBlob: async (ref) => (ref === request.file_ref ? photo : null),
            chunkSize: plan.chunk_size,
            maxChunks: run.max_chunks ?? undefined,
          },
          (sent, total) => progress.push([sent, total]),
        );
        const report =
          update.kind === "Failed"
            ? { outcome: "Failed", error_kind: update.value.kind.kind, message: update.value.message, progress }
            : { outcome: update.kind, error_kind: null, message: "", progress };
        await call("POST", `/runs/${n}/report`, report);
      }
      await call("POST", "/end");
    }
  });
});
