//! `ProcessPhoto`: a camera or imported photo becomes a receipt image (docs/design.md §4).
//!
//! The shell runs `kvits-imaging` on the file behind `source` and answers with refs to the
//! files it wrote — never the bytes: a photo through the bridge would cost tens of
//! milliseconds and megabytes of copies.

use crux_core::capability::Operation;
use facet::Facet;
use serde::{Deserialize, Serialize};

/// Grayscale "document" mode (smallest, the default) or colour.
#[derive(Facet, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub enum PhotoMode {
    #[default]
    Document,
    Colour,
}

#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessPhotoRequest {
    /// The shell's reference to the original photo (a path, a content URI, a blob key).
    pub source: String,
    pub mode: PhotoMode,
    /// Keep more pixels on the long edge, for long till receipts.
    pub long_receipt: bool,
}

/// The result of processing: refs to the files the shell wrote, and what the core needs to
/// know about them.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessedPhoto {
    /// The compressed receipt image.
    pub file_ref: String,
    /// SHA-256 of the compressed image, lower-case hex.
    pub sha256: String,
    /// Size of the compressed image in bytes.
    pub size: u64,
    pub width: u32,
    pub height: u32,
    pub content_type: String,
    /// A small image for lists.
    pub thumbnail_ref: String,
    /// When the photo was taken, from its EXIF data (`YYYY-MM-DD`), to prefill the date.
    pub taken_on: Option<String>,
}

#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoError {
    /// A stable code (`unsupported_format`, `corrupt`, `too_large`, `io`, ...).
    pub code: String,
    /// A sentence for the user.
    pub message: String,
}

#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub enum ProcessPhotoResponse {
    Processed(ProcessedPhoto),
    Failed(PhotoError),
}

impl Operation for ProcessPhotoRequest {
    type Output = ProcessPhotoResponse;
}
