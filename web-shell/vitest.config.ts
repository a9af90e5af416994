import { defineConfig } from "vitest/config";

// Unit tests of the effect handlers (src/**/*.test.ts); the browser tests have their own
// config in tests/e2e (`npm run e2e`).
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
