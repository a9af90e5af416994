//! When a step ends: the next step, or waiting after a failure (doubling from a second up to
//! five minutes, with jitter, or what the server asked), or stopping until the user signs in
//! or updates the app.

use crux_core::Command;
use crux_time::{TimeRequest, TimeResponse, TimerId};

use super::{Blocked, FIRST_RETRY_MS, MAX_RETRY_MS, Reply, Step};
use crate::event::{Event, Internal};
use crate::format;
use crate::model::{Cmd, Intent, LocalWrite, Model};

impl Model {
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

    pub(super) fn backoff(&mut self, message: String, retry_after_ms: Option<u64>) -> Cmd {
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

    /// Common handling of the answers that stop the engine.
    pub(super) fn stop_or_retry(&mut self, reply: Reply) -> Cmd {
        match reply {
            Reply::Ok(_) => Command::done(),
            Reply::Unauthorized(reason) => self.session_expired(reason),
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
    /// The server ended the session (`reason`: what it said, e.g. that the person's access was
    /// turned off): the outbox stays, and the user is asked to sign in again.
    pub(crate) fn session_expired(&mut self, reason: Option<String>) -> Cmd {
        self.sync.step = Step::Idle;
        self.sync.blocked = Some(Blocked::SignIn);
        let reason = reason.map(|r| format::sentence(&r));
        self.sync.last_error = Some(match &reason {
            Some(r) => format!("Your session has ended. {r}."),
            None => "Your session has ended. Sign in again to send your changes.".into(),
        });
        let Some(mut record) = self.local.session.clone() else {
            return Command::done();
        };
        record.token = None;
        self.sign_in.email = record.session.user.email.clone();
        self.sign_in.error = Some(match reason {
            Some(r) => format!("{r}. Nothing you saved is lost."),
            None => "Your session has ended — sign in again. Nothing you saved is lost.".into(),
        });
        // The user may be in the middle of a form: the status bar asks them to sign in
        // (`Route::SignIn`) rather than the screen being taken away.
        self.enqueue(Intent::Writes {
            writes: vec![LocalWrite::Session(Some(record))],
            then: crate::model::After::Nothing,
        })
    }
}
