// The `Http` effect: one exchange with the sync server through `fetch`. Like the native
// runtime, every completed exchange is `Ok` whatever its status; only failing to talk to the
// server at all is `Err`: `Timeout` when no answer came in time, `Url` for a request that
// cannot be made, `Io` for everything else (offline, connection refused, cut mid-body).

import {
  HttpHeader,
  HttpResponse,
  type HttpRequest,
  type HttpResult,
} from "../generated/types/shared_types";
import { TimedOut, withTimeout } from "./timeout";

/** How long one exchange may take; pulls long-poll for up to 30 s on the server. */
export const HTTP_TIMEOUT_MS = 60_000;

export interface HttpOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
}

const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function describe(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    const extra = cause instanceof Error ? `: ${cause.message}` : "";
    return `${e.message}${extra}`;
  }
  return String(e);
}

export async function performHttp(
  request: HttpRequest,
  options: HttpOptions = {},
): Promise<HttpResult> {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const timeoutMs = options.timeoutMs ?? HTTP_TIMEOUT_MS;
  const err = (value: HttpResult & { kind: "Err" }) => value;
  if (!METHOD.test(request.method)) {
    return err({ kind: "Err", value: { kind: "Url", value: `not an HTTP method: ${request.method}` } });
  }
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return err({ kind: "Err", value: { kind: "Url", value: `not a URL: ${request.url}` } });
  }
  const headers = new Headers();
  try {
    for (const h of request.headers) headers.append(h.name, h.value);
  } catch (e) {
    return err({ kind: "Err", value: { kind: "Url", value: `a header cannot be sent: ${describe(e)}` } });
  }
  const method = request.method.toUpperCase();
  const body =
    request.body.length > 0 && method !== "GET" && method !== "HEAD"
      ? new Uint8Array(request.body)
      : undefined;

  try {
    return await withTimeout(timeoutMs, async (signal) => {
      const response = await doFetch(url, {
        method,
        headers,
        body,
        signal,
        cache: "no-store",
        credentials: "omit",
        redirect: "follow",
      });
      const responseHeaders: HttpHeader[] = [];
      response.headers.forEach((value, name) => responseHeaders.push(new HttpHeader(name, value)));
      const bytes = new Uint8Array(await response.arrayBuffer());
      return { kind: "Ok", value: new HttpResponse(response.status, responseHeaders, bytes) } as const;
    });
  } catch (e) {
    if (e instanceof TimedOut) return err({ kind: "Err", value: { kind: "Timeout" } });
    return err({ kind: "Err", value: { kind: "Io", value: describe(e) } });
  }
}
