//! Test harness: the core driven like a phone drives it, with an in-memory local store and a
//! fake sync server that decides with the same domain rules as the real one, serving the demo
//! firm of `kvits_demo` (the real server's demo).
//!
//! The fake is small on purpose — push (exactly once per `(client, seq)`, gaps refused, a
//! missing photo halts), pull (changes after a cursor, results after a seq, visibility by the
//! domain's `can_see`), login, `/v1/me` and uploads — so that the engine's behaviour under lost
//! answers, failures and restarts can be explored by many generated cases in little time.
//! The real server is exercised end to end by the native runtime's scenarios.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use crux_core::{App as _, Command};
use crux_http::protocol::HttpResult;
use crux_time::{Instant, TimeRequest, TimeResponse};
use kvits_protocol::{ClientId, CompanyId};

use crate::effects::{
    Collection, Effect, ProcessPhotoResponse, ProcessedPhoto, StoreError, StoreErrorKind, StoreOp,
    StoreRequest, StoreResponse, StoredRow, UploadUpdate,
};
use crate::{Event, Kvits, Model, ViewModel};

mod server;

use crate::event::{ReceiptEvent, SessionEvent};
pub use server::FakeServer;
use server::error;

pub const SERVER: &str = "http://kvits.test";

thread_local! {
    /// The fake server's time, for the `Date` header of its answers.
    static DATE: std::cell::Cell<DateTime<Utc>> = std::cell::Cell::new(t0());
}

pub fn t0() -> DateTime<Utc> {
    "2026-11-23T09:00:00Z".parse().unwrap()
}

fn uuid(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n)
}

/// A fake photo pipeline result for a file ref: a stable hash per ref.
pub fn processed(file_ref: &str) -> ProcessedPhoto {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in file_ref.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    ProcessedPhoto {
        file_ref: format!("{file_ref}.jpg"),
        sha256: format!("{h:016x}").repeat(4),
        size: 150_000 + h % 50_000,
        width: 1500,
        height: 2016,
        content_type: "image/jpeg".into(),
        thumbnail_ref: format!("{file_ref}.thumb.jpg"),
        taken_on: Some("2026-11-20".into()),
    }
}

/// What the simulated shell does with the next effect of a kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Do it.
    None,
    /// The network fails before the server sees the request.
    Drop,
    /// The server applies the request; its answer is lost.
    LoseAnswer,
    /// The server answers 503.
    Unavailable,
}

/// A phone: the core, a local store, and a link to the fake server.
pub struct Phone {
    app: Kvits,
    pub model: Model,
    cmds: Vec<Command<Effect, Event>>,
    pub effects: VecDeque<Effect>,
    /// The local store's rows.
    pub store: BTreeMap<(Collection, String), String>,
    pub clock: DateTime<Utc>,
    pub online: bool,
    /// The next commit fails with this.
    pub store_fault: Option<StoreErrorKind>,
    /// Faults for the next HTTP requests, in order.
    pub http_faults: VecDeque<Fault>,
    /// Long-polls the server had nothing for, parked as the real server parks them.
    pub parked: Vec<Effect>,
    pub renders: usize,
    /// Processing fails for these file refs.
    pub bad_photos: BTreeSet<String>,
    pub log: Vec<String>,
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phone").finish_non_exhaustive()
    }
}

impl Phone {
    /// A phone with an empty store, started.
    pub fn new(server: &mut FakeServer) -> Phone {
        Phone::with_store(server, BTreeMap::new())
    }

    /// A phone whose store holds `store` (a restart), started.
    pub fn with_store(
        server: &mut FakeServer,
        store: BTreeMap<(Collection, String), String>,
    ) -> Phone {
        Phone::restart(server, store, true)
    }

    /// A phone whose store holds `store`, started online or not.
    pub fn restart(
        server: &mut FakeServer,
        store: BTreeMap<(Collection, String), String>,
        online: bool,
    ) -> Phone {
        server.phones = server.phones.wrapping_add(1);
        let mut p = Phone {
            app: Kvits,
            model: Model::default(),
            cmds: Vec::new(),
            effects: VecDeque::new(),
            store,
            clock: server.now,
            online,
            store_fault: None,
            http_faults: VecDeque::new(),
            parked: Vec::new(),
            renders: 0,
            bad_photos: BTreeSet::new(),
            log: Vec::new(),
        };
        p.send(Event::Start {
            server_url: SERVER.into(),
            entropy: vec![server.phones; 32],
            device_name: "Test phone".into(),
            utc_offset_minutes: 120,
        });
        if !online {
            p.send(Event::NetworkChanged { online: false });
        }
        p.settle(server);
        p
    }

    /// Sends an event and collects what it asks for (without resolving anything).
    pub fn send(&mut self, event: Event) {
        let cmd = self.app.update(event, &mut self.model);
        self.cmds.push(cmd);
        self.drain();
    }

    /// Lets the core act on what was resolved.
    pub fn drain(&mut self) {
        loop {
            let mut events = Vec::new();
            for cmd in &mut self.cmds {
                self.effects.extend(cmd.effects());
                events.extend(cmd.events());
            }
            self.cmds.retain_mut(|c| !c.is_done());
            if events.is_empty() {
                break;
            }
            for e in events {
                let cmd = self.app.update(e, &mut self.model);
                self.cmds.push(cmd);
            }
        }
    }

    pub fn view(&self) -> ViewModel {
        self.app.view(&self.model)
    }

    /// Resolves effects until only parked long-polls (and pending timers) remain.
    pub fn settle(&mut self, server: &mut FakeServer) {
        for _ in 0..10_000 {
            // Wake a parked long-poll when the server has something.
            let polls: Vec<Effect> = self
                .parked
                .extract_if(.., |e| match e {
                    Effect::Http(r) => server.has_changes_after(cursor_of(&r.operation.url)),
                    _ => false,
                })
                .collect();
            self.effects.extend(polls);
            let Some(effect) = self.effects.pop_front() else {
                return;
            };
            self.resolve(effect, server);
            self.drain();
        }
        panic!(
            "the phone never settled: {:?}",
            self.log.iter().rev().take(20).collect::<Vec<_>>()
        );
    }

    /// Fires pending back-off timers (the time passes) and settles.
    pub fn fire_timers(&mut self, server: &mut FakeServer) {
        let timers: Vec<Effect> = self
            .parked
            .extract_if(.., |e| matches!(e, Effect::Time(_)))
            .collect();
        self.clock += Duration::minutes(5);
        for t in timers {
            self.resolve_timer(t);
            self.drain();
        }
        self.settle(server);
    }

    fn resolve_timer(&mut self, effect: Effect) {
        if let Effect::Time(mut req) = effect {
            let response = match req.operation {
                TimeRequest::NotifyAfter { id, .. } => TimeResponse::DurationElapsed { id },
                TimeRequest::NotifyAt { id, .. } => TimeResponse::InstantArrived { id },
                TimeRequest::Clear { id } => TimeResponse::Cleared { id },
                TimeRequest::Now => now(self.clock),
            };
            let _ = req.resolve(response);
        }
    }

    /// Resolves one effect as the shell would.
    pub fn resolve(&mut self, effect: Effect, server: &mut FakeServer) {
        match effect {
            Effect::Render(_) => self.renders += 1,
            Effect::Time(mut req) => match req.operation {
                TimeRequest::Now => {
                    self.clock += Duration::seconds(1);
                    req.resolve(now(self.clock)).unwrap();
                }
                _ => {
                    self.log.push("timer parked".into());
                    self.parked.push(Effect::Time(req));
                }
            },
            Effect::Store(mut req) => {
                let response = self.store_op(&req.operation);
                req.resolve(response).unwrap();
            }
            Effect::ProcessPhoto(mut req) => {
                let source = req.operation.source.clone();
                let response = if self.bad_photos.contains(&source) {
                    ProcessPhotoResponse::Failed(crate::effects::PhotoError {
                        code: "unsupported_format".into(),
                        message: "this is not an image (PDF, text or HEIC?)".into(),
                    })
                } else {
                    ProcessPhotoResponse::Processed(processed(&source))
                };
                req.resolve(response).unwrap();
            }
            Effect::Upload(mut req) => {
                let op = req.operation.clone();
                if !self.online {
                    req.resolve(UploadUpdate::Failed(crate::effects::UploadError {
                        kind: crate::effects::UploadErrorKind::Transient,
                        message: "offline".into(),
                    }))
                    .unwrap();
                    return;
                }
                let user = server.tokens.get(&op.token).copied();
                let Some(user) = user else {
                    req.resolve(UploadUpdate::Failed(crate::effects::UploadError {
                        kind: crate::effects::UploadErrorKind::Unauthorized,
                        message: "sign in".into(),
                    }))
                    .unwrap();
                    return;
                };
                let company = server
                    .actor(user)
                    .roles
                    .keys()
                    .next()
                    .copied()
                    .unwrap_or(CompanyId(uuid::Uuid::nil()));
                req.resolve(UploadUpdate::Progress {
                    sent: op.size / 2,
                    total: op.size,
                })
                .unwrap();
                self.drain();
                // Uploaded blobs serve every company of the uploader (possession).
                for c in server.actor(user).roles.keys() {
                    server.blobs.insert((*c, op.sha256.clone()));
                }
                let _ = company;
                req.resolve(UploadUpdate::Done).unwrap();
            }
            Effect::Http(mut req) => {
                let op = req.operation.clone();
                let long_poll = op.url.contains("wait=");
                let fault = if self.online {
                    self.http_faults.pop_front().unwrap_or(Fault::None)
                } else {
                    Fault::Drop
                };
                self.log.push(format!("{} {} {fault:?}", op.method, op.url));
                if long_poll && fault == Fault::None {
                    let cursor = cursor_of(&op.url);
                    if !server.has_changes_after(cursor) {
                        self.parked.push(Effect::Http(req));
                        return;
                    }
                }
                let result = match fault {
                    Fault::Drop => HttpResult::Err(crux_http::HttpError::Io("offline".into())),
                    Fault::Unavailable => HttpResult::Ok(error(503, "unavailable", "try later")),
                    Fault::LoseAnswer => {
                        server.handle(&op);
                        HttpResult::Err(crux_http::HttpError::Timeout)
                    }
                    Fault::None => HttpResult::Ok(server.handle(&op)),
                };
                req.resolve(result).unwrap();
            }
        }
    }

    fn store_op(&mut self, op: &StoreRequest) -> StoreResponse {
        match op {
            StoreRequest::Load => StoreResponse::Loaded {
                rows: self
                    .store
                    .iter()
                    .map(|((c, k), v)| StoredRow {
                        collection: *c,
                        key: k.clone(),
                        value: v.clone(),
                    })
                    .collect(),
            },
            StoreRequest::Commit { ops } => {
                if let Some(kind) = self.store_fault.take() {
                    return StoreResponse::Failed(StoreError {
                        kind,
                        message: "disk full".into(),
                    });
                }
                for op in ops {
                    match op {
                        StoreOp::Put {
                            collection,
                            key,
                            value,
                        } => {
                            self.store.insert((*collection, key.clone()), value.clone());
                        }
                        StoreOp::Delete { collection, key } => {
                            self.store.remove(&(*collection, key.clone()));
                        }
                        StoreOp::Clear { collection } => {
                            self.store.retain(|(c, _), _| c != collection);
                        }
                    }
                }
                StoreResponse::Committed
            }
        }
    }

    /// Signs `who` ("emma": a demo person's e-mail up to the `@`) in and settles.
    pub fn sign_in(&mut self, server: &mut FakeServer, who: &str) {
        let email = kvits_demo::person(who).map_or_else(
            || format!("{who}@{}", kvits_demo::EMAIL_DOMAIN),
            |p| p.email.to_string(),
        );
        self.send(Event::Session(SessionEvent::SignIn {
            email,
            password: kvits_demo::PASSWORD.into(),
        }));
        self.settle(server);
    }

    pub fn go_offline(&mut self) {
        self.online = false;
        self.send(Event::NetworkChanged { online: false });
    }

    pub fn go_online(&mut self, server: &mut FakeServer) {
        self.online = true;
        self.send(Event::NetworkChanged { online: true });
        self.settle(server);
    }

    /// Captures a photo and settles.
    pub fn capture(&mut self, server: &mut FakeServer, file_ref: &str) {
        self.send(Event::Receipts(ReceiptEvent::PhotoCaptured {
            file_ref: file_ref.into(),
        }));
        self.settle(server);
    }

    /// The rows of the local store, as a restart would load them.
    pub fn stored(&self) -> BTreeMap<(Collection, String), String> {
        self.store.clone()
    }

    pub fn client_id(&self) -> ClientId {
        self.model.local.device.as_ref().unwrap().client_id
    }
}

fn now(t: DateTime<Utc>) -> TimeResponse {
    TimeResponse::Now {
        instant: Instant::try_from(t).unwrap(),
    }
}

fn cursor_of(url: &str) -> u64 {
    url.split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("cursor="))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}
