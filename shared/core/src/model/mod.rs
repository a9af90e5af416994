//! The app's state and its update function, one workflow per module.
//!
//! Durable state lives in [`local::Local`] and changes only through store transactions
//! ([`Model::enqueue`]): one transaction at a time, each planned against the state the
//! previous one left, applied in memory only once the store says it is committed. Everything
//! else here (screens, forms, the sync engine's step) is what the user is doing right now.

pub mod local;

mod approvals;
mod catalog;
mod messages;
mod people;
mod receipts;
mod session;
mod sync;

use std::collections::{BTreeMap, VecDeque};

use crux_core::{Command, render::render};
use crux_time::{TimeRequest, TimeResponse};
use kvits_domain::{Actor, Applied, DomainError, MemoryState};
use kvits_protocol::{
    CompanyId, ExpenseId, Mutation, Outcome, PendingMutation, Role, ThreadId, Timestamp,
};
use rand_chacha::{
    ChaCha8Rng,
    rand_core::{RngCore, SeedableRng},
};

use crate::effects::{Effect, StoreErrorKind, StoreRequest, StoreResponse};
use crate::event::{Event, Internal};
use crate::format;

pub use approvals::RejectDraft;
pub use local::{Capture, CaptureTarget};
pub use local::{Local, LocalWrite, Notice, OutboxEntry, PhotoRecord};
pub use messages::ComposeState;
pub(crate) use people::ASSIGNABLE as ASSIGNABLE_ROLES;
pub use receipts::FormState;
pub use session::SignInState;
pub(crate) use sync::expense_of;
pub use sync::{Blocked, Step, SyncState, UploadProgress};

pub(crate) type Cmd = Command<Effect, Event>;

/// How many failures the model remembers for diagnostics.
const MAX_FAILURES: usize = 20;
/// Rows a list shows before "show more": a few screens' worth on a phone. The view model is
/// rebuilt after every event, so it carries what can be seen, not every row there is.
pub const LIST_PAGE: usize = 30;

/// Where the app is in its life.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for `Start`.
    #[default]
    NotStarted,
    /// Reading the local store.
    Loading,
    Ready,
    /// The local store could not be read; nothing is written until a new `Start` succeeds.
    Broken(String),
}

/// The screen the user is on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Screen {
    #[default]
    Loading,
    SignIn,
    Receipts,
    Receipt(ExpenseId),
    Approvals,
    Approval(ExpenseId),
    Inbox,
    Thread(ThreadId),
    Compose,
    Catalog,
}

/// What `Start` configured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub server_url: String,
    pub device_name: String,
    pub utc_offset_minutes: i32,
}

/// Ids made on the device: UUIDv7 from the clock and a generator seeded by the platform's
/// entropy at every start.
#[derive(Clone, Debug)]
pub struct Ids {
    rng: ChaCha8Rng,
}

impl Default for Ids {
    fn default() -> Self {
        Ids {
            rng: ChaCha8Rng::from_seed([0; 32]),
        }
    }
}

impl Ids {
    pub fn seeded(entropy: &[u8]) -> Self {
        let mut seed = [0u8; 32];
        for (i, b) in entropy.iter().enumerate() {
            seed[i % 32] ^= b.rotate_left((i / 32) as u32);
        }
        Ids {
            rng: ChaCha8Rng::from_seed(seed),
        }
    }

    pub fn uuid(&mut self, now: Timestamp) -> uuid::Uuid {
        let mut random = [0u8; 10];
        self.rng.fill_bytes(&mut random);
        let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
    }

    /// A number in `0..1`, for jitter.
    pub fn unit(&mut self) -> f64 {
        f64::from(self.rng.next_u32()) / (f64::from(u32::MAX) + 1.0)
    }
}

/// A change to durable state, waiting for its turn at the store.
#[derive(Clone, Debug)]
pub(crate) enum Intent {
    /// Queue these mutations (checked against the prediction when planned) with `extra`
    /// writes in the same transaction.
    Mutations {
        now: Timestamp,
        mutations: Vec<Mutation>,
        extra: Vec<LocalWrite>,
        then: After,
    },
    /// Add a photo as a page of a receipt (its pages are read when planned).
    AddPage {
        now: Timestamp,
        expense_id: ExpenseId,
        photo: PhotoRecord,
        /// The capture it came from, forgotten in the same transaction.
        capture: String,
    },
    /// Plain writes.
    Writes {
        writes: Vec<LocalWrite>,
        then: After,
    },
    /// The sync engine's writes (a pull page, push results); a failure is the engine's.
    Sync { writes: Vec<LocalWrite> },
}

/// What to do once a transaction is committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum After {
    Nothing,
    /// Tell the user, optionally leaving the form.
    Saved {
        message: Option<String>,
        close_form: bool,
    },
    /// Open the receipt's form (after a capture).
    OpenReceipt(ExpenseId),
    /// The user is signed in: go home, start syncing.
    SignedIn,
    SignedOut,
    /// Go to the home screen (of the company now chosen).
    Home,
    /// The composed message is saved: clear the composer, show the inbox.
    MessageSent,
    /// The capture is recorded: process its photo.
    Process(String),
    /// A new install's id is saved: the app can be used.
    Ready,
}

/// A planned transaction.
#[derive(Clone, Debug)]
pub(crate) struct Txn {
    writes: Vec<LocalWrite>,
    /// The prediction once these writes are applied, when the planner computed it.
    predicted: Option<MemoryState>,
    then: After,
    /// Whether the sync engine owns it (a failure means back off) or the user (tell them).
    sync: bool,
    /// Whether new mutations were queued (wake the sync engine).
    queued: bool,
}

#[derive(Debug, Default)]
pub(crate) struct StoreQueue {
    in_flight: Option<(u64, Txn)>,
    queue: VecDeque<Intent>,
    next_txn: u64,
}

impl StoreQueue {
    pub fn busy(&self) -> bool {
        self.in_flight.is_some() || !self.queue.is_empty()
    }
}

/// The whole state of the app.
#[derive(Debug, Default)]
pub struct Model {
    pub(crate) phase: Phase,
    pub(crate) config: Config,
    pub(crate) ids: Ids,
    /// The latest wall-clock reading.
    pub(crate) clock: Option<Timestamp>,
    pub(crate) local: Local,
    /// The mirror with every queued mutation applied: what the user sees.
    pub(crate) predicted: MemoryState,
    pub(crate) actor: Option<Actor>,
    pub(crate) store: StoreQueue,
    pub(crate) sync: SyncState,
    pub(crate) screen: Screen,
    pub(crate) sign_in: SignInState,
    pub(crate) form: Option<FormState>,
    pub(crate) compose: ComposeState,
    pub(crate) people: people::PeopleState,
    pub(crate) reject: Option<RejectDraft>,
    /// Captures being processed, by operation id.
    pub(crate) processing: BTreeMap<u64, String>,
    /// A message for the user about their last action.
    pub(crate) alert: Option<String>,
    pub(crate) list_limit: usize,
    next_op: u64,
    /// Answers the core could not use (wrong shape, unknown id, twice): kept for diagnostics.
    pub(crate) failures: VecDeque<String>,
    /// The tabs' counts, kept current with the prediction.
    pub(crate) derived: Derived,
}

/// What the approvals screen and the tabs need from every row, worked out when the prediction
/// or the session changes rather than in every view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Derived {
    /// Receipts waiting for this user's decision in the current company, oldest first.
    pub tasks: Vec<ExpenseId>,
    /// The last receipts this user decided in the current company, newest first.
    pub decided: Vec<ExpenseId>,
    /// The receipts list: the user's own in the current company (everyone's for accountants
    /// and admins), newest first.
    pub receipts: Vec<ExpenseId>,
    /// The inbox, newest first, with each thread's unread count.
    pub threads: Vec<(ThreadId, u32)>,
    /// Unread messages in the inbox.
    pub unread: u32,
}

impl Model {
    pub fn update(&mut self, event: Event) -> Cmd {
        let cmd = match event {
            Event::Start {
                server_url,
                entropy,
                device_name,
                utc_offset_minutes,
            } => self.start(server_url, &entropy, device_name, utc_offset_minutes),
            Event::Internal(internal) => self.internal(internal),
            Event::NetworkChanged { online } => self.network_changed(online),
            event if self.phase != Phase::Ready => {
                self.fail(format!(
                    "{} ignored: the app is not started",
                    <&str>::from(&event)
                ));
                Command::done()
            }
            event if needs_clock(&event) => Command::request_from_shell(TimeRequest::Now)
                .then_send(move |response| {
                    Event::Internal(Internal::Timed {
                        response,
                        event: Box::new(event),
                    })
                }),
            event => self.user(event, None),
        };
        cmd.and(render())
    }

    fn start(
        &mut self,
        server_url: String,
        entropy: &[u8],
        device_name: String,
        utc_offset_minutes: i32,
    ) -> Cmd {
        if matches!(self.phase, Phase::Loading | Phase::Ready) {
            // A second start (a shell re-creating its view) changes nothing durable.
            self.config.utc_offset_minutes = utc_offset_minutes;
            return Command::done();
        }
        self.config = Config {
            server_url: server_url.trim_end_matches('/').to_string(),
            device_name,
            utc_offset_minutes,
        };
        self.ids = Ids::seeded(entropy);
        self.phase = Phase::Loading;
        self.screen = Screen::Loading;
        // The clock first: ids made while loading (a new install's client id) embed it.
        Command::new(|ctx| async move {
            let response = ctx.request_from_shell(TimeRequest::Now).await;
            ctx.send_event(Event::Internal(Internal::Timer { response }));
            let loaded = ctx.request_from_shell(StoreRequest::Load).await;
            ctx.send_event(Event::Internal(Internal::Loaded(loaded)));
        })
    }

    fn internal(&mut self, internal: Internal) -> Cmd {
        match internal {
            Internal::Loaded(response) => self.loaded(response),
            Internal::Committed { txn, response } => self.committed(txn, response),
            Internal::Timed { response, event } => {
                let now = self.read_clock(&response);
                if self.phase != Phase::Ready {
                    self.fail(format!(
                        "{} ignored: the app is not started",
                        <&str>::from(&*event)
                    ));
                    return Command::done();
                }
                self.user(*event, now)
            }
            Internal::Timer { response } => self.timer(response),
            Internal::Http { op, result } => self.http(op, result),
            Internal::Photo { op, response } => self.photo_processed(op, response),
            Internal::Upload { op, update } => self.upload_update(op, update),
        }
    }

    /// Reads a clock answer; `None` (and a recorded failure) when it is not one.
    fn read_clock(&mut self, response: &TimeResponse) -> Option<Timestamp> {
        match response {
            TimeResponse::Now { instant } => match Timestamp::try_from(*instant) {
                Ok(now) => {
                    self.clock = Some(now);
                    Some(now)
                }
                Err(_) => {
                    self.fail("the clock answered a time out of range");
                    None
                }
            },
            other => {
                self.fail(format!(
                    "the clock answered {other:?} to a request for the time"
                ));
                None
            }
        }
    }

    fn user(&mut self, event: Event, now: Option<Timestamp>) -> Cmd {
        // An action that needs the time and did not get it uses the last reading.
        let now = now.or(self.clock).unwrap_or_default();
        if matches!(
            event,
            Event::Navigate(_) | Event::Back | Event::SelectCompany { .. }
        ) {
            // A message about the last action belongs to the screen it was shown on.
            self.alert = None;
        }
        match event {
            Event::Start { .. } | Event::Internal(_) | Event::NetworkChanged { .. } => {
                Command::done()
            }
            Event::Foregrounded => {
                self.sync.refresh_session = true;
                self.kick()
            }
            Event::SyncNow => self.kick(),
            Event::SignIn { email, password } => self.sign_in(email, password),
            Event::SignOut => self.sign_out(),
            Event::SelectCompany { company_id } => self.select_company(&company_id),
            Event::Navigate(route) => self.navigate(route, now),
            Event::Back => self.back(),
            Event::ShowMore => {
                self.list_limit += LIST_PAGE;
                Command::done()
            }
            Event::PhotoCaptured { file_ref } => self.photo_captured(file_ref, now),
            Event::EditForm(field) => {
                self.edit_form(field);
                Command::done()
            }
            Event::SaveDraft => self.save_form(now, false),
            Event::Submit => self.save_form(now, true),
            Event::DeleteReceipt => self.delete_receipt(now),
            Event::RemovePage { sha256 } => self.remove_page(&sha256, now),
            Event::Approve { expense_id } => self.decide(&expense_id, None, now),
            Event::Reject { expense_id, reason } => self.decide(&expense_id, Some(reason), now),
            Event::Reply { body } => self.reply(body, now),
            Event::EditCompose(field) => {
                self.edit_compose(field);
                Command::done()
            }
            Event::SendMessage => self.send_message(now),
            Event::SaveExpenseType(input) => self.save_expense_type(input, now),
            Event::SavePaymentMethod(input) => self.save_payment_method(input, now),
            Event::SaveApprovalRule(input) => self.save_approval_rule(input, now),
            Event::InviteUser(input) => self.invite_user(input),
            Event::SetMemberRoles { user_id, roles } => self.set_member_roles(&user_id, &roles),
            Event::AcceptInvitation { token, password } => self.accept_invitation(token, password),
            Event::DismissNotice { id } => self.dismiss_notice(&id),
            Event::DismissAlert => {
                self.alert = None;
                Command::done()
            }
        }
    }

    fn loaded(&mut self, response: StoreResponse) -> Cmd {
        if self.phase != Phase::Loading {
            self.fail("the store answered a load nobody asked for");
            return Command::done();
        }
        let rows = match response {
            StoreResponse::Loaded { rows } => rows,
            StoreResponse::Failed(e) => {
                self.phase =
                    Phase::Broken(format!("Could not open this device's data: {}", e.message));
                return Command::done();
            }
            StoreResponse::Committed => {
                self.phase = Phase::Broken("Could not open this device's data".into());
                self.fail("the store answered Committed to a load");
                return Command::done();
            }
        };
        let (local, unreadable) = Local::from_rows(rows);
        if unreadable > 0 {
            self.fail(format!(
                "{unreadable} stored row(s) could not be read and were skipped"
            ));
        }
        self.local = local;
        self.phase = Phase::Ready;
        self.list_limit = LIST_PAGE;
        self.refresh_actor();
        self.recompute();
        self.derived = self.derive();
        let mut cmds = Vec::new();
        if self.local.device.is_none() {
            let now = self.clock.unwrap_or_default();
            let device = local::DeviceRecord {
                client_id: kvits_protocol::ClientId(self.ids.uuid(now)),
                user_id: None,
                next_seq: self.local.outbox.keys().next_back().map_or(1, |s| s + 1),
            };
            // A first start: the app is ready once this install's id is saved.
            cmds.push(self.enqueue(Intent::Writes {
                writes: vec![LocalWrite::Device(device)],
                then: After::Ready,
            }));
        }
        // Photos taken before a crash are processed now.
        let captures: Vec<String> = self.local.captures.keys().cloned().collect();
        for id in captures {
            cmds.push(self.process(&id));
        }
        if self
            .local
            .session
            .as_ref()
            .is_some_and(|s| s.token.is_some())
        {
            self.sync.refresh_session = true;
            self.screen = self.home();
            cmds.push(self.kick());
        } else {
            if self.local.device.is_some() {
                self.screen = Screen::SignIn;
            }
            if let Some(s) = &self.local.session {
                self.sign_in.email = s.session.user.email.clone();
            }
        }
        Command::all(cmds)
    }

    fn network_changed(&mut self, online: bool) -> Cmd {
        let was = self.sync.online;
        self.sync.online = online;
        if online && !was && self.phase == Phase::Ready {
            self.kick()
        } else {
            Command::done()
        }
    }

    pub(crate) fn next_op(&mut self) -> u64 {
        self.next_op += 1;
        self.next_op
    }

    /// Records an answer the core could not use.
    pub(crate) fn fail(&mut self, what: impl Into<String>) {
        if self.failures.len() == MAX_FAILURES {
            self.failures.pop_front();
        }
        self.failures.push_back(what.into());
    }

    /// The signed-in user's company now.
    pub(crate) fn company(&self) -> Option<CompanyId> {
        self.local.session.as_ref().and_then(|s| s.company_id)
    }

    pub(crate) fn roles(&self) -> &[Role] {
        match (&self.actor, self.company()) {
            (Some(a), Some(c)) => a.roles_in(c),
            _ => &[],
        }
    }

    pub(crate) fn has_role(&self, role: Role) -> bool {
        self.roles().contains(&role)
    }

    /// The home screen for the user's roles.
    pub(crate) fn home(&self) -> Screen {
        if self.local.session.is_none() {
            return Screen::SignIn;
        }
        if self.has_role(Role::Employee) {
            Screen::Receipts
        } else if self.has_role(Role::Approver) {
            Screen::Approvals
        } else if self.has_role(Role::Accountant) || self.has_role(Role::Client) {
            Screen::Inbox
        } else {
            Screen::Receipts
        }
    }

    /// Rebuilds the actor from the session.
    pub(crate) fn refresh_actor(&mut self) {
        self.actor = self.local.session.as_ref().map(|s| Actor {
            user_id: s.session.user.id,
            name: s.session.user.name.clone(),
            firm_id: s.session.firm.id,
            roles: s
                .session
                .memberships
                .iter()
                .map(|m| (m.company_id, m.roles.clone()))
                .collect(),
        });
    }

    /// Recomputes the prediction: the mirror, plus every queued mutation that still counts.
    pub(crate) fn recompute(&mut self) {
        let mut predicted = self.local.mirror.clone();
        for p in self.local.photos.values() {
            predicted.add_blob(p.company_id, p.sha256.clone());
        }
        let server_pages: Vec<(CompanyId, String)> = self
            .local
            .mirror
            .expenses()
            .flat_map(|e| e.pages.iter().map(|p| (e.company_id, p.sha256.clone())))
            .collect();
        for (company, sha) in server_pages {
            predicted.add_blob(company, sha);
        }
        if let Some(actor) = &self.actor {
            for e in self.local.outbox.values().filter(|e| e.counts()) {
                // A mutation the prediction refuses is the server's to answer; it changes
                // nothing here.
                let _ = predicted.apply_mutation(actor, e.pending.created_at, e.mutation());
            }
        }
        self.predicted = predicted;
    }

    /// Queues a change to durable state.
    pub(crate) fn enqueue(&mut self, intent: Intent) -> Cmd {
        self.store.queue.push_back(intent);
        self.pump()
    }

    /// Starts the next transaction when none is in flight.
    fn pump(&mut self) -> Cmd {
        let mut cmds = Vec::new();
        while self.store.in_flight.is_none() {
            let Some(intent) = self.store.queue.pop_front() else {
                break;
            };
            let sync = matches!(intent, Intent::Sync { .. });
            // A refused capture is still forgotten, or it would be refused at every start.
            let forget: Vec<LocalWrite> = match &intent {
                Intent::Mutations { extra, .. } => extra
                    .iter()
                    .filter(|w| matches!(w, LocalWrite::CaptureDelete(_)))
                    .cloned()
                    .collect(),
                _ => Vec::new(),
            };
            match self.plan(intent) {
                Ok(txn) if txn.writes.is_empty() => cmds.push(self.after(txn)),
                Ok(txn) => {
                    self.store.next_txn += 1;
                    let id = self.store.next_txn;
                    let ops = txn.writes.iter().filter_map(LocalWrite::to_op).collect();
                    self.store.in_flight = Some((id, txn));
                    cmds.push(
                        Command::request_from_shell(StoreRequest::Commit { ops }).then_send(
                            move |response| {
                                Event::Internal(Internal::Committed { txn: id, response })
                            },
                        ),
                    );
                }
                Err(message) if sync => {
                    self.fail(format!("sync writes refused: {message}"));
                    cmds.push(self.sync_failed(message));
                }
                Err(message) => {
                    self.alert = Some(message);
                    if !forget.is_empty() {
                        self.store.queue.push_front(Intent::Writes {
                            writes: forget,
                            then: After::Nothing,
                        });
                    }
                }
            }
        }
        Command::all(cmds)
    }

    /// Turns an intent into writes, against the state as it is now.
    fn plan(&mut self, intent: Intent) -> Result<Txn, String> {
        match intent {
            Intent::Mutations {
                now,
                mutations,
                extra,
                then,
            } => self.plan_mutations(now, mutations, extra, then),
            Intent::AddPage {
                now,
                expense_id,
                photo,
                capture,
            } => {
                let intent = self.plan_add_page(now, expense_id, photo, capture);
                self.plan(intent)
            }
            Intent::Writes { writes, then } => Ok(Txn {
                writes,
                predicted: None,
                then,
                sync: false,
                queued: false,
            }),
            Intent::Sync { writes } => Ok(Txn {
                writes,
                predicted: None,
                then: After::Nothing,
                sync: true,
                queued: false,
            }),
        }
    }

    /// Checks mutations against the prediction and turns them into outbox rows with the next
    /// `seq`s. A mutation the rules refuse is not queued: the user is told why, now.
    fn plan_mutations(
        &mut self,
        now: Timestamp,
        mutations: Vec<Mutation>,
        extra: Vec<LocalWrite>,
        then: After,
    ) -> Result<Txn, String> {
        let actor = self.actor.clone().ok_or("Sign in first.")?;
        let Some(mut device) = self.local.device.clone() else {
            return Err("This device is not set up yet; try again in a moment.".into());
        };
        let mut predicted = self.predicted.clone();
        for w in &extra {
            if let LocalWrite::PhotoPut(p) = w {
                predicted.add_blob(p.company_id, p.sha256.clone());
            }
        }
        let mut writes = Vec::with_capacity(mutations.len() + extra.len() + 1);
        for mutation in mutations {
            match predicted.apply_mutation(&actor, now, &mutation) {
                Ok(Applied::Changes(_)) => {}
                // Nothing would change: nothing to send.
                Ok(Applied::AlreadyApplied) => continue,
                Err(DomainError::NotYet { .. }) => {}
                Err(e) => return Err(format!("{}.", format::sentence(&e.to_string()))),
            }
            let needs_blobs = self.blobs_needed(&predicted, &mutation);
            let entry = OutboxEntry {
                pending: PendingMutation {
                    seq: device.next_seq,
                    created_at: now,
                    mutation,
                },
                needs_blobs,
                result: None,
            };
            device.next_seq += 1;
            writes.push(LocalWrite::OutboxPut(entry));
        }
        let queued = !writes.is_empty();
        if queued {
            writes.push(LocalWrite::Device(device));
        }
        writes.extend(extra);
        Ok(Txn {
            writes,
            predicted: Some(predicted),
            then,
            sync: false,
            queued,
        })
    }

    /// The local photos that must be uploaded before `mutation` can be decided.
    fn blobs_needed(&self, predicted: &MemoryState, mutation: &Mutation) -> Vec<String> {
        use kvits_domain::State as _;
        let shas: Vec<String> = match mutation {
            Mutation::SubmitExpense { expense_id } => predicted
                .expense(*expense_id)
                .map(|e| e.pages.iter().map(|p| p.sha256.clone()).collect())
                .unwrap_or_default(),
            Mutation::SendMessage {
                attachment: Some(a),
                ..
            }
            | Mutation::ReplyMessage {
                attachment: Some(a),
                ..
            } => vec![a.sha256.clone()],
            _ => Vec::new(),
        };
        shas.into_iter()
            .filter(|s| self.local.photos.get(s).is_some_and(|p| !p.uploaded))
            .collect()
    }

    fn committed(&mut self, id: u64, response: StoreResponse) -> Cmd {
        let Some((in_flight, _)) = &self.store.in_flight else {
            self.fail(format!(
                "the store answered transaction {id}, which is not waiting"
            ));
            return Command::done();
        };
        if *in_flight != id {
            self.fail(format!(
                "the store answered transaction {id}, not {in_flight}"
            ));
            return Command::done();
        }
        let Some((_, txn)) = self.store.in_flight.take() else {
            return Command::done();
        };
        let cmd = match response {
            StoreResponse::Committed => self.after(txn),
            StoreResponse::Failed(e) => {
                let message = match e.kind {
                    StoreErrorKind::Full => {
                        "Not saved: this device's storage is full. Free some space and try again."
                            .to_string()
                    }
                    StoreErrorKind::Other => format!("Not saved: {}", e.message),
                };
                if txn.sync {
                    self.sync_failed(message)
                } else {
                    self.alert = Some(message);
                    Command::done()
                }
            }
            StoreResponse::Loaded { .. } => {
                self.fail("the store answered Loaded to a commit");
                let message = "Not saved: the device's storage answered wrongly.".to_string();
                if txn.sync {
                    self.sync_failed(message)
                } else {
                    self.alert = Some(message);
                    Command::done()
                }
            }
        };
        cmd.and(self.pump())
    }

    /// Applies a committed (or empty) transaction and does what follows it.
    fn after(&mut self, txn: Txn) -> Cmd {
        self.local.apply(&txn.writes);
        let touches_session = txn
            .writes
            .iter()
            .any(|w| matches!(w, LocalWrite::Session(_)));
        if touches_session {
            self.refresh_actor();
        }
        match txn.predicted {
            Some(p) => self.predicted = p,
            None => {
                let touches_state = txn.writes.iter().any(|w| {
                    !matches!(
                        w,
                        LocalWrite::Device(_)
                            | LocalWrite::Sync(_)
                            | LocalWrite::NoticePut(_)
                            | LocalWrite::NoticeDelete(_)
                            | LocalWrite::CapturePut(_)
                            | LocalWrite::CaptureDelete(_)
                    )
                });
                if touches_state {
                    self.recompute();
                }
            }
        }
        let mut cmds = Vec::new();
        match txn.then {
            After::Nothing => {}
            After::Saved {
                message,
                close_form,
            } => {
                if message.is_some() {
                    self.alert = message;
                }
                if close_form {
                    self.form = None;
                    if matches!(self.screen, Screen::Receipt(_)) {
                        self.screen = Screen::Receipts;
                    }
                }
            }
            After::OpenReceipt(id) => {
                if matches!(self.screen, Screen::Receipts | Screen::Receipt(_)) {
                    self.open_form(id);
                }
            }
            After::SignedIn => {
                self.sign_in = SignInState {
                    email: self.sign_in.email.clone(),
                    ..SignInState::default()
                };
                self.screen = self.home();
                self.sync.blocked = None;
                cmds.push(self.kick());
            }
            After::Home => {
                self.screen = self.home();
            }
            After::Process(id) => cmds.push(self.process(&id)),
            After::Ready => {
                if self.screen == Screen::Loading {
                    self.screen = self.home();
                }
            }
            After::MessageSent => {
                let count = self.compose.companies.len();
                self.compose = ComposeState::default();
                if self.screen == Screen::Compose {
                    self.screen = Screen::Inbox;
                }
                self.alert = Some(format!(
                    "Message sent to {count} compan{}.",
                    if count == 1 { "y" } else { "ies" }
                ));
            }
            After::SignedOut => {
                self.screen = Screen::SignIn;
                self.form = None;
                self.compose = ComposeState::default();
            }
        }
        self.derived = self.derive();
        if txn.sync {
            cmds.push(self.sync_applied());
        } else if txn.queued {
            cmds.push(self.kick());
        }
        Command::all(cmds)
    }

    fn dismiss_notice(&mut self, id: &str) -> Cmd {
        if !self.local.notices.contains_key(id) {
            return Command::done();
        }
        self.enqueue(Intent::Writes {
            writes: vec![LocalWrite::NoticeDelete(id.to_string())],
            then: After::Nothing,
        })
    }

    /// Adds a notice in its own transaction.
    pub(crate) fn notice_write(
        &mut self,
        now: Timestamp,
        text: String,
        expense: Option<ExpenseId>,
    ) -> LocalWrite {
        LocalWrite::NoticePut(Notice {
            id: self.ids.uuid(now).to_string(),
            at: now,
            text,
            expense_id: expense,
            fields: None,
            action_at: None,
        })
    }

    /// The outcome of the newest mutation about `expense` that the server refused.
    pub(crate) fn refused(&self, expense: ExpenseId) -> Option<&Outcome> {
        self.local
            .outbox
            .values()
            .rev()
            .filter(|e| sync::expense_of(e.mutation()) == Some(expense))
            .find_map(|e| {
                e.result
                    .as_ref()
                    .map(|r| &r.outcome)
                    .filter(|o| !o.is_success())
            })
    }
}

/// Events that carry a user action needing the time (ids, timestamps).
fn needs_clock(event: &Event) -> bool {
    matches!(
        event,
        Event::PhotoCaptured { .. }
            | Event::SaveDraft
            | Event::Submit
            | Event::DeleteReceipt
            | Event::RemovePage { .. }
            | Event::Approve { .. }
            | Event::Reject { .. }
            | Event::Reply { .. }
            | Event::SendMessage
            | Event::SaveExpenseType(_)
            | Event::SavePaymentMethod(_)
            | Event::SaveApprovalRule(_)
            | Event::Navigate(crate::event::Route::Thread { .. })
    )
}

/// Parses an id the shell sent.
pub(crate) fn parse_id<T: From<uuid::Uuid>>(s: &str) -> Option<T> {
    uuid::Uuid::parse_str(s.trim()).ok().map(T::from)
}
