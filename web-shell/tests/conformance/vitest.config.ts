// The upload's conformance cases through the web shell's driver (src/core/upload.ts and the wasm
// machine), against the real sync server behind the fault proxy of `kvits-upload-conformance`,
// which `cargo xtask web test` starts and names in KVITS_CONFORMANCE.

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/conformance/**/*.conformance.ts"],
    environment: "node",
    testTimeout: 300_000,
    reporters: ["verbose"],
  },
});
