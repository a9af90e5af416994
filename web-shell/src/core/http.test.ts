import { describe, expect, it, vi } from "vitest";
import { performHttp } from "./http";
import { HttpHeader, HttpRequest } from "../generated/types/shared_types";

const enc = new TextEncoder();
const request = (method = "POST", body = enc.encode('{"a":1}')) =>
  new HttpRequest(
    method,
    "http://kvits.test/v1/sync/push",
    [new HttpHeader("content-type", "application/json"), new HttpHeader("authorization", "Bearer t")],
    body,
  );

describe("Http with fetch", () => {
  it("answers any status as Ok with the headers and body, and sends what the core asked", async () => {
    const fetch = vi.fn(async (url: URL | RequestInfo, init?: RequestInit) => {
      expect(String(url)).toBe("http://kvits.test/v1/sync/push");
      expect(init?.method).toBe("POST");
      const headers = new Headers(init?.headers);
      expect(headers.get("authorization")).toBe("Bearer t");
      expect(new TextDecoder().decode(init?.body as Uint8Array)).toBe('{"a":1}');
      return new Response('{"code":"seq_gap"}', {
        status: 409,
        headers: { "content-type": "application/json", "retry-after": "3" },
      });
    });
    const result = await performHttp(request(), { fetch });
    expect(result.kind).toBe("Ok");
    if (result.kind !== "Ok") return;
    expect(result.value.status).toBe(409);
    expect(new TextDecoder().decode(result.value.body)).toBe('{"code":"seq_gap"}');
    const names = result.value.headers.map((h) => `${h.name}: ${h.value}`);
    expect(names).toContain("retry-after: 3");
  });

  it("sends no body with a GET", async () => {
    const fetch = vi.fn(async (_url: URL | RequestInfo, init?: RequestInit) => {
      expect(init?.body).toBeUndefined();
      return new Response("", { status: 200 });
    });
    const result = await performHttp(request("GET", new Uint8Array()), { fetch });
    expect(result.kind).toBe("Ok");
  });

  it("maps a network failure to Io", async () => {
    const fetch = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    const result = await performHttp(request(), { fetch });
    expect(result).toEqual({ kind: "Err", value: { kind: "Io", value: "Failed to fetch" } });
  });

  it("maps no answer in time to Timeout", async () => {
    const fetch = vi.fn(
      (_url: URL | RequestInfo, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener("abort", () =>
            reject(new DOMException("The operation was aborted.", "AbortError")),
          );
        }),
    );
    const result = await performHttp(request(), { fetch, timeoutMs: 20 });
    expect(result).toEqual({ kind: "Err", value: { kind: "Timeout" } });
  });

  it("maps a body cut short to Io", async () => {
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(enc.encode("{"));
        controller.error(new Error("connection reset"));
      },
    });
    const fetch = vi.fn(async () => new Response(body, { status: 200 }));
    const result = await performHttp(request(), { fetch });
    expect(result.kind).toBe("Err");
    if (result.kind === "Err") expect(result.value.kind).toBe("Io");
  });

  it("refuses what cannot be a request with Url", async () => {
    const fetch = vi.fn();
    const bad = new HttpRequest("GET", "not a url", [], new Uint8Array());
    expect((await performHttp(bad, { fetch })).kind).toBe("Err");
    const method = new HttpRequest("GE T", "http://kvits.test/", [], new Uint8Array());
    const result = await performHttp(method, { fetch });
    expect(result.kind === "Err" && result.value.kind).toBe("Url");
    expect(fetch).not.toHaveBeenCalled();
  });
});
