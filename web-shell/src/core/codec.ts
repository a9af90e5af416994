// Bincode in and out of the core, with the generated types (the same bytes the native FFI
// speaks: crux_core's bridge, bincode with fixed-width integers).

import { BincodeDeserializer, BincodeSerializer } from "../generated/types/bincode";
import {
  Requests,
  ViewModel,
  serializeEvent,
  serializeHttpResult,
  serializeProcessPhotoResponse,
  serializeStoreResponse,
  serializeTimeResponse,
  serializeUploadUpdate,
  type Event,
  type HttpResult,
  type ProcessPhotoResponse,
  type Request,
  type StoreResponse,
  type TimeResponse,
  type UploadUpdate,
} from "../generated/types/shared_types";

export type { HttpResult, ProcessPhotoResponse, StoreResponse, TimeResponse, UploadUpdate };

function write(put: (s: BincodeSerializer) => void): Uint8Array {
  const serializer = new BincodeSerializer();
  put(serializer);
  return serializer.getBytes();
}

export const encodeEvent = (event: Event): Uint8Array =>
  write((s) => serializeEvent(event, s));

export function decodeRequests(bytes: Uint8Array): Request[] {
  return Requests.deserialize(new BincodeDeserializer(bytes)).value;
}

export function decodeView(bytes: Uint8Array): ViewModel {
  return ViewModel.deserialize(new BincodeDeserializer(bytes));
}

/** The bincode of each effect's answer, by effect kind. */
export const encodeOutput = {
  http: (r: HttpResult) => write((s) => serializeHttpResult(r, s)),
  store: (r: StoreResponse) => write((s) => serializeStoreResponse(r, s)),
  time: (r: TimeResponse) => write((s) => serializeTimeResponse(r, s)),
  photo: (r: ProcessPhotoResponse) => write((s) => serializeProcessPhotoResponse(r, s)),
  upload: (r: UploadUpdate) => write((s) => serializeUploadUpdate(r, s)),
};
