//! `Store`: the device's local database, as the core sees it.
//!
//! The shell keeps rows of JSON documents in a handful of collections and does two things with
//! them: hand all of them back at start (`Load`), and apply a list of puts and deletes as **one
//! transaction** (`Commit`) — all or nothing, durable before it answers `Committed`. The core
//! decides what the rows mean; the shell never looks inside a document. This keeps the native
//! (SQLite) and web (IndexedDB) implementations small and identical in behaviour.

use crux_core::capability::Operation;
use facet::Facet;
use serde::{Deserialize, Serialize};

/// The collections the core keeps. A row is identified by `(collection, key)`.
#[derive(
    Facet, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[repr(C)]
pub enum Collection {
    /// Settings of this install: its client id, the signed-in session, sync cursor.
    Meta,
    /// Queued mutations, keyed by zero-padded `seq`.
    Outbox,
    /// The server's rows as last pulled, keyed by `kind/id`.
    Mirror,
    /// Photos taken on this device, keyed by SHA-256: file refs and upload state.
    Photos,
    /// Things the user must be told (a refused change, a lost approval race), keyed by id.
    Notices,
    /// Photos taken but not yet processed into a receipt, keyed by id: a crash in between
    /// loses nothing, the core processes them again at the next start.
    Captures,
}

/// One row as stored.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRow {
    pub collection: Collection,
    pub key: String,
    /// A JSON document written by the core.
    pub value: String,
}

/// One write inside a transaction.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub enum StoreOp {
    /// Insert or replace the row.
    Put {
        collection: Collection,
        key: String,
        value: String,
    },
    /// Remove the row (no error when it is not there).
    Delete { collection: Collection, key: String },
    /// Remove every row of the collection.
    Clear { collection: Collection },
}

/// What the core asks of the store.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub enum StoreRequest {
    /// Every row of every collection.
    Load,
    /// Apply all of these, in order, atomically.
    Commit { ops: Vec<StoreOp> },
}

/// Why the store could not do it.
#[derive(Facet, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub enum StoreErrorKind {
    /// The device's storage is full.
    Full,
    /// Anything else (I/O error, database locked, corrupt file).
    Other,
}

#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreError {
    pub kind: StoreErrorKind,
    pub message: String,
}

/// The store's answer.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub enum StoreResponse {
    Loaded { rows: Vec<StoredRow> },
    Committed,
    Failed(StoreError),
}

impl Operation for StoreRequest {
    type Output = StoreResponse;
}
