//! Pulling changes after the cursor (a long poll when there is nothing to send) and applying
//! them, or the reset that replaces the mirror.

use crux_core::Command;
use crux_http::protocol::HttpResult;
use kvits_protocol::{Change, ChangeOp, MutationResult, Timestamp};
use serde::Deserialize;

use super::{LONG_POLL_SECS, PULL_LIMIT, Reply, Step, classify};
use crate::model::local::{KEEP_SENT_DAYS, OutboxEntry, SyncRecord};
use crate::model::{Cmd, Intent, LocalWrite, Model};

/// A pull page read loosely: a change or result this version cannot read is skipped alone
/// (a newer server may send kinds we do not know), never the whole page.
#[derive(Deserialize)]
pub(super) struct LoosePull {
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

impl Model {
    pub(super) fn start_pull(&mut self) -> Cmd {
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

    pub(super) fn pulled(&mut self, result: HttpResult) -> Cmd {
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
        if page.last_seq < self.local.sync.server_seq {
            // The server no longer has mutations it had answered: it was restored from an
            // older backup. Send again everything this device still holds.
            return self.client_state_lost();
        }
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
        // Answered mutations the mirror now includes are done (an applied one is kept a while).
        let answers: std::collections::BTreeMap<u64, &OutboxEntry> = writes
            .iter()
            .filter_map(|w| match w {
                LocalWrite::OutboxPut(e) if e.is_acked() => Some((e.seq(), e)),
                _ => None,
            })
            .collect();
        let forget_before = page.server_time - chrono::TimeDelta::days(KEEP_SENT_DAYS);
        let mut settled = Vec::new();
        for (seq, e) in &self.local.outbox {
            let e = answers.get(seq).copied().unwrap_or(e);
            if *seq > page.last_seq || !e.is_acked() {
                continue;
            }
            match e.confirmed_at {
                // Kept in case the server loses it, until it is old enough.
                Some(at) if at < forget_before => settled.push(LocalWrite::OutboxDelete(*seq)),
                Some(_) => {}
                // Applied: the mirror has it now; kept a while for a server that loses it.
                None if e.result.as_ref().is_some_and(|r| r.outcome.is_success()) => {
                    settled.push(LocalWrite::OutboxPut(OutboxEntry {
                        confirmed_at: Some(page.server_time),
                        ..e.clone()
                    }));
                }
                // Refused: nothing to send again.
                None => settled.push(LocalWrite::OutboxDelete(*seq)),
            }
        }
        writes.extend(settled);
        writes.push(LocalWrite::Sync(SyncRecord {
            cursor: page.cursor,
            server_seq: page.last_seq,
            last_synced_at: Some(page.server_time),
        }));
        let changed = writes.iter().any(|w| {
            matches!(
                w,
                LocalWrite::MirrorPut(_) | LocalWrite::MirrorDelete(..) | LocalWrite::MirrorClear
            )
        });
        self.sync.needs_pull = page.has_more;
        self.sync.step = Step::Applying;
        let apply = self.enqueue(Intent::Sync { writes });
        let overview = self.overview_after_pull(changed, page.server_time);
        Command::all([apply, overview])
    }
}
