// Starts the core (wasm, effect handlers, storage) and renders the app around it.

import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { startCore } from "./core";
import { App } from "./ui/App";

const root = createRoot(document.getElementById("root")!);

async function main() {
  try {
    const core = await startCore();
    root.render(
      <StrictMode>
        <App core={core} />
      </StrictMode>,
    );
  } catch (e) {
    // Without the core nothing works; say so plainly instead of a blank page.
    const message = e instanceof Error ? e.message : String(e);
    root.render(
      <main className="boot-failed" role="alert">
        <h1>Kvits could not start</h1>
        <p>{message}</p>
        <p>Reload the page to try again. Nothing saved on this device has been deleted.</p>
      </main>,
    );
    console.error(e);
  }
}

void main();
