//! Kvits in the browser: two wasm-bindgen exports for the web shell.
//!
//! - [`KvitsCore`] wraps the Crux core in crux_core's own [`Bridge`], speaking the same bincode
//!   the native FFI speaks: events in, effect requests out, answers resolved by id, and the view
//!   model on demand. The page performs every effect in TypeScript.
//! - [`process_photo`] runs the receipt pipeline (`kvits-imaging`, pure Rust) on a photo's bytes
//!   and hands back the receipt image, its thumbnail and what the core needs to know about them.
//!   The web shell calls it from a Web Worker, so the page never waits for it.
//! - [`UploadMachine`] is the resumable upload protocol (`kvits-upload`, the one the native
//!   runtime drives too); the page only does its transport (`fetch`, Blob slices).
//!
//! Nothing here panics on bad input: a garbage event, an unknown effect id or a wrong-shaped
//! answer is a JavaScript `Error` with a readable message; a photo that is not an image (or is
//! damaged) is a [`PhotoFailure`] with the pipeline's stable code.
//!
//! The logic lives in plain Rust functions (tested on the host); the `#[wasm_bindgen]` items
//! only convert their errors.

use crux_core::Core;
use crux_core::bridge::{Bridge, BridgeError, EffectId};
use shared::Kvits;
use wasm_bindgen::prelude::*;

mod upload;

pub use upload::{UploadMachine, UploadStep};

/// The Crux core behind crux_core's serialising bridge (bincode).
#[wasm_bindgen]
pub struct KvitsCore {
    bridge: Bridge<Kvits>,
}

impl std::fmt::Debug for KvitsCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvitsCore").finish_non_exhaustive()
    }
}

impl Default for KvitsCore {
    fn default() -> Self {
        KvitsCore::new()
    }
}

/// Why the bridge refused a call, as a sentence for the developer console.
fn describe(what: &str, error: &BridgeError) -> String {
    match error {
        BridgeError::DeserializeEvent(e) => format!("{what}: the event cannot be read: {e}"),
        BridgeError::DeserializeOutput(e) => {
            format!("{what}: the effect's answer cannot be read: {e}")
        }
        BridgeError::ProcessResponse(e) => format!("{what}: {e}"),
        BridgeError::SerializeRequests(e) => {
            format!("{what}: the core's effect requests cannot be written: {e}")
        }
        BridgeError::SerializeView(e) => format!("{what}: the view model cannot be written: {e}"),
    }
}

impl KvitsCore {
    /// [`KvitsCore::update`] with a Rust error.
    pub fn try_update(&self, event: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        self.bridge
            .update(event, &mut out)
            .map_err(|e| describe("update", &e))?;
        Ok(out)
    }

    /// [`KvitsCore::resolve`] with a Rust error.
    pub fn try_resolve(&self, id: u32, output: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        self.bridge
            .resolve(EffectId(id), output, &mut out)
            .map_err(|e| describe(&format!("resolve effect {id}"), &e))?;
        Ok(out)
    }

    /// [`KvitsCore::view`] with a Rust error.
    pub fn try_view(&self) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        self.bridge
            .view(&mut out)
            .map_err(|e| describe("view", &e))?;
        Ok(out)
    }
}

#[wasm_bindgen]
impl KvitsCore {
    /// A fresh core; the page sends `Event::Start` first.
    #[wasm_bindgen(constructor)]
    pub fn new() -> KvitsCore {
        KvitsCore {
            bridge: Bridge::new(Core::new()),
        }
    }

    /// Sends one event (bincode of `Event`); returns the effect requests it caused (bincode of
    /// `Requests<EffectFfi>`: a list of `{id, effect}`).
    pub fn update(&self, event: &[u8]) -> Result<Vec<u8>, JsError> {
        self.try_update(event).map_err(|m| JsError::new(&m))
    }

    /// Answers the effect request `id` with the bincode of its output; returns the effect
    /// requests that follow. An upload's progress updates answer the same id several times.
    pub fn resolve(&self, id: u32, output: &[u8]) -> Result<Vec<u8>, JsError> {
        self.try_resolve(id, output).map_err(|m| JsError::new(&m))
    }

    /// The current view model (bincode of `ViewModel`).
    pub fn view(&self) -> Result<Vec<u8>, JsError> {
        self.try_view().map_err(|m| JsError::new(&m))
    }
}

/// What the photo pipeline made of one photo.
#[wasm_bindgen(getter_with_clone)]
#[derive(Clone)]
pub struct ProcessedImage {
    /// The receipt image: a JPEG with no metadata.
    pub image: Vec<u8>,
    /// A small JPEG for lists.
    pub thumbnail: Vec<u8>,
    /// SHA-256 of `image`, lower-case hex.
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    /// When the photo was taken (`YYYY-MM-DD`), from its EXIF data.
    pub taken_on: Option<String>,
}

impl std::fmt::Debug for ProcessedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessedImage")
            .field("image_bytes", &self.image.len())
            .field("thumbnail_bytes", &self.thumbnail.len())
            .field("sha256", &self.sha256)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("taken_on", &self.taken_on)
            .finish()
    }
}

/// Why a photo could not be processed: the pipeline's stable code (`unsupported_format`,
/// `corrupt`, `truncated`, `too_large`, `empty`, ...) and a sentence for the user. Thrown by
/// [`process_photo`].
#[wasm_bindgen(getter_with_clone)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhotoFailure {
    pub code: String,
    pub message: String,
}

/// [`process_photo`] with a Rust error.
pub fn try_process_photo(
    input: &[u8],
    colour: bool,
    long_receipt: bool,
) -> Result<ProcessedImage, PhotoFailure> {
    let options = kvits_imaging::Options {
        color: if colour {
            kvits_imaging::ColorMode::Color
        } else {
            kvits_imaging::ColorMode::Gray
        },
        long_receipt,
    };
    let processed = kvits_imaging::process(input, &options).map_err(|e| PhotoFailure {
        code: e.code().to_owned(),
        message: e.to_string(),
    })?;
    let taken_on = processed
        .source
        .captured_at
        .map(|c| format!("{:04}-{:02}-{:02}", c.year, c.month, c.day));
    Ok(ProcessedImage {
        image: processed.image.jpeg,
        thumbnail: processed.thumbnail.jpeg,
        sha256: processed.sha256,
        width: processed.image.width,
        height: processed.image.height,
        taken_on,
    })
}

/// Runs the receipt pipeline on a photo's bytes: `colour` false is document mode (gray, the
/// default), `long_receipt` keeps more pixels. Throws a [`PhotoFailure`] for a file that is not
/// a supported image or is damaged.
#[wasm_bindgen(js_name = processPhoto)]
pub fn process_photo(
    input: &[u8],
    colour: bool,
    long_receipt: bool,
) -> Result<ProcessedImage, PhotoFailure> {
    try_process_photo(input, colour, long_receipt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::Event;

    #[test]
    fn garbage_event_is_an_error() {
        let core = KvitsCore::new();
        let error = core.try_update(&[0xff, 0xff, 0xff, 0xff, 9]);
        assert!(matches!(error, Err(m) if m.contains("the event cannot be read")));
    }

    #[test]
    fn unknown_effect_id_is_an_error() {
        let core = KvitsCore::new();
        let error = core.try_resolve(4242, &[]);
        assert!(matches!(error, Err(m) if m.contains("4242")));
    }

    #[test]
    fn start_asks_for_effects_and_the_view_reads() -> Result<(), String> {
        let core = KvitsCore::new();
        let start = Event::Start {
            server_url: "http://127.0.0.1:1".into(),
            entropy: vec![7; 32],
            device_name: "Chromium on Linux".into(),
            utc_offset_minutes: 120,
        };
        let bytes = bincode::serialize(&start).map_err(|e| e.to_string())?;
        let requests = core.try_update(&bytes)?;
        // a non-empty list: its length (u64) comes first
        assert!(requests.len() > 8 && requests[..8] != [0; 8]);
        assert!(!core.try_view()?.is_empty());
        Ok(())
    }

    #[test]
    fn non_image_is_a_typed_failure() {
        let failure = try_process_photo(b"%PDF-1.4 not a photo", false, false);
        assert!(matches!(failure, Err(f) if f.code == "unsupported_format"));
        let empty = try_process_photo(&[], false, false);
        assert!(matches!(empty, Err(f) if f.code == "empty"));
    }

    #[test]
    fn a_receipt_scan_is_processed() -> Result<(), Box<dyn std::error::Error>> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/receipts/scans/aldi_02032020_19_02423.jpg"
        );
        let bytes = std::fs::read(path)?;
        let photo = try_process_photo(&bytes, false, false).map_err(|f| f.message)?;
        assert_eq!(photo.sha256.len(), 64);
        assert_eq!(&photo.image[..2], &[0xff, 0xd8]);
        assert!(!photo.thumbnail.is_empty() && photo.width > 0 && photo.height > 0);
        let cut = try_process_photo(&bytes[..bytes.len() / 3], false, false);
        assert!(cut.is_err());
        Ok(())
    }
}
