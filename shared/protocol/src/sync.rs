//! `POST /v1/sync/push` and `GET /v1/sync/pull`.

use serde::{Deserialize, Serialize};

use crate::{
    ClientId, CompanyId, Entity, EntityKind, ErrorCode, MutationResult, PendingMutation, Timestamp,
};

/// Most mutations one push may carry; more is a 413.
pub const MAX_PUSH_MUTATIONS: usize = 500;
/// Most changes one pull page returns (the `limit` query is capped at this).
pub const MAX_PULL_LIMIT: u32 = 1000;
/// Longest long-poll `wait`, in seconds.
pub const MAX_PULL_WAIT_SECS: u32 = 30;

/// `POST /v1/sync/push`: the next mutations of the client's outbox, in `seq` order, contiguous,
/// starting at most at the server's `last_seq + 1` (earlier ones are answered from storage).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PushRequest {
    pub client_id: ClientId,
    pub mutations: Vec<PendingMutation>,
}

/// Answer to a push: one result per mutation processed, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PushResponse {
    /// The highest `seq` the server has finished with for this client.
    pub last_seq: u64,
    pub results: Vec<MutationResult>,
    /// Set when processing stopped at a mutation that can succeed later (e.g. `submit` before
    /// its photo is uploaded): that mutation and the rest were not processed; push them again
    /// after fixing the cause or after `retry_after_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halted: Option<Halt>,
}

/// Why a push stopped early without consuming the mutation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Halt {
    pub seq: u64,
    pub code: ErrorCode,
    pub message: String,
    /// For `blob_missing`: the SHA-256 of each photo to upload first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_blobs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

/// Query of `GET /v1/sync/pull`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PullQuery {
    pub client_id: ClientId,
    /// The `cursor` of the last applied page; 0 for everything.
    #[serde(default)]
    pub cursor: u64,
    /// Return this client's stored mutation results with a greater `seq`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_after: Option<u64>,
    /// Seconds to wait for a change when there is none (long-poll), at most
    /// [`MAX_PULL_WAIT_SECS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<u32>,
    /// Page size, at most [`MAX_PULL_LIMIT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `POST /v1/sync/open` (the firm's staff): this install opens a client company, so its
/// documents come with the pulls from now on. Before, a staff install gets only the clients'
/// company rows, catalogs and conversations (a firm's documents would not fit on a device).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OpenCompanyRequest {
    pub client_id: ClientId,
    pub company_id: CompanyId,
}

/// The answer to [`OpenCompanyRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OpenCompanyResponse {
    /// The install had not opened it before: its next pull starts over (`reset`) and brings
    /// the company's documents with everything else it holds.
    pub newly_opened: bool,
}

/// One page of changes. Apply `changes`, `results` and `cursor` in one local transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PullResponse {
    /// Pass this back as `cursor` next time.
    pub cursor: u64,
    /// More changes are ready: pull again at once.
    pub has_more: bool,
    /// The given cursor cannot be continued (it is from another server life, or the user's
    /// access changed): drop the local mirror — never the outbox — and apply this page, which
    /// starts from 0.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
    pub changes: Vec<Change>,
    /// Stored results of this client's mutations after `results_after`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<MutationResult>,
    /// The highest `seq` the server has finished with for this client.
    pub last_seq: u64,
    pub server_time: Timestamp,
}

/// One changed row: its current state, or its deletion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Change {
    /// When this row last changed, as an opaque number (the tenant's change counter,
    /// enciphered: equal for the same change, and nothing else can be read from it).
    pub version: u64,
    #[serde(flatten)]
    pub op: ChangeOp,
}

/// Upsert or delete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ChangeOp {
    Upsert { entity: Box<Entity> },
    Delete { kind: EntityKind, id: uuid::Uuid },
}
