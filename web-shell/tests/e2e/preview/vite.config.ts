// Serves the screens preview (see preview.tsx); not used by the app's build.
import { defineConfig } from "vite";

export default defineConfig({
  root: __dirname,
  server: { fs: { allow: [`${__dirname}/../../..`] } },
});
