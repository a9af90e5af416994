//! The sync engine: push the outbox in `seq` order, upload photos before the mutations that
//! need them, pull changes with the cursor, and back off on failure (DESIGN §3).
//!
//! One step runs at a time. When there is nothing to send, the engine long-polls the server
//! so changes made elsewhere arrive within seconds; any trigger (a new local write, the network
//! coming back, the app coming to the foreground, the back-off timer) abandons that wait and
//! starts over. Every answer is matched to the step that asked for it; a stale or unexpected
//! answer is ignored (and noted), never acted on twice.

use crux_core::Command;
use crux_http::protocol::{HttpHeader, HttpRequest, HttpResult};
use crux_time::{TimeRequest, TimeResponse, TimerId};
use kvits_protocol::{
    Change, ChangeOp, DecisionKind, ErrorBody, ErrorCode, ExpenseId, Mutation, MutationResult,
    Outcome, PROTOCOL_HEADER, PROTOCOL_VERSION, PushRequest, PushResponse, Session, Timestamp,
};
use serde::Deserialize;

use super::local::{OutboxEntry, PhotoRecord, SyncRecord};
use super::{Cmd, Intent, LocalWrite, Model, Phase};
use crate::effects::{UploadErrorKind, UploadRequest, UploadUpdate};
use crate::event::{Event, Internal};
use crate::format;

/// Mutations per push.
const PUSH_BATCH: usize = 100;
/// Rows per pull page.
const PULL_LIMIT: u32 = 500;
/// How long a pull waits on the server for changes when there is nothing else to do.
pub const LONG_POLL_SECS: u32 = 25;
const FIRST_RETRY_MS: u64 = 1_000;
const MAX_RETRY_MS: u64 = 5 * 60_000;

/// What the engine is doing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Step {
    /// Not syncing (signed out, offline, blocked, or not started).
    #[default]
    Idle,
    /// Waiting for the back-off timer.
    Backoff {
        timer: usize,
    },
    /// Refreshing the user's memberships.
    Me {
        op: u64,
    },
    Push {
        op: u64,
    },
    Pull {
        op: u64,
        long: bool,
    },
    Upload {
        op: u64,
        sha256: String,
    },
    /// Committing what the last answer brought.
    Applying,
}

/// Why the engine stopped until the user does something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// The server no longer accepts the token.
    SignIn,
    /// The server speaks a newer protocol.
    Upgrade,
}

/// Upload progress of the photo being sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadProgress {
    pub sha256: String,
    pub sent: u64,
    pub total: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncState {
    pub online: bool,
    pub step: Step,
    /// Failed attempts in a row.
    pub attempt: u32,
    pub blocked: Option<Blocked>,
    /// Why the last attempt failed, for the user.
    pub last_error: Option<String>,
    pub upload: Option<UploadProgress>,
    /// Pull without waiting next (there may be changes, e.g. after a push).
    pub needs_pull: bool,
    /// A trigger arrived while a step was running: go again right after it.
    pub again: bool,
    /// Ask the server for the user's memberships before the next push.
    pub refresh_session: bool,
    /// What to do once the engine's writes are committed.
    pub then_backoff: Option<(String, Option<u64>)>,
    next_timer: usize,
}

impl Default for SyncState {
    fn default() -> Self {
        SyncState {
            // The shell says otherwise when it knows.
            online: true,
            step: Step::Idle,
            attempt: 0,
            blocked: None,
            last_error: None,
            upload: None,
            needs_pull: true,
            again: false,
            refresh_session: false,
            then_backoff: None,
            next_timer: 0,
        }
    }
}

/// A server answer, sorted by what to do about it.
pub(crate) enum Reply {
    Ok(Vec<u8>),
    Unauthorized,
    Upgrade,
    /// Try again later (no network, 5xx, 429), after `retry_after_ms` if the server said.
    Transient(String, Option<u64>),
    /// Refused for good.
    Refused(String),
}

pub(crate) fn classify(result: HttpResult) -> Reply {
    let response = match result {
        HttpResult::Ok(r) => r,
        HttpResult::Err(_) => {
            return Reply::Transient("No connection to the server.".into(), None);
        }
    };
    let message = || {
        serde_json::from_slice::<ErrorBody>(&response.body)
            .map(|b| b.message)
            .unwrap_or_else(|_| format!("The server answered {}.", response.status))
    };
    match response.status {
        200..=299 => Reply::Ok(response.body),
        401 => Reply::Unauthorized,
        426 => Reply::Upgrade,
        408 | 429 | 500..=599 => {
            let retry_after = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("retry-after"))
                .and_then(|h| h.value.trim().parse::<u64>().ok())
                .map(|s| s.saturating_mul(1000));
            Reply::Transient(message(), retry_after)
        }
        _ => Reply::Refused(message()),
    }
}

/// A pull page read loosely: a change or result this version cannot read is skipped alone
/// (a newer server may send kinds we do not know), never the whole page.
#[derive(Deserialize)]
struct LoosePull {
    cursor: u64,
    has_more: bool,
    #[serde(default)]
    reset: bool,
    changes: Vec<serde_json::Value>,
    #[serde(default)]
    results: Vec<serde_json::Value>,
    last_seq: u64,
    server_time: Timestamp,
}

/// The expense a mutation is about.
pub(crate) fn expense_of(m: &Mutation) -> Option<ExpenseId> {
    match m {
        Mutation::CreateExpense { expense_id, .. }
        | Mutation::SetExpenseFields { expense_id, .. }
        | Mutation::AttachReceipt { expense_id, .. }
        | Mutation::SubmitExpense { expense_id }
        | Mutation::DeleteExpense { expense_id }
        | Mutation::DecideExpense { expense_id, .. } => Some(*expense_id),
        _ => None,
    }
}

impl Model {
    /// An HTTP request to the server with the session's token.
    pub(crate) fn request(&self, method: &str, path: &str, body: Option<Vec<u8>>) -> HttpRequest {
        let mut headers = vec![
            HttpHeader {
                name: PROTOCOL_HEADER.into(),
                value: PROTOCOL_VERSION.to_string(),
            },
            HttpHeader {
                name: "accept".into(),
                value: "application/json".into(),
            },
        ];
        if let Some(token) = self.local.session.as_ref().and_then(|s| s.token.as_ref()) {
            headers.push(HttpHeader {
                name: "authorization".into(),
                value: format!("Bearer {token}"),
            });
        }
        if body.is_some() {
            headers.push(HttpHeader {
                name: "content-type".into(),
                value: "application/json".into(),
            });
        }
        HttpRequest {
            method: method.into(),
            url: format!("{}{path}", self.config.server_url),
            headers,
            body: body.unwrap_or_default(),
        }
    }

    pub(crate) fn send(&mut self, request: HttpRequest) -> (u64, Cmd) {
        let op = self.next_op();
        let cmd = Command::request_from_shell(request)
            .then_send(move |result| Event::Internal(Internal::Http { op, result }));
        (op, cmd)
    }

    fn can_sync(&self) -> bool {
        self.phase == Phase::Ready
            && self.sync.online
            && self.sync.blocked.is_none()
            && self.local.device.is_some()
            && self
                .local
                .session
                .as_ref()
                .is_some_and(|s| s.token.is_some())
    }

    /// Something happened that may have work for the engine: start now unless a step runs.
    pub(crate) fn kick(&mut self) -> Cmd {
        if !self.can_sync() {
            return Command::done();
        }
        match self.sync.step {
            Step::Idle | Step::Backoff { .. } | Step::Pull { long: true, .. } => {
                self.sync.step = Step::Idle;
                self.sync.needs_pull = true;
                self.sync_next()
            }
            _ => {
                self.sync.again = true;
                Command::done()
            }
        }
    }

    /// Chooses and starts the next step.
    fn sync_next(&mut self) -> Cmd {
        self.sync.again = false;
        if !self.can_sync() {
            self.sync.step = Step::Idle;
            return Command::done();
        }
        if self.sync.refresh_session {
            self.sync.refresh_session = false;
            let request = self.request("GET", "/v1/me", None);
            let (op, cmd) = self.send(request);
            self.sync.step = Step::Me { op };
            return cmd;
        }
        let mut batch: Vec<&OutboxEntry> = Vec::new();
        let mut blocked_on: Option<String> = None;
        for e in self.local.unsent() {
            let missing = e
                .needs_blobs
                .iter()
                .find(|s| self.local.photos.get(*s).is_some_and(|p| !p.uploaded));
            if let Some(sha) = missing {
                blocked_on = Some(sha.clone());
                break;
            }
            batch.push(e);
            if batch.len() == PUSH_BATCH {
                break;
            }
        }
        if !batch.is_empty() {
            let Some(device) = &self.local.device else {
                return Command::done();
            };
            let body = PushRequest {
                client_id: device.client_id,
                mutations: batch.iter().map(|e| e.pending.clone()).collect(),
            };
            let Ok(body) = serde_json::to_vec(&body) else {
                self.fail("a push could not be serialised");
                return Command::done();
            };
            let request = self.request("POST", "/v1/sync/push", Some(body));
            let (op, cmd) = self.send(request);
            self.sync.step = Step::Push { op };
            return cmd;
        }
        if let Some(sha) = blocked_on {
            return self.start_upload(sha);
        }
        self.start_pull()
    }

    fn start_upload(&mut self, sha256: String) -> Cmd {
        let Some(photo) = self.local.photos.get(&sha256).cloned() else {
            return self.start_pull();
        };
        if let Some(why) = &photo.broken {
            // Nothing can go past this photo until the user removes it; say so.
            self.sync.last_error = Some(format!("A photo cannot be uploaded: {why}"));
            self.sync.step = Step::Idle;
            return Command::done();
        }
        let Some(token) = self.local.session.as_ref().and_then(|s| s.token.clone()) else {
            return Command::done();
        };
        let op = self.next_op();
        self.sync.step = Step::Upload {
            op,
            sha256: sha256.clone(),
        };
        self.sync.upload = Some(UploadProgress {
            sha256: sha256.clone(),
            sent: 0,
            total: photo.size,
        });
        Command::stream_from_shell(UploadRequest {
            server_url: self.config.server_url.clone(),
            token,
            file_ref: photo.file_ref.clone(),
            sha256,
            size: photo.size,
            content_type: photo.content_type.clone(),
        })
        .then_send(move |update| Event::Internal(Internal::Upload { op, update }))
    }

    fn start_pull(&mut self) -> Cmd {
        let Some(device) = &self.local.device else {
            return Command::done();
        };
        let long = !self.sync.needs_pull;
        let mut query = format!(
            "/v1/sync/pull?client_id={}&cursor={}&limit={PULL_LIMIT}&results_after={}",
            device.client_id,
            self.local.sync.cursor,
            self.local.acked_through()
        );
        if long {
            query.push_str(&format!("&wait={LONG_POLL_SECS}"));
        }
        let request = self.request("GET", &query, None);
        let (op, cmd) = self.send(request);
        self.sync.step = Step::Pull { op, long };
        cmd
    }

    /// The engine's writes are committed: carry on.
    pub(crate) fn sync_applied(&mut self) -> Cmd {
        if self.sync.step != Step::Applying {
            return Command::done();
        }
        self.sync.step = Step::Idle;
        if let Some((message, retry_after)) = self.sync.then_backoff.take() {
            return self.backoff(message, retry_after);
        }
        self.sync.attempt = 0;
        self.sync.last_error = None;
        self.sync_next()
    }

    /// The engine's writes could not be committed.
    pub(crate) fn sync_failed(&mut self, message: String) -> Cmd {
        self.sync.then_backoff = None;
        self.sync.step = Step::Idle;
        self.backoff(message, None)
    }

    fn backoff(&mut self, message: String, retry_after_ms: Option<u64>) -> Cmd {
        self.sync.attempt = self.sync.attempt.saturating_add(1);
        self.sync.last_error = Some(message);
        self.sync.upload = None;
        let exp = self.sync.attempt.saturating_sub(1).min(16);
        let ceiling = FIRST_RETRY_MS.saturating_mul(1u64 << exp).min(MAX_RETRY_MS);
        // "Equal jitter": half fixed, half random, so phones that lost the network together
        // do not come back together.
        let jittered = ceiling / 2 + (self.ids.unit() * (ceiling / 2) as f64) as u64;
        let delay = retry_after_ms.map_or(jittered, |r| r.max(jittered / 2));
        self.sync.next_timer += 1;
        let timer = self.sync.next_timer;
        self.sync.step = Step::Backoff { timer };
        Command::request_from_shell(TimeRequest::NotifyAfter {
            id: TimerId(timer),
            duration: crux_time::Duration::from_millis(delay),
        })
        .then_send(|response| Event::Internal(Internal::Timer { response }))
    }

    pub(crate) fn timer(&mut self, response: TimeResponse) -> Cmd {
        match response {
            TimeResponse::Now { .. } => {
                self.read_clock(&response);
                Command::done()
            }
            TimeResponse::DurationElapsed { id } | TimeResponse::InstantArrived { id } => {
                if self.sync.step == (Step::Backoff { timer: id.0 }) {
                    self.sync.step = Step::Idle;
                    self.sync_next()
                } else {
                    Command::done()
                }
            }
            TimeResponse::Cleared { .. } => Command::done(),
        }
    }

    /// Routes an HTTP answer to whoever asked.
    pub(crate) fn http(&mut self, op: u64, result: HttpResult) -> Cmd {
        // Answers carry the server's `Date`: notices made from them are stamped no earlier.
        if let HttpResult::Ok(r) = &result
            && let Some(date) = r
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("date"))
                .and_then(|h| chrono::DateTime::parse_from_rfc2822(h.value.trim()).ok())
        {
            let date = date.with_timezone(&chrono::Utc);
            if self.clock.is_none_or(|c| c < date) {
                self.clock = Some(date);
            }
        }
        if self.sign_in.op == Some(op) {
            return self.signed_in(result);
        }
        if self.people.op.as_ref().is_some_and(|(o, _)| *o == op) {
            return self.people_answered(result);
        }
        match self.sync.step.clone() {
            Step::Me { op: o } if o == op => self.me_answered(result),
            Step::Push { op: o } if o == op => self.pushed(result),
            Step::Pull { op: o, .. } if o == op => self.pulled(result),
            _ => {
                if op > self.next_op {
                    self.fail(format!("an answer to request {op}, which was never made"));
                }
                // Otherwise: an abandoned long-poll or a fire-and-forget sign-out.
                Command::done()
            }
        }
    }

    /// Common handling of the answers that stop the engine.
    fn stop_or_retry(&mut self, reply: Reply) -> Cmd {
        match reply {
            Reply::Ok(_) => Command::done(),
            Reply::Unauthorized => self.session_expired(),
            Reply::Upgrade => {
                self.sync.step = Step::Idle;
                self.sync.blocked = Some(Blocked::Upgrade);
                self.sync.last_error = Some(
                    "This version of Kvits is too old for the server. Update the app; everything you saved stays on this device.".into(),
                );
                Command::done()
            }
            Reply::Transient(message, retry_after) => {
                self.sync.step = Step::Idle;
                self.backoff(message, retry_after)
            }
            Reply::Refused(message) => {
                self.sync.step = Step::Idle;
                self.backoff(message, None)
            }
        }
    }

    /// The server no longer accepts the token: keep everything, ask to sign in again.
    pub(crate) fn session_expired(&mut self) -> Cmd {
        self.sync.step = Step::Idle;
        self.sync.blocked = Some(Blocked::SignIn);
        self.sync.last_error =
            Some("Your session has ended. Sign in again to send your changes.".into());
        let Some(mut record) = self.local.session.clone() else {
            return Command::done();
        };
        record.token = None;
        self.sign_in.email = record.session.user.email.clone();
        self.sign_in.error =
            Some("Your session has ended — sign in again. Nothing you saved is lost.".into());
        // The user may be in the middle of a form: the status bar asks them to sign in
        // (`Route::SignIn`) rather than the screen being taken away.
        self.enqueue(Intent::Writes {
            writes: vec![LocalWrite::Session(Some(record))],
            then: super::After::Nothing,
        })
    }

    fn me_answered(&mut self, result: HttpResult) -> Cmd {
        match classify(result) {
            Reply::Ok(body) => {
                let Ok(session) = serde_json::from_slice::<Session>(&body) else {
                    self.fail("the server's /v1/me answer could not be read");
                    self.sync.step = Step::Idle;
                    return self.sync_next();
                };
                let Some(mut record) = self.local.session.clone() else {
                    return Command::done();
                };
                if record.session == session {
                    self.sync.step = Step::Idle;
                    return self.sync_next();
                }
                let still_member = record
                    .company_id
                    .is_some_and(|c| session.memberships.iter().any(|m| m.company_id == c));
                if !still_member {
                    record.company_id = session.memberships.first().map(|m| m.company_id);
                }
                record.session = session;
                self.sync.step = Step::Applying;
                self.enqueue(Intent::Sync {
                    writes: vec![LocalWrite::Session(Some(record))],
                })
            }
            other => self.stop_or_retry(other),
        }
    }

    fn pushed(&mut self, result: HttpResult) -> Cmd {
        let body = match classify(result) {
            Reply::Ok(body) => body,
            other => return self.stop_or_retry(other),
        };
        let Ok(response) = serde_json::from_slice::<PushResponse>(&body) else {
            self.fail("the server's push answer could not be read");
            self.sync.step = Step::Idle;
            return self.backoff(
                "The server answered something this app cannot read.".into(),
                None,
            );
        };
        let mut writes = self.result_writes(response.results);
        if let Some(halt) = response.halted {
            if halt.code == ErrorCode::BlobMissing {
                for sha in &halt.missing_blobs {
                    if let Some(p) = self.local.photos.get(sha) {
                        // The server does not have it (after all): send it again.
                        writes.push(LocalWrite::PhotoPut(PhotoRecord {
                            uploaded: false,
                            ..p.clone()
                        }));
                    }
                }
                if halt
                    .missing_blobs
                    .iter()
                    .all(|s| !self.local.photos.contains_key(s))
                {
                    // Not ours to upload (another device's photo): wait for it.
                    self.sync.then_backoff = Some((halt.message, halt.retry_after_ms));
                }
            } else {
                self.sync.then_backoff = Some((halt.message, halt.retry_after_ms));
            }
        }
        self.sync.needs_pull = true;
        self.sync.step = Step::Applying;
        self.enqueue(Intent::Sync { writes })
    }

    /// Records the server's results on their outbox rows, with a notice for each refusal.
    fn result_writes(&mut self, results: Vec<MutationResult>) -> Vec<LocalWrite> {
        let mut writes = Vec::new();
        // One notice per action: a refused change usually takes the submit made with it along
        // (and they may be answered in different pushes, around the photo's upload).
        let mut noticed: std::collections::BTreeSet<(Option<ExpenseId>, Timestamp)> = self
            .local
            .notices
            .values()
            .filter_map(|n| n.action_at.map(|a| (n.expense_id, a)))
            .collect();
        for r in results {
            let Some(entry) = self.local.outbox.get(&r.seq) else {
                continue;
            };
            if entry.result.is_some() {
                continue;
            }
            let mut entry = entry.clone();
            let expense = expense_of(entry.mutation());
            let action = entry.pending.created_at;
            if !r.outcome.is_success() && noticed.insert((expense, action)) {
                let now = self.clock.unwrap_or(action);
                let mut text = self.refusal_text(&entry, &r.outcome);
                let mut notice = self.notice_write(now, String::new(), expense);
                if let LocalWrite::NoticePut(n) = &mut notice {
                    if let Mutation::SetExpenseFields { fields, .. } = entry.mutation() {
                        text.push_str(" What you entered is kept: open the receipt to correct it.");
                        n.fields = Some(fields.clone());
                    }
                    n.text = text;
                    n.action_at = Some(action);
                }
                writes.push(notice);
            }
            entry.result = Some(r);
            writes.push(LocalWrite::OutboxPut(entry));
        }
        writes
    }

    /// What the user reads when the server refused something they did.
    pub(crate) fn refusal_text(&self, entry: &OutboxEntry, outcome: &Outcome) -> String {
        let offset = self.config.utc_offset_minutes;
        let made = format::time(entry.pending.created_at, offset);
        match (entry.mutation(), outcome) {
            (
                Mutation::DecideExpense { decision, .. },
                Outcome::Conflict {
                    winner: Some(w), ..
                },
            ) => format!(
                "Your {} made offline at {made} was not applied — {} {} it at {}.",
                match decision {
                    DecisionKind::Approve => "approval",
                    DecisionKind::Reject => "rejection",
                    DecisionKind::Return => "return",
                },
                w.by_name,
                match w.kind {
                    DecisionKind::Approve => "approved",
                    DecisionKind::Reject => "rejected",
                    DecisionKind::Return => "returned",
                },
                format::time(w.at, offset)
            ),
            (m, Outcome::Rejected { message, .. } | Outcome::Conflict { message, .. }) => {
                format!(
                    "{} ({made}) was not accepted: {}.",
                    what(m),
                    format::sentence(message)
                )
            }
            (m, _) => format!("{} ({made}) was not accepted.", what(m)),
        }
    }

    fn pulled(&mut self, result: HttpResult) -> Cmd {
        let body = match classify(result) {
            Reply::Ok(body) => body,
            other => return self.stop_or_retry(other),
        };
        let Ok(page) = serde_json::from_slice::<LoosePull>(&body) else {
            self.fail("the server's pull answer could not be read");
            self.sync.step = Step::Idle;
            return self.backoff(
                "The server answered something this app cannot read.".into(),
                None,
            );
        };
        let mut writes = Vec::new();
        if page.reset {
            writes.push(LocalWrite::MirrorClear);
            // The server starts a device over when the user's access changed (new roles,
            // another company): read the session again too.
            self.sync.refresh_session = true;
        }
        let mut skipped = 0;
        for raw in page.changes {
            match serde_json::from_value::<Change>(raw) {
                Ok(change) => writes.push(match change.op {
                    ChangeOp::Upsert { entity } => LocalWrite::MirrorPut(*entity),
                    ChangeOp::Delete { kind, id } => LocalWrite::MirrorDelete(kind, id),
                }),
                Err(_) => skipped += 1,
            }
        }
        if skipped > 0 {
            self.fail(format!(
                "{skipped} change(s) of a kind this version does not know were skipped"
            ));
        }
        let results: Vec<MutationResult> = page
            .results
            .into_iter()
            .filter_map(|r| serde_json::from_value(r).ok())
            .collect();
        writes.extend(self.result_writes(results));
        // Answered mutations the mirror now includes are done.
        let answered: Vec<u64> = writes
            .iter()
            .filter_map(|w| match w {
                LocalWrite::OutboxPut(e) if e.is_acked() => Some(e.seq()),
                _ => None,
            })
            .collect();
        for (seq, e) in &self.local.outbox {
            if *seq <= page.last_seq && (e.is_acked() || answered.contains(seq)) {
                writes.push(LocalWrite::OutboxDelete(*seq));
            }
        }
        writes.push(LocalWrite::Sync(SyncRecord {
            cursor: page.cursor,
            server_seq: page.last_seq,
            last_synced_at: Some(page.server_time),
        }));
        self.sync.needs_pull = page.has_more;
        self.sync.step = Step::Applying;
        self.enqueue(Intent::Sync { writes })
    }

    pub(crate) fn upload_update(&mut self, op: u64, update: UploadUpdate) -> Cmd {
        let Step::Upload {
            op: current,
            sha256,
        } = self.sync.step.clone()
        else {
            return Command::done();
        };
        if current != op {
            return Command::done();
        }
        match update {
            UploadUpdate::Progress { sent, total } => {
                self.sync.upload = Some(UploadProgress {
                    sha256,
                    sent: sent.min(total),
                    total,
                });
                Command::done()
            }
            UploadUpdate::Done => {
                self.sync.upload = None;
                let Some(photo) = self.local.photos.get(&sha256).cloned() else {
                    self.sync.step = Step::Idle;
                    return self.sync_next();
                };
                self.sync.step = Step::Applying;
                self.enqueue(Intent::Sync {
                    writes: vec![LocalWrite::PhotoPut(PhotoRecord {
                        uploaded: true,
                        ..photo
                    })],
                })
            }
            UploadUpdate::Failed(e) => {
                self.sync.upload = None;
                match e.kind {
                    UploadErrorKind::Transient => {
                        self.sync.step = Step::Idle;
                        self.backoff(e.message, None)
                    }
                    UploadErrorKind::Unauthorized => self.session_expired(),
                    UploadErrorKind::Refused | UploadErrorKind::FileMissing => {
                        let Some(photo) = self.local.photos.get(&sha256).cloned() else {
                            self.sync.step = Step::Idle;
                            return Command::done();
                        };
                        let now = self.clock.unwrap_or_default();
                        let notice = self.notice_write(
                            now,
                            format!("A receipt photo could not be uploaded: {}. Remove it from the receipt and take it again.", e.message),
                            None,
                        );
                        self.sync.step = Step::Applying;
                        self.enqueue(Intent::Sync {
                            writes: vec![
                                LocalWrite::PhotoPut(PhotoRecord {
                                    broken: Some(e.message),
                                    ..photo
                                }),
                                notice,
                            ],
                        })
                    }
                }
            }
        }
    }
}

/// "Your receipt", "Your approval", ... for notices.
fn what(m: &Mutation) -> &'static str {
    match m {
        Mutation::CreateExpense { .. } => "A new receipt",
        Mutation::SetExpenseFields { .. } => "A change to a receipt",
        Mutation::AttachReceipt { .. } => "A receipt photo",
        Mutation::SubmitExpense { .. } => "A submitted receipt",
        Mutation::DeleteExpense { .. } => "Deleting a receipt",
        Mutation::DecideExpense { .. } => "Your decision",
        Mutation::SendMessage { .. } => "Your message",
        Mutation::ReplyMessage { .. } => "Your reply",
        Mutation::MarkRead { .. } => "A read receipt",
        Mutation::PutExpenseType(_) => "An expense type",
        Mutation::PutPaymentMethod(_) => "A payment method",
        Mutation::PutApprovalRule(_) => "An approval rule",
    }
}

impl Model {
    pub(crate) fn network_changed(&mut self, online: bool) -> Cmd {
        let was = self.sync.online;
        self.sync.online = online;
        if online && !was && self.phase == Phase::Ready {
            self.kick()
        } else {
            Command::done()
        }
    }
}
