// The messages between the page and the photo worker.

export interface PhotoJob {
  id: number;
  /** The photo as the user picked it. */
  source: Blob;
  colour: boolean;
  longReceipt: boolean;
}

export type PhotoAnswer =
  | {
      id: number;
      ok: true;
      image: Uint8Array;
      thumbnail: Uint8Array;
      sha256: string;
      width: number;
      height: number;
      takenOn: string | null;
    }
  | {
      id: number;
      ok: false;
      /** The pipeline's stable code (`unsupported_format`, `corrupt`, ...), `io` or `internal`. */
      code: string;
      message: string;
      /** The worker cannot be trusted any more (the wasm trapped): start a new one. */
      fatal?: boolean;
    };
