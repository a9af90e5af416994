//! `POST /v1/sync/push` and `GET /v1/sync/pull` (docs/design.md §3), and the approver's task list.
//!
//! Push: each mutation runs in its own transaction that applies its effects, stores its
//! result and advances the client's `last_seq` — so it happens exactly once, however often
//! the client resends. Permanent failures are stored and advance too; a mutation that cannot
//! be decided yet (its photo is not uploaded) halts the batch without being consumed. A busy
//! database (a transient failure) consumes nothing either: before any answer it is a 503 with
//! `Retry-After`; after some mutations were answered it halts the batch there (`unavailable`,
//! with `retry_after_ms`), so the client keeps the answers it has.
//!
//! Pull: rows whose version (the tenant's change counter) is above the cursor, filtered by
//! what the user may see, in version order; an empty answer can long-poll.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use kvits_domain::{Applied, DomainError};
use kvits_protocol::{
    Change, ChangeOp, ClientId, CompanyId, Entity, EntityKind, ErrorCode, Expense, FirmId, Halt,
    MAX_PULL_LIMIT, MAX_PULL_WAIT_SECS, MAX_PUSH_MUTATIONS, MutationResult, OpenCompanyRequest,
    OpenCompanyResponse, Outcome, PendingMutation, PullQuery, PullResponse, PushRequest,
    PushResponse, RejectCode,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use crate::AppState;
use crate::api::{Operation, Routes};
use crate::auth::{AuthUser, bind_client};
use crate::error::{ApiError, ApiResult, Json, Query};
use crate::openapi::{query_params_of, schema};
use crate::store::{self, DbState};

/// Default pull page size.
pub const DEFAULT_PULL_LIMIT: u32 = 500;

/// Push of queued mutations, pull of changes, approval tasks.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .post("/v1/sync/push", push, |g| {
            Operation::new("push", "sync", "Send queued mutations")
                .describe(format!(
                    "The next mutations of the client's outbox, in `seq` order without gaps, \
                     starting at most at the server's `last_seq + 1` (earlier ones are answered \
                     from storage), at most {max} at a time. Each is applied exactly once; \
                     `rejected` and `conflict` results are final. A mutation that can succeed \
                     later (a `submit` whose photo is not uploaded yet) stops the batch without \
                     being consumed: see `halted`. Each mutation is read on its own: one this \
                     server cannot read (an unknown `name`, from a newer app) only needs its \
                     `seq`, and is answered `rejected` with code `invalid` while the queue moves \
                     on.",
                    max = MAX_PUSH_MUTATIONS,
                ))
                .bearer()
                .json_body(schema::<PushRequest>(g))
                .db()
                .json(
                    200,
                    "One result per mutation processed, in order.",
                    schema::<PushResponse>(g),
                )
                .error(
                    400,
                    "`bad_request`: a mutation without a whole-number `seq`, or mutations not in \
                     `seq` order from 1 or later without gaps.",
                )
                .error(
                    403,
                    "`forbidden`: the `client_id` is bound to another user.",
                )
                .error(
                    409,
                    "`client_state_lost`: the first `seq` is beyond `last_seq + 1`, so the \
                     server no longer has mutations it answered this client (it was restored \
                     from an older backup); `details.expected` is the next one it expects. The \
                     client takes a new `client_id` and sends again, from `seq` 1, every \
                     mutation it still holds.",
                )
                .error(
                    413,
                    format!("`too_large`: more than {MAX_PUSH_MUTATIONS} mutations."),
                )
        })
        .get("/v1/sync/pull", pull, |g| {
            Operation::new("pull", "sync", "Fetch changes")
                .describe(format!(
                    "The rows changed after `cursor` that the user may see, in version order, at \
                     most `limit` (default {default}, at most {max}) per page; with `wait` (at \
                     most {wait} s) an empty answer waits for a change (long poll). Apply \
                     `changes`, `results` and `cursor` in one local transaction.",
                    default = DEFAULT_PULL_LIMIT,
                    max = MAX_PULL_LIMIT,
                    wait = MAX_PULL_WAIT_SECS,
                ))
                .bearer()
                .query_params(query_params_of::<PullQuery>(g))
                .db()
                .json(200, "One page of changes.", schema::<PullResponse>(g))
                .error(
                    403,
                    "`forbidden`: the `client_id` is bound to another user.",
                )
        })
        .post("/v1/sync/open", open_company, |g| {
            Operation::new("openCompany", "sync", "Open a client on this install")
                .describe(
                    "The firm's staff. A staff install's pulls carry every client's company row, \
                     catalog and conversations, but a client's documents only once the install \
                     has opened that client here. Opening a client the install had not opened \
                     makes its next pull start over (`reset`), bringing them.",
                )
                .bearer()
                .json_body(schema::<OpenCompanyRequest>(g))
                .db()
                .json(200, "Opened.", schema::<OpenCompanyResponse>(g))
                .error(
                    403,
                    "`forbidden`: not the firm's staff, or the `client_id` is bound to another \
                     user.",
                )
                .error(404, "`not_found`: no such client company among the user's.")
        })
        .get("/v1/approvals", approvals, |g| {
            Operation::new("approvals", "sync", "Expenses waiting for my decision")
                .describe("Submitted expenses whose current step this user decides, oldest first.")
                .bearer()
                .query_params(vec![json!({
                    "name": "company_id",
                    "in": "query",
                    "required": false,
                    "description": "Only this company's.",
                    "schema": schema::<CompanyId>(g),
                })])
                .db()
                .json(
                    200,
                    "The approval tasks.",
                    json!({"type": "array", "items": schema::<Expense>(g)}),
                )
        })
}

/// Wakes the firm's waiting pulls after a commit.
pub async fn announce(state: &AppState, firm: FirmId) -> ApiResult<()> {
    let version = state
        .db
        .read(move |c| store::current_version(c, firm))
        .await?;
    state.changes.notify(firm, version);
    Ok(())
}

/// Wakes long-polling pulls when a tenant's counter moves.
#[derive(Clone, Debug, Default)]
pub struct ChangeFeed {
    firms: Arc<Mutex<HashMap<FirmId, watch::Sender<u64>>>>,
}

impl ChangeFeed {
    fn sender(&self, firm: FirmId) -> watch::Sender<u64> {
        let mut firms = match self.firms.lock() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        firms
            .entry(firm)
            .or_insert_with(|| watch::channel(0).0)
            .clone()
    }

    /// A receiver that sees the next change of `firm`.
    pub fn subscribe(&self, firm: FirmId) -> watch::Receiver<u64> {
        self.sender(firm).subscribe()
    }

    /// Tells waiting pulls that `firm` changed.
    pub fn notify(&self, firm: FirmId, version: u64) {
        self.sender(firm).send_replace(version);
    }
}

/// A push as it arrives: each mutation is read on its own, so one this server cannot
/// understand (from a newer app, or a buggy one) is refused by itself — stored as `rejected`,
/// advancing the queue — instead of blocking every later mutation behind it.
#[derive(Debug, Deserialize)]
struct RawPush {
    client_id: ClientId,
    mutations: Vec<serde_json::Value>,
}

/// One mutation of a push: its `seq`, and the mutation or why it could not be read.
type Item = (u64, Result<PendingMutation, String>);

async fn push(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<RawPush>,
) -> ApiResult<Json<PushResponse>> {
    if req.mutations.len() > MAX_PUSH_MUTATIONS {
        return Err(ApiError::too_large(format!(
            "push at most {MAX_PUSH_MUTATIONS} mutations at a time"
        )));
    }
    let mut items: Vec<Item> = Vec::with_capacity(req.mutations.len());
    for value in req.mutations {
        let Some(seq) = value.get("seq").and_then(serde_json::Value::as_u64) else {
            return Err(ApiError::bad_request(
                "every mutation needs a whole-number \"seq\"",
            ));
        };
        let parsed = serde_json::from_value::<PendingMutation>(value).map_err(|e| e.to_string());
        items.push((seq, parsed));
    }
    if let Some((first, _)) = items.first() {
        let contiguous = *first >= 1 && items.windows(2).all(|w| w[1].0 == w[0].0.wrapping_add(1));
        if !contiguous {
            return Err(ApiError::bad_request(
                "mutations must be in seq order, starting at 1 or later, without gaps",
            ));
        }
    }
    let firm = user.firm_id;
    let client = req.client_id;
    let response = state
        .db
        .write(move |c| process_items(c, &user, client, &items))
        .await?;
    announce(&state, firm).await?;
    Ok(Json(response))
}

fn last_seq(c: &Connection, client: ClientId) -> ApiResult<u64> {
    let seq: i64 = c.query_row(
        "SELECT last_seq FROM clients WHERE client_id = ?1",
        [client.to_string()],
        |r| r.get(0),
    )?;
    Ok(seq as u64)
}

fn stored_result(c: &Connection, client: ClientId, seq: u64) -> ApiResult<MutationResult> {
    let json: Option<String> = c
        .prepare_cached("SELECT result FROM mutation_results WHERE client_id = ?1 AND seq = ?2")?
        .query_row(params![client.to_string(), seq as i64], |r| r.get(0))
        .optional()?;
    Ok(match json {
        Some(j) => serde_json::from_str(&j)?,
        None => MutationResult {
            seq,
            outcome: Outcome::AlreadyApplied,
        },
    })
}

/// Runs a push on the writer connection.
pub fn process_push(
    c: &mut Connection,
    user: &AuthUser,
    req: &PushRequest,
) -> ApiResult<PushResponse> {
    let items: Vec<Item> = req
        .mutations
        .iter()
        .map(|m| (m.seq, Ok(m.clone())))
        .collect();
    process_items(c, user, req.client_id, &items)
}

fn process_items(
    c: &mut Connection,
    user: &AuthUser,
    client: ClientId,
    items: &[Item],
) -> ApiResult<PushResponse> {
    bind_client(c, client, user.user_id, None)?;
    let mut last = last_seq(c, client)?;
    let mut response = PushResponse {
        last_seq: last,
        results: Vec::with_capacity(items.len()),
        halted: None,
    };
    let Some((first, _)) = items.first() else {
        return Ok(response);
    };
    if *first > last + 1 {
        return Err(ApiError::conflict(
            ErrorCode::ClientStateLost,
            format!(
                "mutation {first} arrived but {} is the next one expected: this server no longer \
                 has what this client sent before; send everything again under a new client id",
                last + 1
            ),
        )
        .with_details(serde_json::json!({ "expected": last + 1 })));
    }
    let actor = store::actor(c, user.user_id)?;
    for (seq, item) in items {
        let seq = *seq;
        let step = if seq <= last {
            stored_result(c, client, seq).map(Step::Done)
        } else {
            decide(c, user, &actor, client, seq, item)
        };
        match step {
            Ok(Step::Done(result)) => {
                last = last.max(seq);
                response.results.push(result);
            }
            Ok(Step::Halt(halt)) => {
                response.halted = Some(halt);
                break;
            }
            // Busy after some answers (the mutations before this one are committed): answer
            // them, and stop here without consuming this one, as for any mutation that can
            // succeed later. With no answer yet the whole push is a 503.
            Err(e) if e.is_transient() && !response.results.is_empty() => {
                tracing::info!(seq, "push halted: the database is busy");
                response.halted = Some(Halt {
                    seq,
                    code: e.code,
                    message: e.message,
                    missing_blobs: Vec::new(),
                    retry_after_ms: Some(crate::error::RETRY_AFTER_SECS * 1000),
                });
                break;
            }
            Err(e) => return Err(e),
        }
    }
    response.last_seq = last;
    Ok(response)
}

/// What became of one new mutation of a push.
enum Step {
    /// Decided and stored (applied, or refused for good); `last_seq` moved to it.
    Done(MutationResult),
    /// Can succeed later (its photo is not uploaded yet): not consumed, the push stops here.
    Halt(Halt),
}

/// Decides mutation `seq` (the next one of `client`) in a transaction of its own that applies
/// its writes, stores its result and advances `last_seq` — or, on any error, changes nothing.
fn decide(
    c: &mut Connection,
    user: &AuthUser,
    actor: &kvits_domain::Actor,
    client: ClientId,
    seq: u64,
    item: &Result<PendingMutation, String>,
) -> ApiResult<Step> {
    let mut tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = crate::now();
    let (name, outcome) = match item {
        Err(why) => (
            "unreadable",
            Outcome::Rejected {
                code: RejectCode::Invalid,
                message: format!("the server cannot read this change: {why}"),
            },
        ),
        // Export batches are the server's own: an app cannot put a document in one.
        Ok(m) if m.mutation.is_server_only() => (
            m.mutation.name(),
            Outcome::Rejected {
                code: RejectCode::Forbidden,
                message: "only the server's export makes this change".into(),
            },
        ),
        Ok(m) => {
            let watch = crate::cards::watch(&tx, &m.mutation)?;
            let db_state = DbState::for_user(&tx, user.user_id);
            let decided = kvits_domain::apply(&db_state, actor, now, &m.mutation);
            if let Some(e) = db_state.take_error() {
                return Err(e);
            }
            let outcome = match decided {
                Err(DomainError::NotYet {
                    code,
                    message,
                    missing_blobs,
                }) => {
                    return Ok(Step::Halt(Halt {
                        seq,
                        code,
                        message,
                        missing_blobs,
                        retry_after_ms: None,
                    }));
                }
                Ok(Applied::Changes(writes)) => {
                    // All of the writes or none: an id another firm's row has refuses the
                    // mutation and undoes the writes before it.
                    let writing = tx.savepoint()?;
                    match store::write_all(&writing, user.firm_id, &writes) {
                        Ok(()) => {
                            if let Some(watch) = watch {
                                crate::cards::settle(&writing, actor, now, watch)?;
                            }
                            writing.commit()?;
                            Outcome::Applied
                        }
                        Err(e) if e.is_id_taken() => Outcome::Rejected {
                            code: RejectCode::IdTaken,
                            message: e.message,
                        },
                        Err(e) => return Err(e),
                    }
                }
                Ok(Applied::AlreadyApplied) => Outcome::AlreadyApplied,
                Err(e) => e
                    .outcome()
                    .ok_or_else(|| ApiError::internal("a waiting error has no outcome"))?,
            };
            (m.mutation.name(), outcome)
        }
    };
    let result = MutationResult { seq, outcome };
    tx.prepare_cached(
        "INSERT INTO mutation_results (client_id, seq, name, result, decided_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        client.to_string(),
        seq as i64,
        name,
        serde_json::to_string(&result)?,
        now.to_rfc3339()
    ])?;
    tx.prepare_cached("UPDATE clients SET last_seq = ?2 WHERE client_id = ?1")?
        .execute(params![client.to_string(), seq as i64])?;
    tx.commit()?;
    if !result.outcome.is_success() {
        tracing::info!(seq, name, outcome = ?result.outcome, "mutation not applied");
    }
    Ok(Step::Done(result))
}

async fn pull(
    State(state): State<AppState>,
    user: AuthUser,
    Query(mut q): Query<PullQuery>,
) -> ApiResult<Json<PullResponse>> {
    let limit = q
        .limit
        .unwrap_or(DEFAULT_PULL_LIMIT)
        .clamp(1, MAX_PULL_LIMIT);
    let wait = Duration::from_secs(u64::from(q.wait.unwrap_or(0).min(MAX_PULL_WAIT_SECS)));
    let deadline = tokio::time::Instant::now() + wait;
    // Held until this pull answers: one person's devices wait on a few pulls at most.
    let _long_poll = if wait.is_zero() {
        None
    } else {
        Some(state.limits.long_poll(user.user_id)?)
    };
    {
        // Bind the install (first contact) and start over after an access change.
        let (client, uid, cursor) = (q.client_id, user.user_id, q.cursor);
        state
            .db
            .write(move |c| {
                bind_client(c, client, uid, None)?;
                if cursor == 0 {
                    c.execute(
                        "UPDATE clients SET reset_before = 0 WHERE client_id = ?1 AND reset_before > 0",
                        [client.to_string()],
                    )?;
                }
                Ok(())
            })
            .await?;
    }
    loop {
        let mut changed = state.changes.subscribe(user.firm_id);
        changed.mark_unchanged();
        let (query, who) = (q.clone(), user.clone());
        let page = state
            .db
            .read(move |c| pull_page(c, &who, &query, limit))
            .await?;
        let quiet =
            page.changes.is_empty() && page.results.is_empty() && !page.reset && !page.has_more;
        if !quiet || tokio::time::Instant::now() >= deadline {
            return Ok(Json(page));
        }
        // Nothing this user may see yet: wait for the tenant to change, then look again from
        // where this page ended.
        q.cursor = page.cursor;
        if tokio::time::timeout_at(deadline, changed.changed())
            .await
            .is_err()
        {
            return Ok(Json(page));
        }
    }
}

/// How many rows a pull page looks through per row it may return.
const SCAN_FACTOR: u32 = 20;

/// Kinds of rows that are a client's documents: what a staff install gets only for the clients
/// it has opened. (Conversations are few next to documents, and the firm's inbox spans every
/// client, so they always come.)
const DOCUMENT_KINDS: [&str; 2] = ["expense", "card_transaction"];

/// The clients `client` has opened, if `user` is the firm's staff (`None`: everything the
/// user may see).
fn opened_companies(
    c: &Connection,
    user: &AuthUser,
    client: ClientId,
) -> ApiResult<Option<std::collections::BTreeSet<CompanyId>>> {
    if !user.is_staff() {
        return Ok(None);
    }
    let mut stmt = c.prepare_cached("SELECT company_id FROM client_scope WHERE client_id = ?1")?;
    let rows = stmt.query_map([client.to_string()], |r| store::uuid_col::<CompanyId>(r, 0))?;
    Ok(Some(rows.collect::<Result<_, _>>()?))
}

/// `POST /v1/sync/open`.
async fn open_company(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<OpenCompanyRequest>,
) -> ApiResult<Json<OpenCompanyResponse>> {
    if !user.is_staff() {
        return Err(ApiError::forbidden(
            "only the firm's staff open clients; a company's people have its documents",
        ));
    }
    let firm = user.firm_id;
    let newly_opened = state
        .db
        .transact(move |tx| {
            bind_client(tx, req.client_id, user.user_id, None)?;
            if !store::actor(tx, user.user_id)?.is_member(req.company_id) {
                return Err(ApiError::not_found("company"));
            }
            let added = tx.execute(
                "INSERT OR IGNORE INTO client_scope (client_id, company_id) VALUES (?1, ?2)",
                params![req.client_id.to_string(), req.company_id.to_string()],
            )? == 1;
            if added {
                let version = store::current_version(tx, firm)?;
                tx.execute(
                    "UPDATE clients SET reset_before = ?2 WHERE client_id = ?1",
                    params![req.client_id.to_string(), version as i64 + 1],
                )?;
            }
            Ok(added)
        })
        .await?;
    Ok(Json(OpenCompanyResponse { newly_opened }))
}

/// One page of a pull, read in one snapshot.
pub fn pull_page(
    c: &mut Connection,
    user: &AuthUser,
    q: &PullQuery,
    limit: u32,
) -> ApiResult<PullResponse> {
    let tx = c.transaction()?;
    let actor = store::actor(&tx, user.user_id)?;
    let counter = store::current_version(&tx, user.firm_id)?;
    let key = crate::cursor::CursorKey::of_firm(&tx, user.firm_id)?;
    let from = key.open(q.cursor);
    let (last_seq, reset_before): (i64, i64) = tx.query_row(
        "SELECT last_seq, reset_before FROM clients WHERE client_id = ?1",
        [q.client_id.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut response = PullResponse {
        cursor: q.cursor,
        has_more: false,
        reset: false,
        changes: Vec::new(),
        results: Vec::new(),
        last_seq: last_seq as u64,
        server_time: crate::now(),
    };
    if from > counter || (from > 0 && from < reset_before as u64) {
        // From another life of the server, or from before an access change: start over.
        response.reset = true;
        response.cursor = 0;
        response.has_more = true;
        return Ok(response);
    }
    let mut stmt = tx.prepare_cached(
        "SELECT version, kind, id, company_id, deleted, body FROM entities
         WHERE firm_id = ?1 AND version > ?2 ORDER BY version LIMIT ?3",
    )?;
    // A page holds up to `limit` rows the user may see, looking through at most
    // `SCAN_FACTOR` times as many: a staff install that has opened one client of hundreds
    // skips most of the log, and should not need a round trip per `limit` rows skipped.
    let scan = limit.saturating_mul(SCAN_FACTOR);
    let mut rows = stmt.query(params![
        user.firm_id.to_string(),
        from as i64,
        i64::from(scan)
    ])?;
    let opened = opened_companies(&tx, user, q.client_id)?;
    let mut seen = 0u32;
    let mut last_version = from;
    while let Some(r) = rows.next()? {
        if response.changes.len() == limit as usize {
            // Full: the rows after the last one taken are the next page's.
            break;
        }
        seen += 1;
        let version = r.get::<_, i64>(0)? as u64;
        last_version = version;
        let company: CompanyId = store::uuid_col(r, 3)?;
        if let Some(opened) = &opened
            && !opened.contains(&company)
            && DOCUMENT_KINDS.contains(&r.get_ref(1)?.as_str().unwrap_or_default())
        {
            // A staff install holds a client's documents once it opened the client.
            continue;
        }
        if r.get::<_, bool>(4)? {
            // A deletion goes to those who could see the row as it last was (its last state
            // stays with the tombstone), so a private draft's end is its author's business.
            let kind: String = r.get(1)?;
            let id: uuid::Uuid = store::uuid_col(r, 2)?;
            let last: Option<String> = r.get(5)?;
            let visible = match last.as_deref().map(serde_json::from_str::<Entity>) {
                Some(Ok(e)) => kvits_domain::can_see(&actor, &e),
                _ => actor.is_member(company),
            };
            if let Some(kind) = EntityKind::parse(&kind)
                && visible
            {
                response.changes.push(Change {
                    version: key.seal(version),
                    op: ChangeOp::Delete { kind, id },
                });
            }
            continue;
        }
        let body: String = r.get(5)?;
        let entity: Entity = serde_json::from_str(&body)?;
        if kvits_domain::can_see(&actor, &entity) {
            response.changes.push(Change {
                version: key.seal(version),
                op: ChangeOp::Upsert {
                    entity: Box::new(entity),
                },
            });
        }
    }
    response.has_more = seen == scan || response.changes.len() == limit as usize;
    response.cursor = key.seal(if response.has_more {
        last_version
    } else {
        counter
    });
    if let Some(after) = q.results_after {
        let mut stmt = tx.prepare_cached(
            "SELECT result FROM mutation_results WHERE client_id = ?1 AND seq > ?2
             ORDER BY seq LIMIT 1000",
        )?;
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![q.client_id.to_string(), after], |r| {
            r.get::<_, String>(0)
        })?;
        for row in rows {
            response.results.push(serde_json::from_str(&row?)?);
        }
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct ApprovalsQuery {
    company_id: Option<CompanyId>,
}

/// `GET /v1/approvals`: the expenses waiting for this user's decision, oldest first.
async fn approvals(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<ApprovalsQuery>,
) -> ApiResult<Json<Vec<Expense>>> {
    let tasks = state
        .db
        .read(move |c| {
            let actor = store::actor(c, user.user_id)?;
            let mut out = Vec::new();
            for company in actor.roles.keys() {
                if q.company_id.is_some_and(|only| only != *company) {
                    continue;
                }
                let mut stmt = c.prepare_cached(
                    "SELECT body FROM entities WHERE company_id = ?1 AND kind = 'expense'
                     AND deleted = 0 AND json_extract(body, '$.status') = 'submitted'",
                )?;
                let rows = stmt.query_map([company.to_string()], |r| r.get::<_, String>(0))?;
                for row in rows {
                    if let Entity::Expense(e) = serde_json::from_str(&row?)?
                        && kvits_domain::is_task_for(&e, user.user_id)
                    {
                        out.push(e);
                    }
                }
            }
            out.sort_by_key(|e| (e.submitted_at, e.id));
            Ok(out)
        })
        .await?;
    Ok(Json(tasks))
}

/// Applies `m` for `actor` outside any client's queue (seeding, the CLI's admin commands):
/// the same rules and writes as a pushed mutation, in one transaction.
pub fn apply_direct(
    c: &mut Connection,
    actor: &kvits_domain::Actor,
    m: &kvits_protocol::Mutation,
) -> ApiResult<Outcome> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let outcome = apply_in(&tx, actor, crate::now(), m)?;
    tx.commit()?;
    Ok(outcome)
}

/// Applies `m` for `actor` at `now` inside the caller's transaction (the server's own changes,
/// such as an export batch's): the same rules and writes as a pushed mutation.
pub fn apply_in(
    tx: &Connection,
    actor: &kvits_domain::Actor,
    now: kvits_protocol::Timestamp,
    m: &kvits_protocol::Mutation,
) -> ApiResult<Outcome> {
    let watch = crate::cards::watch(tx, m)?;
    let db_state = DbState::for_user(tx, actor.user_id);
    let decided = kvits_domain::apply(&db_state, actor, now, m);
    if let Some(e) = db_state.take_error() {
        return Err(e);
    }
    Ok(match decided {
        Ok(Applied::Changes(writes)) => {
            store::write_all(tx, actor.firm_id, &writes)?;
            if let Some(watch) = watch {
                crate::cards::settle(tx, actor, now, watch)?;
            }
            Outcome::Applied
        }
        Ok(Applied::AlreadyApplied) => Outcome::AlreadyApplied,
        Err(DomainError::NotYet { message, .. }) => return Err(ApiError::bad_request(message)),
        Err(e) => e
            .outcome()
            .ok_or_else(|| ApiError::internal("a waiting error has no outcome"))?,
    })
}
