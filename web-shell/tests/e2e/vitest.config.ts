// Browser tests: Debian's Chromium driven by playwright-core against a real sync server with the
// demo data (`cargo xtask web test` starts it and sets KVITS_URL, KVITS_FIXTURES,
// KVITS_SCREENSHOTS). Files run one after another: they share one server and its data.

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/e2e/**/*.e2e.ts"],
    environment: "node",
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    sequence: { concurrent: false, shuffle: false },
    // One browser per file; a failing step fails the whole scenario, later steps skip.
    bail: 0,
    reporters: ["verbose"],
  },
});
