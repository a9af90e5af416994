//! The store's transaction queue: every change to durable state waits here for its turn.
//!
//! A change arrives as an [`Intent`], is planned into writes against the state the previous
//! transaction left (mutations are checked against the prediction and given their `seq`s),
//! committed by the shell's store, and only then applied in memory, followed by what the
//! caller asked to happen next ([`After`]).

use std::collections::VecDeque;

use crux_core::Command;
use kvits_domain::{Applied, DomainError, MemoryState};
use kvits_protocol::{ExpenseId, Mutation, PendingMutation, Timestamp};

use super::{Cmd, ComposeState, LocalWrite, Model, OutboxEntry, PhotoRecord, Screen, SignInState};
use crate::effects::{StoreErrorKind, StoreRequest, StoreResponse};
use crate::event::{Event, Internal};
use crate::format;

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
    /// Go to this screen (of the company now chosen).
    Show(Screen),
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

impl Model {
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
                confirmed_at: None,
                replay: false,
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

    pub(crate) fn committed(&mut self, id: u64, response: StoreResponse) -> Cmd {
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
                    self.receipts.form = None;
                    if matches!(self.screen, Screen::Receipt(_)) {
                        self.screen = Screen::Receipts;
                    }
                }
            }
            After::OpenReceipt(id) => {
                // Not over another screen the user went to meanwhile (a photo is processed
                // in the background); the card payments screen starts a receipt on purpose.
                if matches!(
                    self.screen,
                    Screen::Receipts | Screen::Receipt(_) | Screen::Cards
                ) {
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
                cmds.push(self.load_clients());
            }
            After::Home => {
                self.screen = self.home();
                cmds.push(self.load_clients());
                // Another company: a staff install opens it on the server.
                cmds.push(self.kick());
            }
            After::Show(screen) => {
                self.screen = screen;
                cmds.push(self.kick());
            }
            After::Process(id) => cmds.push(self.process(&id)),
            After::Ready => {
                if self.screen == Screen::Loading {
                    self.screen = self.home();
                    cmds.push(self.load_clients());
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
                self.receipts.form = None;
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
}
