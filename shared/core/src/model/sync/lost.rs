//! When the server lost what this device sent (it was restored from an older backup, or lost
//! acknowledged writes): it answers a push `409 client_state_lost`, or a pull shows a `last_seq`
//! below the one it had answered. The device then takes a new client id and sends again, from
//! `seq` 1, every mutation it still holds — the applied ones it keeps for a while
//! ([`KEEP_SENT_DAYS`](crate::model::local::KEEP_SENT_DAYS)) and the unsent ones — and pulls its
//! mirror again from the start. The mutations name stable ids, so what the server still had is
//! answered "already applied" and nothing is duplicated.

use crate::model::local::{DeviceRecord, OutboxEntry, SyncRecord};
use crate::model::{Cmd, Intent, LocalWrite, Model};

use super::Step;

impl Model {
    pub(super) fn client_state_lost(&mut self) -> Cmd {
        let Some(device) = self.local.device.clone() else {
            self.sync.step = Step::Idle;
            return crux_core::Command::done();
        };
        let now = self.clock.unwrap_or_default();
        let client_id = kvits_protocol::ClientId(self.ids.uuid(now));
        let mut writes: Vec<LocalWrite> = Vec::new();
        let mut again: Vec<OutboxEntry> = Vec::new();
        for (seq, e) in &self.local.outbox {
            writes.push(LocalWrite::OutboxDelete(*seq));
            match &e.result {
                // Refused: nothing to send again.
                Some(r) if !r.outcome.is_success() => {}
                // Applied once: sent again as a replay.
                Some(_) => again.push(OutboxEntry {
                    replay: true,
                    ..e.clone()
                }),
                None => again.push(e.clone()),
            }
        }
        let mut next_seq = 1;
        for mut e in again {
            e.pending.seq = next_seq;
            e.result = None;
            e.confirmed_at = None;
            next_seq += 1;
            writes.push(LocalWrite::OutboxPut(e));
        }
        writes.push(LocalWrite::Device(DeviceRecord {
            client_id,
            user_id: device.user_id,
            next_seq,
        }));
        writes.push(LocalWrite::MirrorClear);
        writes.push(LocalWrite::Sync(SyncRecord::default()));
        self.fail(format!(
            "the server lost this device's state: client {} replaced by {client_id}, {} change(s) \
             sent again",
            device.client_id,
            next_seq - 1
        ));
        // The server forgot which clients this install opened, too.
        self.sync.opened.clear();
        self.sync.needs_pull = true;
        self.sync.step = Step::Applying;
        self.enqueue(Intent::Sync { writes })
    }
}
