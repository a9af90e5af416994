import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin, type ResolvedConfig } from "vite";

/** Every file under `dir`, as URL paths ("/assets/x.js"). */
function listFiles(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listFiles(path, root);
    return ["/" + relative(root, path).split(sep).join("/")];
  });
}

/**
 * Writes /sw.js (from src/worker/service-worker.js) after the build, listing every built file
 * so that the first visit caches the whole app, versioned by their content.
 */
function serviceWorker(): Plugin {
  let config: ResolvedConfig;
  return {
    name: "kvits-service-worker",
    apply: "build",
    configResolved(c) {
      config = c;
    },
    writeBundle: {
      sequential: true,
      order: "post",
      handler() {
        const outDir = config.build.outDir;
        const files = listFiles(outDir)
          .filter((f) => f !== "/sw.js" && !f.endsWith(".map"))
          .sort();
        const hash = createHash("sha256");
        for (const f of files) hash.update(f).update(readFileSync(join(outDir, f)));
        const template = readFileSync(join(config.root, "src/worker/service-worker.js"), "utf8");
        const script = template
          .replace("__KVITS_VERSION__", hash.digest("hex").slice(0, 16))
          .replace("__KVITS_FILES__", JSON.stringify(["/", ...files], null, 2));
        writeFileSync(join(outDir, "sw.js"), script);
      },
    },
  };
}

// `npm run dev` talks to a sync server here (run one with `cargo xtask demo`).
const apiServer = process.env.KVITS_API ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react(), serviceWorker()],
  worker: { format: "es" },
  build: { target: "es2022" },
  server: {
    proxy: { "/v1": apiServer, "/healthz": apiServer },
  },
});
