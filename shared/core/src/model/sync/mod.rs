//! The sync engine: push the outbox in `seq` order, upload photos before the mutations that
//! need them, pull changes with the cursor, and back off on failure (docs/design.md §3).
//!
//! One step runs at a time. When there is nothing to send, the engine long-polls the server
//! so changes made elsewhere arrive within seconds; any trigger (a new local write, the network
//! coming back, the app coming to the foreground, the back-off timer) abandons that wait and
//! starts over. Every answer is matched to the step that asked for it; a stale or unexpected
//! answer is ignored (and noted), never acted on twice.

mod backoff;
mod lost;
mod pull;
mod push;
mod upload;

use crux_core::Command;
use crux_http::protocol::{HttpHeader, HttpRequest, HttpResult};
use facet::Facet;
use kvits_protocol::{
    AnswerClass, CompanyId, ExpenseId, Mutation, OpenCompanyRequest, OpenCompanyResponse,
    PROTOCOL_HEADER, PROTOCOL_VERSION, PushRequest, Session, answer_message, classify_answer,
};
use serde::{Deserialize, Serialize};

use super::local::OutboxEntry;
use super::{Cmd, Intent, LocalWrite, Model, Phase};
use crate::event::{Event, Internal};

/// Mutations per push.
const PUSH_BATCH: usize = 100;
/// Rows per pull page.
const PULL_LIMIT: u32 = 500;
/// How long a pull waits on the server for changes when there is nothing else to do.
pub const LONG_POLL_SECS: u32 = 25;
const FIRST_RETRY_MS: u64 = 1_000;
const MAX_RETRY_MS: u64 = 5 * 60_000;

/// What the user asks of sync.
#[derive(Facet, Clone, Debug, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[repr(C)]
pub enum SyncEvent {
    /// Pull to refresh: sync now, whatever the back-off timer says.
    Now,
    /// Put away a notice (a refused change, a lost approval race).
    DismissNotice { id: String },
}

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
    /// Opening the current client on this install (the firm's staff), so its documents come.
    Open {
        op: u64,
        company: CompanyId,
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
    /// The clients this install has opened while the app runs (the firm's staff): the server
    /// sends a client's documents to a staff install only once it opened the client there.
    pub opened: std::collections::BTreeSet<CompanyId>,
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
            opened: std::collections::BTreeSet::new(),
            then_backoff: None,
            next_timer: 0,
        }
    }
}

/// A server answer, sorted by what to do about it.
pub(crate) enum Reply {
    Ok(Vec<u8>),
    /// The session ended; the server's reason when it gave one.
    Unauthorized(Option<String>),
    Upgrade,
    /// Try again later (no network, 5xx, 429), after `retry_after_ms` if the server said.
    Transient(String, Option<u64>),
    /// Refused for good.
    Refused(String),
}

/// Sorts an HTTP result by what the engine does about it.
pub(crate) fn classify(result: HttpResult) -> Reply {
    let response = match result {
        HttpResult::Ok(r) => r,
        HttpResult::Err(_) => {
            return Reply::Transient("No connection to the server.".into(), None);
        }
    };
    let message = || {
        answer_message(&response.body)
            .unwrap_or_else(|| format!("The server answered {}.", response.status))
    };
    let retry_after = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("retry-after"))
        .map(|h| h.value.as_str());
    // The one table of what an answer means, shared with the native runtime and the web shell.
    match classify_answer(response.status, retry_after) {
        AnswerClass::Success => Reply::Ok(response.body),
        // Only our server's own sentence is a reason (a proxy's 401 page is not).
        AnswerClass::SignInAgain => Reply::Unauthorized(
            serde_json::from_slice::<kvits_protocol::ErrorBody>(&response.body)
                .ok()
                .map(|e| e.message),
        ),
        AnswerClass::UpdateApp => Reply::Upgrade,
        AnswerClass::Retry { retry_after_ms } => Reply::Transient(message(), retry_after_ms),
        AnswerClass::Permanent => Reply::Refused(message()),
    }
}

/// The expense a mutation is about.
pub(crate) fn expense_of(m: &Mutation) -> Option<ExpenseId> {
    match m {
        Mutation::CreateExpense { expense_id, .. }
        | Mutation::SetExpenseFields { expense_id, .. }
        | Mutation::SetDocumentType { expense_id, .. }
        | Mutation::AttachReceipt { expense_id, .. }
        | Mutation::SubmitExpense { expense_id }
        | Mutation::DeleteExpense { expense_id }
        | Mutation::DecideExpense { expense_id, .. } => Some(*expense_id),
        _ => None,
    }
}

impl Model {
    pub(in crate::model) fn update_sync(&mut self, event: SyncEvent) -> Cmd {
        match event {
            SyncEvent::Now => self.kick(),
            SyncEvent::DismissNotice { id } => self.dismiss_notice(&id),
        }
    }

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
        if let Some(company) = self
            .company()
            .filter(|c| self.is_staff() && !self.sync.opened.contains(c))
            && let Some(device) = &self.local.device
        {
            let body = OpenCompanyRequest {
                client_id: device.client_id,
                company_id: company,
            };
            let Ok(body) = serde_json::to_vec(&body) else {
                return Command::done();
            };
            let request = self.request("POST", "/v1/sync/open", Some(body));
            let (op, cmd) = self.send(request);
            self.sync.step = Step::Open { op, company };
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
        if self.firm.op.as_ref().is_some_and(|(o, _)| *o == op) {
            return self.firm_answered(result);
        }
        if self.clients.op == Some(op) {
            return self.clients_answered(result);
        }
        if self.export.waits_for(op) {
            return self.export_answered(op, result);
        }
        match self.sync.step.clone() {
            Step::Me { op: o } if o == op => self.me_answered(result),
            Step::Open { op: o, company } if o == op => self.opened(company, result),
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

    /// The server opened `company` on this install: when it is new there, the next pull
    /// starts over and brings its documents.
    fn opened(&mut self, company: CompanyId, result: HttpResult) -> Cmd {
        match classify(result) {
            Reply::Ok(body) => {
                if serde_json::from_slice::<OpenCompanyResponse>(&body).is_err() {
                    self.fail("the server's answer to opening a client could not be read");
                }
                self.sync.opened.insert(company);
                self.sync.needs_pull = true;
                self.sync.step = Step::Idle;
                self.sync_next()
            }
            other => self.stop_or_retry(other),
        }
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
