//! What the core keeps in the device's local store, and how it maps onto `Store` rows.
//!
//! Every change to durable state is a list of [`LocalWrite`]s committed as one `Store`
//! transaction; only when the store answers `Committed` are the same writes applied to the
//! in-memory [`Local`] — so what the UI shows as saved is always what a restart would load.

use std::collections::BTreeMap;

use kvits_domain::MemoryState;
use kvits_protocol::{
    ClientId, CompanyId, Entity, EntityKind, Mutation, MutationResult, PendingMutation, Session,
    Timestamp, UserId,
};
use serde::{Deserialize, Serialize};

use crate::effects::{Collection, StoreOp, StoredRow};

/// This install: its client id (bound by the server to the first user who signs in with it)
/// and the next `seq` to give a mutation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub client_id: ClientId,
    /// The user this client id belongs to, once someone signed in with it.
    pub user_id: Option<UserId>,
    pub next_seq: u64,
}

/// The signed-in user. `token` is `None` after the server said it is no longer valid: the
/// user must sign in again, and nothing queued is lost meanwhile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub token: Option<String>,
    pub session: Session,
    /// The company the user works in now (the company switcher).
    pub company_id: Option<CompanyId>,
}

/// Where pulling stands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRecord {
    /// The server's change counter up to which the mirror is complete.
    pub cursor: u64,
    /// The server's `last_seq` for this client as of the mirror.
    pub server_seq: u64,
    pub last_synced_at: Option<Timestamp>,
}

/// One queued mutation. It stays in the outbox after the server answered (`result`) until a
/// pull shows the server state that includes it, so the prediction never flickers back. An
/// applied one is then kept a while longer (`confirmed_at`, [`KEEP_SENT_DAYS`]): should the
/// server lose it (restored from an older backup), the device sends it again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    #[serde(flatten)]
    pub pending: PendingMutation,
    /// Photos that must be on the server before this mutation is sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs_blobs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<MutationResult>,
    /// When a pull showed the server's rows with it applied (the server's time): the mirror
    /// holds its effect since, and it is only kept in case the server loses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<Timestamp>,
    /// Sent again to a server that lost it, after it had been applied once: a refusal now
    /// only means the server's row moved past it, and the user is not told of it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replay: bool,
}

/// How long an applied mutation is kept after the server's rows showed it: a server restored
/// from a backup at most this old gets back everything this device sent.
pub const KEEP_SENT_DAYS: i64 = 30;

impl OutboxEntry {
    pub fn seq(&self) -> u64 {
        self.pending.seq
    }

    pub fn mutation(&self) -> &Mutation {
        &self.pending.mutation
    }

    /// Sent and answered.
    pub fn is_acked(&self) -> bool {
        self.result.is_some()
    }

    /// Whether it still counts for the prediction: not answered yet, or answered with success
    /// and not yet in the mirror.
    pub fn counts(&self) -> bool {
        self.confirmed_at.is_none() && self.result.as_ref().is_none_or(|r| r.outcome.is_success())
    }

    /// Applied, and the mirror shows it: kept only in case the server loses it.
    pub fn is_confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }
}

/// A photo taken on this device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRecord {
    pub sha256: String,
    pub company_id: CompanyId,
    pub file_ref: String,
    pub thumbnail_ref: String,
    pub size: u64,
    pub width: u32,
    pub height: u32,
    pub content_type: String,
    pub uploaded: bool,
    /// Why the upload cannot succeed (the file is gone, the server refused it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken: Option<String>,
}

/// Something the user must be told, kept until dismissed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub id: String,
    pub at: Timestamp,
    pub text: String,
    /// The receipt it is about, to open it from the notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expense_id: Option<kvits_protocol::ExpenseId>,
    /// What the user had entered in a change the server refused: the form offers it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<kvits_protocol::ExpenseFields>,
    /// When the refused action was made (its mutations share this time): one action, one
    /// notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_at: Option<Timestamp>,
}

/// A photo taken and not yet turned into a receipt page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    pub id: String,
    /// The shell's reference to the original photo.
    pub source: String,
    pub target: CaptureTarget,
    pub started: Timestamp,
}

/// What a capture becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaptureTarget {
    /// A new receipt with this id.
    New {
        expense_id: kvits_protocol::ExpenseId,
        company_id: CompanyId,
    },
    /// Another page of this receipt.
    Page {
        expense_id: kvits_protocol::ExpenseId,
    },
}

/// One change to durable state.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum LocalWrite {
    Device(DeviceRecord),
    Session(Option<SessionRecord>),
    Sync(SyncRecord),
    OutboxPut(OutboxEntry),
    OutboxDelete(u64),
    MirrorPut(Entity),
    MirrorDelete(EntityKind, uuid::Uuid),
    MirrorClear,
    PhotoPut(PhotoRecord),
    PhotoClear,
    NoticePut(Notice),
    NoticeDelete(String),
    CapturePut(Capture),
    CaptureDelete(String),
}

const DEVICE: &str = "device";
const SESSION: &str = "session";
const SYNC: &str = "sync";

/// The session row's key in [`Collection::Meta`]: its token is the one secret the store holds.
pub const SESSION_KEY: &str = SESSION;

/// A stored session row without its token, and the token: for a store that keeps the token
/// apart from the rest (a phone's Keychain or Keystore). `None` for a row that is not a session.
pub fn split_session_row(row: &str) -> Option<(String, Option<String>)> {
    let mut record: SessionRecord = serde_json::from_str(row).ok()?;
    let token = record.token.take();
    Some((serde_json::to_string(&record).ok()?, token))
}

/// The stored session row with `token` put back (see [`split_session_row`]).
pub fn join_session_row(row: &str, token: Option<String>) -> Option<String> {
    let mut record: SessionRecord = serde_json::from_str(row).ok()?;
    record.token = token;
    serde_json::to_string(&record).ok()
}

fn outbox_key(seq: u64) -> String {
    format!("{seq:020}")
}

fn mirror_key(kind: EntityKind, id: uuid::Uuid) -> String {
    format!("{}/{id}", kind.as_str())
}

fn put<T: Serialize>(collection: Collection, key: String, value: &T) -> Option<StoreOp> {
    // Serialising our own plain structs cannot fail; should it ever, the write is dropped
    // rather than the app brought down, and the row simply is not there after a restart.
    serde_json::to_string(value).ok().map(|value| StoreOp::Put {
        collection,
        key,
        value,
    })
}

impl LocalWrite {
    /// The store operation that makes this write durable.
    pub fn to_op(&self) -> Option<StoreOp> {
        match self {
            LocalWrite::Device(d) => put(Collection::Meta, DEVICE.into(), d),
            LocalWrite::Session(Some(s)) => put(Collection::Meta, SESSION.into(), s),
            LocalWrite::Session(None) => Some(StoreOp::Delete {
                collection: Collection::Meta,
                key: SESSION.into(),
            }),
            LocalWrite::Sync(s) => put(Collection::Meta, SYNC.into(), s),
            LocalWrite::OutboxPut(e) => put(Collection::Outbox, outbox_key(e.seq()), e),
            LocalWrite::OutboxDelete(seq) => Some(StoreOp::Delete {
                collection: Collection::Outbox,
                key: outbox_key(*seq),
            }),
            LocalWrite::MirrorPut(e) => put(Collection::Mirror, mirror_key(e.kind(), e.id()), e),
            LocalWrite::MirrorDelete(kind, id) => Some(StoreOp::Delete {
                collection: Collection::Mirror,
                key: mirror_key(*kind, *id),
            }),
            LocalWrite::MirrorClear => Some(StoreOp::Clear {
                collection: Collection::Mirror,
            }),
            LocalWrite::PhotoPut(p) => put(Collection::Photos, p.sha256.clone(), p),
            LocalWrite::PhotoClear => Some(StoreOp::Clear {
                collection: Collection::Photos,
            }),
            LocalWrite::NoticePut(n) => put(Collection::Notices, n.id.clone(), n),
            LocalWrite::NoticeDelete(id) => Some(StoreOp::Delete {
                collection: Collection::Notices,
                key: id.clone(),
            }),
            LocalWrite::CapturePut(c) => put(Collection::Captures, c.id.clone(), c),
            LocalWrite::CaptureDelete(id) => Some(StoreOp::Delete {
                collection: Collection::Captures,
                key: id.clone(),
            }),
        }
    }
}

/// Everything durable, in memory.
#[derive(Clone, Debug, Default)]
pub struct Local {
    pub device: Option<DeviceRecord>,
    pub session: Option<SessionRecord>,
    pub sync: SyncRecord,
    /// By `seq`.
    pub outbox: BTreeMap<u64, OutboxEntry>,
    /// The server's rows, as last pulled.
    pub mirror: MemoryState,
    /// By SHA-256.
    pub photos: BTreeMap<String, PhotoRecord>,
    /// By id.
    pub notices: BTreeMap<String, Notice>,
    /// Photos waiting to be processed, by id.
    pub captures: BTreeMap<String, Capture>,
}

impl Local {
    /// Applies committed writes.
    pub fn apply(&mut self, writes: &[LocalWrite]) {
        for w in writes {
            match w {
                LocalWrite::Device(d) => self.device = Some(d.clone()),
                LocalWrite::Session(s) => self.session = s.clone(),
                LocalWrite::Sync(s) => self.sync = s.clone(),
                LocalWrite::OutboxPut(e) => {
                    self.outbox.insert(e.seq(), e.clone());
                }
                LocalWrite::OutboxDelete(seq) => {
                    self.outbox.remove(seq);
                }
                LocalWrite::MirrorPut(e) => self.mirror.put(e.clone()),
                LocalWrite::MirrorDelete(kind, id) => {
                    self.mirror.delete(*kind, *id);
                }
                LocalWrite::MirrorClear => self.mirror = MemoryState::new(),
                LocalWrite::PhotoPut(p) => {
                    self.photos.insert(p.sha256.clone(), p.clone());
                }
                LocalWrite::PhotoClear => self.photos.clear(),
                LocalWrite::NoticePut(n) => {
                    self.notices.insert(n.id.clone(), n.clone());
                }
                LocalWrite::NoticeDelete(id) => {
                    self.notices.remove(id);
                }
                LocalWrite::CapturePut(c) => {
                    self.captures.insert(c.id.clone(), c.clone());
                }
                LocalWrite::CaptureDelete(id) => {
                    self.captures.remove(id);
                }
            }
        }
    }

    /// Rebuilds the state from the rows the store loaded. A row that cannot be read (written
    /// by a newer version, damaged) is skipped and counted, never fatal: the rest loads.
    pub fn from_rows(rows: Vec<StoredRow>) -> (Local, usize) {
        let mut local = Local::default();
        let mut unreadable = 0;
        for row in rows {
            let ok = match row.collection {
                Collection::Meta => match row.key.as_str() {
                    DEVICE => parse(&row.value).map(|d| local.device = Some(d)),
                    SESSION => parse(&row.value).map(|s| local.session = Some(s)),
                    SYNC => parse(&row.value).map(|s| local.sync = s),
                    _ => None,
                },
                Collection::Outbox => parse::<OutboxEntry>(&row.value).map(|e| {
                    local.outbox.insert(e.seq(), e);
                }),
                Collection::Mirror => parse::<Entity>(&row.value).map(|e| local.mirror.put(e)),
                Collection::Photos => parse::<PhotoRecord>(&row.value).map(|p| {
                    local.photos.insert(p.sha256.clone(), p);
                }),
                Collection::Notices => parse::<Notice>(&row.value).map(|n| {
                    local.notices.insert(n.id.clone(), n);
                }),
                Collection::Captures => parse::<Capture>(&row.value).map(|c| {
                    local.captures.insert(c.id.clone(), c);
                }),
            };
            if ok.is_none() {
                unreadable += 1;
            }
        }
        (local, unreadable)
    }

    /// Mutations not answered yet.
    pub fn unsent(&self) -> impl Iterator<Item = &OutboxEntry> + '_ {
        self.outbox.values().filter(|e| !e.is_acked())
    }

    pub fn unsent_count(&self) -> usize {
        self.unsent().count()
    }

    /// How many things (receipts, decisions, messages) wait to be sent: several changes to one
    /// receipt count once.
    pub fn unsent_items(&self) -> usize {
        let mut receipts = std::collections::BTreeSet::new();
        let mut others = 0;
        for e in self.unsent() {
            match crate::model::expense_of(e.mutation()) {
                Some(id) if !matches!(e.mutation(), Mutation::DecideExpense { .. }) => {
                    receipts.insert(id);
                }
                _ => others += 1,
            }
        }
        receipts.len() + others
    }

    /// The highest `seq` up to which every mutation has its result.
    pub fn acked_through(&self) -> u64 {
        let mut through = self.sync.server_seq;
        for e in self.outbox.values() {
            if e.is_acked() && e.seq() == through + 1 {
                through = e.seq();
            } else if e.seq() > through {
                break;
            }
        }
        through
    }
}

fn parse<T: serde::de::DeserializeOwned>(value: &str) -> Option<T> {
    serde_json::from_str(value).ok()
}
