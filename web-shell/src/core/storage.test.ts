import { describe, expect, it, vi } from "vitest";
import { askToKeepData } from "./storage";

describe("asking the browser to keep the data", () => {
  it("answers kept without asking again when it already is", async () => {
    const persist = vi.fn(async () => false);
    expect(await askToKeepData({ persisted: async () => true, persist })).toBe("kept");
    expect(persist).not.toHaveBeenCalled();
  });

  it("asks, and tells a refusal apart from a browser that cannot say", async () => {
    expect(await askToKeepData({ persisted: async () => false, persist: async () => true })).toBe("kept");
    expect(await askToKeepData({ persisted: async () => false, persist: async () => false })).toBe("may-be-cleared");
    expect(await askToKeepData(undefined)).toBe("unknown");
    expect(await askToKeepData({})).toBe("unknown");
    const failing = async (): Promise<boolean> => {
      throw new DOMException("not allowed", "SecurityError");
    };
    expect(await askToKeepData({ persisted: failing, persist: failing })).toBe("unknown");
  });
});
