//! Kvits' sync protocol: the JSON every shell and the sync server exchange.
//!
//! Serde types only — no I/O — so the pure core (also on wasm32), the native runtime and the
//! server all share one definition. The shape follows docs/design.md §3: intents (named, versioned
//! [`Mutation`]s) go up with a per-client contiguous `seq`; state ([`Change`]s of [`Entity`]s)
//! comes down behind a per-tenant change-counter cursor.
//!
//! Compatibility rules: a mutation's wire name carries its version (`submit_expense.v1`); a
//! changed meaning gets a new name, never a silently changed one. Unknown fields are ignored
//! on read, so the server may add fields. The code enums ([`ErrorCode`], [`RejectCode`],
//! [`ConflictCode`]) have an `Unknown` fallback; a newer server's new entity kind would not read
//! as an [`Entity`], so clients read a pull page's changes one by one and skip (and report) a
//! change they cannot read instead of failing the page.

mod answer;
mod auth;
mod cards;
mod currency;
mod entity;
mod error;
mod export;
mod ids;
mod mutation;
mod names;
mod sync;
mod upload;

pub use answer::*;
pub use auth::*;
pub use cards::*;
pub use currency::*;
pub use entity::*;
pub use error::*;
pub use export::*;
pub use ids::*;
pub use mutation::*;
pub use names::*;
pub use sync::*;
pub use upload::*;

/// The protocol revision this crate speaks, sent by clients in [`PROTOCOL_HEADER`]. A server
/// that no longer supports a client's revision answers `426 Upgrade Required`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Request header carrying [`PROTOCOL_VERSION`].
pub const PROTOCOL_HEADER: &str = "kvits-protocol";

/// Timestamps on the wire: RFC 3339 in UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// Calendar dates on the wire: `YYYY-MM-DD`.
pub type Date = chrono::NaiveDate;

#[cfg(any(test, feature = "proptest"))]
pub mod arbitrary;
