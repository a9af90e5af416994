//! Every side effect the core asks a shell (or the native runtime) to perform.
//!
//! `Render`, `Http` and `Time` are Crux's own protocols; `Store`, `ProcessPhoto` and `Upload`
//! are Kvits' and are defined in the submodules. Each operation's answer comes back to the core
//! as an internal event carrying the id of the operation that asked, so an answer that arrives
//! late, twice, or for something the core no longer waits for is recognised and ignored.

// The effect macro also emits an FFI twin of `Effect` that cannot derive `Debug`.
#![allow(missing_debug_implementations)]

pub mod photo;
pub mod store;
pub mod upload;

use crux_core::{macros::effect, render::RenderOperation};
use crux_http::protocol::HttpRequest;
use crux_time::TimeRequest;

pub use photo::{PhotoError, PhotoMode, ProcessPhotoRequest, ProcessPhotoResponse, ProcessedPhoto};
pub use store::{
    Collection, StoreError, StoreErrorKind, StoreOp, StoreRequest, StoreResponse, StoredRow,
};
pub use upload::{UploadError, UploadErrorKind, UploadRequest, UploadUpdate};

/// What the core can ask for.
#[effect(facet_typegen)]
#[derive(Debug)]
pub enum Effect {
    /// Re-read the view model and repaint.
    Render(RenderOperation),
    /// One HTTP exchange with the sync server.
    Http(HttpRequest),
    /// The wall clock, and timers (sync back-off).
    Time(TimeRequest),
    /// The device's local database: load everything, or commit one transaction.
    Store(StoreRequest),
    /// Turn a camera or imported photo into a small upright receipt image and thumbnail.
    ProcessPhoto(ProcessPhotoRequest),
    /// Upload one photo to the server, resumably, reporting progress.
    Upload(UploadRequest),
}
