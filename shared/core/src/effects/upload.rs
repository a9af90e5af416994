//! `Upload`: one photo to the server, resumably (docs/design.md §3 point 4), with progress.
//!
//! The shell speaks the upload protocol itself (create, ask the offset, send chunks with
//! checksums, resume after a restart) and streams updates back; the core only decides *when*
//! a photo must go and shows the progress.

use crux_core::capability::Operation;
use facet::Facet;
use serde::{Deserialize, Serialize};

#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRequest {
    /// The server's base URL, e.g. `https://kvits.example`.
    pub server_url: String,
    /// Bearer token of the signed-in user.
    pub token: String,
    /// The file to send, as `ProcessPhoto` named it.
    pub file_ref: String,
    pub sha256: String,
    pub size: u64,
    pub content_type: String,
}

#[derive(Facet, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub enum UploadErrorKind {
    /// No network, a timeout, a 5xx: try again later.
    Transient,
    /// The token is no longer valid: sign in again.
    Unauthorized,
    /// The server refused the file for good (corrupt, too large, hash mismatch).
    Refused,
    /// The local file is gone.
    FileMissing,
}

#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadError {
    pub kind: UploadErrorKind,
    pub message: String,
}

/// Updates streamed back for one upload; the last one is `Done` or `Failed`.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub enum UploadUpdate {
    Progress { sent: u64, total: u64 },
    Done,
    Failed(UploadError),
}

impl Operation for UploadRequest {
    type Output = UploadUpdate;
}
