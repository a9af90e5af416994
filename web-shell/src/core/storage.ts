// Whether the browser keeps this site's data for good. Without that, a browser short of space
// may clear the site's storage — and with it receipts that are saved on this device but not
// sent yet. The app asks once the user is signed in; when the browser says no, the status bar
// warns while something is waiting to be sent.

/** What the browser answered: kept for good, not (it may be cleared), or no such question. */
export type StorageKeeping = "kept" | "may-be-cleared" | "unknown";

/** The part of `navigator.storage` this needs. */
export interface StorageAsk {
  persisted?: () => Promise<boolean>;
  persist?: () => Promise<boolean>;
}

/** Asks the browser to keep this site's data; never throws. */
export async function askToKeepData(storage: StorageAsk | undefined): Promise<StorageKeeping> {
  if (!storage?.persist) return "unknown";
  try {
    if (storage.persisted && (await storage.persisted())) return "kept";
    return (await storage.persist()) ? "kept" : "may-be-cleared";
  } catch {
    return "unknown";
  }
}
