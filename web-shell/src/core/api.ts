// The contract between the core bridge (src/core) and the React screens (src/ui). The screens
// only render `view` and send events; everything else happens behind this interface.

import type { Event, ImageRef, ViewModel } from "../generated/types/shared_types";

export interface CoreHandle {
  /** The latest view model. */
  view(): ViewModel;
  /** Called after every change of the view model; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** Sends one event to the core. */
  dispatch(event: Event): void;
  /**
   * Keeps a photo the user picked (file picker, drag and drop, camera) durably on this device,
   * then tells the core about it. Resolves once the photo is stored.
   */
  capture(file: Blob): Promise<void>;
  /** An object URL for an image in the view model (local blob or server image), or null. */
  loadImage(ref: ImageRef): Promise<string | null>;
  /**
   * A request to a path the view model names on the sync server (a statement to import, the
   * firm's bank profiles), sent with the signed-in user's credentials. Needs the network.
   */
  request(path: string, init?: { method?: string; body?: Blob | string; contentType?: string }): Promise<Response>;
}
