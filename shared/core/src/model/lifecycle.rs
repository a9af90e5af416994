//! Starting the app: reading the clock and the local store, saving a new install's id,
//! processing photos left from before a crash, and resuming where the user was.

use crux_core::Command;
use crux_time::TimeRequest;

use super::{
    After, Cmd, Config, Ids, Intent, LIST_PAGE, Local, LocalWrite, Model, Phase, Screen, local,
};
use crate::effects::{StoreRequest, StoreResponse};
use crate::event::{Event, Internal};

impl Model {
    pub(crate) fn start(
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

    pub(crate) fn loaded(&mut self, response: StoreResponse) -> Cmd {
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
}
