// The web shell's runtime: owns the core (through the wasm bridge), performs every effect it
// asks for in TypeScript, resolves each answer back into the core by id, and implements the
// `CoreHandle` the screens use.

import type { CoreHandle } from "./api";
import { decodeRequests, decodeView, encodeEvent, encodeOutput } from "./codec";
import type { Timers } from "./time";
import type {
  Event,
  HttpRequest,
  HttpResult,
  ImageRef,
  ProcessPhotoRequest,
  ProcessPhotoResponse,
  Request,
  StoreRequest,
  StoreResponse,
  UploadRequest,
  UploadUpdate,
  ViewModel,
} from "../generated/types/shared_types";

/** The wasm export (`KvitsCore` in shared/web), or a fake in tests. */
export interface Bridge {
  update(event: Uint8Array): Uint8Array;
  resolve(id: number, output: Uint8Array): Uint8Array;
  view(): Uint8Array;
}

/** How each effect is performed. */
export interface Effects {
  http(request: HttpRequest): Promise<HttpResult>;
  store(request: StoreRequest): Promise<StoreResponse>;
  timers: Timers;
  photo(request: ProcessPhotoRequest): Promise<ProcessPhotoResponse>;
  upload(request: UploadRequest, progress: (sent: number, total: number) => void): Promise<UploadUpdate>;
  /** Keeps a picked photo durably; answers its `file_ref`. */
  keepPhoto(file: Blob): Promise<string>;
  /** A stored photo blob. */
  getBlob(fileRef: string): Promise<Blob | null>;
  /** For server images. */
  fetch?: typeof fetch;
  /** Where server image paths are relative to (the page's origin). */
  origin: string;
}

function report(what: string, e: unknown): void {
  console.error(`kvits: ${what}:`, e);
}

export class Runtime implements CoreHandle {
  private current: ViewModel;
  private readonly listeners = new Set<() => void>();
  private renderQueued = false;
  private readonly images = new Map<string, Promise<string | null>>();
  private readonly sessions = new Map<string, number>();

  constructor(
    private readonly bridge: Bridge,
    private readonly effects: Effects,
    /** Reads the view model's bincode (replaceable in tests). */
    private readonly readView: (bytes: Uint8Array) => ViewModel = decodeView,
  ) {
    this.current = readView(bridge.view());
  }

  view(): ViewModel {
    return this.current;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  dispatch(event: Event): void {
    let requests: Uint8Array;
    try {
      requests = this.bridge.update(encodeEvent(event));
    } catch (e) {
      report(`the core refused the event ${event.kind}`, e);
      return;
    }
    this.run(requests);
  }

  async capture(file: Blob): Promise<void> {
    const fileRef = await this.effects.keepPhoto(file);
    this.dispatch({ kind: "Receipts", value: { kind: "PhotoCaptured", file_ref: fileRef } });
  }

  loadImage(ref: ImageRef): Promise<string | null> {
    const fileRef = ref.file_ref;
    if (fileRef !== null && fileRef !== undefined) {
      return this.cached(`file:${fileRef}`, async () => {
        const blob = await this.effects.getBlob(fileRef);
        return blob ? URL.createObjectURL(blob) : null;
      });
    }
    const url = ref.url;
    if (url === null || url === undefined) return Promise.resolve(null);
    // "Bearer …" for the signed-in user's images, from the view model.
    const auth = this.current.image_authorization;
    const target = this.onServer(url);
    if (target === null) {
      report(`an image outside the server was refused (${url})`, null);
      return Promise.resolve(null);
    }
    // Keyed by the session too (another user's must not see a cached image), by its number:
    // a credential never goes into a key, and so never into a log line.
    return this.cached(`url:${this.sessionNumber(auth)}:${url}`, async () => {
      const doFetch = this.effects.fetch ?? globalThis.fetch.bind(globalThis);
      const response = await doFetch(target, {
        headers: auth ? { authorization: auth } : {},
        credentials: "omit",
      });
      if (!response.ok) return null;
      return URL.createObjectURL(await response.blob());
    });
  }

  request(path: string, init: { method?: string; body?: Blob | string; contentType?: string } = {}): Promise<Response> {
    const auth = this.current.image_authorization;
    const doFetch = this.effects.fetch ?? globalThis.fetch.bind(globalThis);
    const headers: Record<string, string> = auth ? { authorization: auth } : {};
    if (init.contentType) headers["content-type"] = init.contentType;
    return doFetch(`${this.effects.origin}${path}`, {
      method: init.method ?? "GET",
      body: init.body,
      headers,
      credentials: "omit",
    });
  }

  /** The server URL of an image path; null for an address on another origin, which never
   * gets the user's credentials. */
  private onServer(url: string): string | null {
    const server = new URL(this.effects.origin);
    let target: URL;
    try {
      target = new URL(url, server);
    } catch {
      return null;
    }
    return target.origin === server.origin ? target.href : null;
  }

  /** A number per credential seen (0: none), to key cached images by session. */
  private sessionNumber(auth: string | null | undefined): number {
    if (!auth) return 0;
    let n = this.sessions.get(auth);
    if (n === undefined) {
      n = this.sessions.size + 1;
      this.sessions.set(auth, n);
    }
    return n;
  }

  private cached(key: string, load: () => Promise<string | null>): Promise<string | null> {
    const known = this.images.get(key);
    if (known) return known;
    const loading = load().catch((e) => {
      report(`an image could not be loaded (${key})`, e);
      return null;
    });
    // A failure (offline, not yet uploaded) is tried again next time.
    void loading.then((url) => {
      if (url === null) this.images.delete(key);
    });
    this.images.set(key, loading);
    return loading;
  }

  /** Performs a batch of effect requests (bincode from the bridge). */
  private run(bytes: Uint8Array): void {
    let requests: Request[];
    try {
      requests = decodeRequests(bytes);
    } catch (e) {
      report("the core's effect requests cannot be read", e);
      return;
    }
    for (const request of requests) this.perform(request);
  }

  private resolve(id: number, output: Uint8Array): void {
    let requests: Uint8Array;
    try {
      requests = this.bridge.resolve(id, output);
    } catch (e) {
      report(`the core refused the answer to effect ${id}`, e);
      return;
    }
    this.run(requests);
  }

  private perform(request: Request): void {
    const { id, effect } = request;
    switch (effect.kind) {
      case "Render":
        this.render();
        return;
      case "Http":
        void this.effects
          .http(effect.value)
          .then((r) => this.resolve(id, encodeOutput.http(r)), (e) => report("http", e));
        return;
      case "Store":
        void this.effects
          .store(effect.value)
          .then((r) => this.resolve(id, encodeOutput.store(r)), (e) => report("store", e));
        return;
      case "Time":
        this.effects.timers.handle(effect.value, (r) => this.resolve(id, encodeOutput.time(r)));
        return;
      case "ProcessPhoto":
        void this.effects
          .photo(effect.value)
          .then((r) => this.resolve(id, encodeOutput.photo(r)), (e) => report("photo", e));
        return;
      case "Upload": {
        const progress = (sent: number, total: number) =>
          this.resolve(
            id,
            encodeOutput.upload({ kind: "Progress", sent: BigInt(sent), total: BigInt(total) }),
          );
        void this.effects
          .upload(effect.value, progress)
          .then((r) => this.resolve(id, encodeOutput.upload(r)), (e) => report("upload", e));
        return;
      }
      default: {
        const unknown: never = effect;
        report("an effect this shell does not know", unknown);
      }
    }
  }

  /** Re-reads the view model once per burst of renders and tells the screens. */
  private render(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    queueMicrotask(() => {
      this.renderQueued = false;
      try {
        this.current = this.readView(this.bridge.view());
      } catch (e) {
        report("the view model cannot be read", e);
        return;
      }
      for (const listener of [...this.listeners]) {
        try {
          listener();
        } catch (e) {
          report("a view listener failed", e);
        }
      }
    });
  }
}
