//! Export to the books: batches that deliver every reviewed document of a client company once.
//!
//! A batch is made in three steps, so that a crash or a bad photo never leaves a document both
//! exported and missing from every file:
//!
//! 1. One transaction numbers the batch and puts its documents in it (the domain's
//!    `start_export`: reviewed → exporting, locked). Two accountants exporting the same
//!    period at once get disjoint batches: the writer is one connection, and the second
//!    transaction finds the documents already locked in the first batch.
//! 2. The ZIP is written to `<data_dir>/exports/<id>.zip.part`, one document at a time (its
//!    photos fetched, its PDF rendered, both dropped before the next), fsynced and renamed.
//! 3. One transaction marks every document exported (`finish_export`) and the batch ready
//!    with its size and SHA-256; or, if step 2 failed, puts them back (`cancel_export`) and
//!    marks the batch failed with the reason.
//!
//! The ZIP is kept, so a past batch downloads again byte for byte. Cancelling a batch puts its
//! documents back in the export queue (or back to their earlier export).
//!
//! What the ZIP holds: `journal.csv` ([`journal`]), `pdf/<voucher>.pdf` per document
//! ([`docpdf`]), `sie/<company>-<n>.se` for a company that exports SIE ([`sie`]) and
//! `manifest.json` with every other file's size and SHA-256.

mod docpdf;
mod journal;
mod sie;

use std::io::{BufWriter, Read, Write};
use std::path::{Path as FsPath, PathBuf};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Timelike};
use kvits_domain::{Actor, State as _};
use kvits_protocol::{
    CompanyId, Date, DecisionKind, Expense, ExpenseStatus, ExportBatch, ExportBatchId,
    ExportBatchStatus, ExportPreview, ExportRequest, ExportSettings, HistoryAction, Money,
    Mutation, Outcome, PaymentKind, PaymentMethod, Role, Timestamp, UserId, decimal_amount,
    money_text, percent_text,
};
use rusqlite::{Connection, OptionalExtension, params};
use schemars::JsonSchema;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use crate::api::{Operation, Routes};
use crate::auth::AuthUser;
use crate::blobs::{BlobStore, Variant};
use crate::db::Db;
use crate::error::{ApiError, ApiResult, Json, Path, Query};
use crate::openapi::{query_params_of, schema};
use crate::store::{self, DbState};
use crate::{AppState, sync};

/// The batches of a company, their files and the company's export settings.
pub(crate) fn routes() -> Routes {
    const ONLY_STAFF: &str =
        "`forbidden`: only the accounting firm's staff export a company's documents.";
    Routes::new()
        .get(
            "/v1/companies/{company_id}/export/preview",
            preview_handler,
            |g| {
                Operation::new("previewExport", "export", "What an export would hold")
                    .describe(
                        "The firm's staff. Counts the documents a batch for this period (or \
                         selection) would hold, with their pages and totals, and the documents \
                         it would leave out: changed since their export, not reviewed yet, still \
                         with the employee or approvers.",
                    )
                    .bearer()
                    .path_param("company_id", schema::<CompanyId>(g), "The company.")
                    .query_params(query_params_of::<PreviewQuery>(g))
                    .db()
                    .json(200, "The preview.", schema::<ExportPreview>(g))
                    .error(403, ONLY_STAFF)
            },
        )
        .post("/v1/companies/{company_id}/exports", create_handler, |g| {
            Operation::new("createExport", "export", "Export documents to the books")
                .describe(
                    "The firm's staff. Makes a batch of the period's reviewed documents never \
                     exported (plus the named ones, and the changed ones when asked), writes \
                     its ZIP and answers it ready. Every document is in one batch only: an \
                     export of a period already exported answers 200 with no batch (`null`).",
                )
                .bearer()
                .path_param("company_id", schema::<CompanyId>(g), "The company.")
                .json_body(schema::<ExportRequest>(g))
                .db()
                .json(201, "The batch, ready to download.", schema::<ExportBatch>(g))
                .json(
                    200,
                    "Nothing to export.",
                    serde_json::json!({"type": "null"}),
                )
                .error(
                    400,
                    "`bad_request`: no period and no documents, a period that ends before it \
                     starts, or a named document that is not reviewed or exported.",
                )
                .error(403, ONLY_STAFF)
                .error(500, "`internal`: the batch's file could not be written; its documents went back to the queue.")
        })
        .get("/v1/companies/{company_id}/exports", list_handler, |g| {
            Operation::new("listExports", "export", "A company's export batches")
                .describe("The firm's staff. Newest first, cancelled and failed ones included.")
                .bearer()
                .path_param("company_id", schema::<CompanyId>(g), "The company.")
                .db()
                .json(
                    200,
                    "The batches.",
                    serde_json::json!({"type": "array", "items": schema::<ExportBatch>(g)}),
                )
                .error(403, ONLY_STAFF)
        })
        .get("/v1/exports/{batch_id}/file", download_handler, |g| {
            Operation::new("downloadExport", "export", "Download a batch's ZIP")
                .describe(
                    "The firm's staff. The same bytes every time (the `ETag` is their \
                     SHA-256); `Range` requests resume a cut download.",
                )
                .bearer()
                .path_param("batch_id", schema::<ExportBatchId>(g), "The batch.")
                .db()
                .bytes(200, "The ZIP.", &["application/zip"])
                .bytes(206, "The requested range.", &["application/zip"])
                .error(403, ONLY_STAFF)
                .error(410, "`gone`: the batch was cancelled or failed; its file no longer downloads.")
        })
        .post("/v1/exports/{batch_id}/cancel", cancel_handler, |g| {
            Operation::new("cancelExport", "export", "Cancel a batch")
                .describe(
                    "The firm's staff. Its documents go back to the export queue (a document \
                     exported again goes back to its earlier export); the file stays for the \
                     record but no longer downloads.",
                )
                .bearer()
                .path_param("batch_id", schema::<ExportBatchId>(g), "The batch.")
                .db()
                .json(200, "The cancelled batch.", schema::<ExportBatch>(g))
                .error(403, ONLY_STAFF)
        })
        .get(
            "/v1/companies/{company_id}/export-settings",
            get_settings_handler,
            |g| {
                Operation::new("getExportSettings", "export", "A company's export settings")
                    .bearer()
                    .path_param("company_id", schema::<CompanyId>(g), "The company.")
                    .db()
                    .json(200, "The settings.", schema::<ExportSettings>(g))
                    .error(403, ONLY_STAFF)
            },
        )
        .put(
            "/v1/companies/{company_id}/export-settings",
            put_settings_handler,
            |g| {
                Operation::new("setExportSettings", "export", "Change a company's export settings")
                    .describe(
                        "The firm's staff: whether batches carry SIE 4I, and the accounts SIE \
                         books input VAT and the amounts owed against.",
                    )
                    .bearer()
                    .path_param("company_id", schema::<CompanyId>(g), "The company.")
                    .json_body(schema::<ExportSettings>(g))
                    .db()
                    .json(200, "Changed.", schema::<ExportSettings>(g))
                    .error(400, "`bad_request`: an account that is not 1–10 digits.")
                    .error(403, ONLY_STAFF)
            },
        )
}

/// The preview's query: the same choice as a batch's.
#[derive(Debug, Deserialize, JsonSchema)]
struct PreviewQuery {
    /// First day of the period (documents dated from it).
    from: Option<Date>,
    /// Last day of the period (included).
    to: Option<Date>,
    /// Count the changed documents in.
    #[serde(default)]
    include_changed: bool,
}

/// The firm's staff who may export `company` for `user`: not found for another firm's (or an
/// unseen) company, forbidden for the company's own people.
fn exporter(c: &Connection, user: UserId, company: CompanyId) -> ApiResult<Actor> {
    let actor = store::actor(c, user)?;
    if !actor.is_member(company) {
        return Err(ApiError::not_found("company"));
    }
    if !actor.has_any(company, &[Role::Accountant]) {
        return Err(ApiError::forbidden(
            "only the accounting firm's staff export a company's documents",
        ));
    }
    Ok(actor)
}

/// The company's export settings: as saved, or the defaults for its country.
pub fn settings(c: &Connection, company: CompanyId) -> ApiResult<ExportSettings> {
    let saved: Option<String> = c
        .query_row(
            "SELECT settings FROM export_settings WHERE company_id = ?1",
            [company.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(json) = saved {
        return serde_json::from_str(&json).map_err(ApiError::internal);
    }
    let country = store::company(c, company)?.and_then(|c| c.country);
    Ok(ExportSettings::defaults_for(country.as_deref()))
}

fn save_settings(c: &Connection, company: CompanyId, s: &ExportSettings) -> ApiResult<()> {
    for (what, account) in [
        ("VAT", &s.vat_account),
        ("employee", &s.employee_account),
        ("card", &s.card_account),
    ] {
        if !sie::is_account(account) {
            return Err(ApiError::bad_request(format!(
                "the {what} account must be 1 to 10 digits, as SIE numbers accounts"
            )));
        }
    }
    c.execute(
        "INSERT INTO export_settings (company_id, settings) VALUES (?1, ?2)
         ON CONFLICT (company_id) DO UPDATE SET settings = excluded.settings",
        params![
            company.to_string(),
            serde_json::to_string(s).map_err(ApiError::internal)?
        ],
    )?;
    Ok(())
}

/// Which day a document belongs to: its own date, else the day it was captured.
fn day_of(e: &Expense) -> Date {
    e.fields.date.unwrap_or_else(|| e.created_at.date_naive())
}

/// The documents a batch for `req` takes, in voucher order, and what the preview says.
fn select(
    c: &Connection,
    company: CompanyId,
    req: &ExportRequest,
) -> ApiResult<(Vec<Expense>, ExportPreview)> {
    let period = match (req.from, req.to) {
        (Some(from), Some(to)) if from <= to => Some((from, to)),
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("the period ends before it starts"));
        }
        (None, None) if !req.documents.is_empty() => None,
        (None, None) => {
            return Err(ApiError::bad_request(
                "choose a period (from and to) or the documents to export",
            ));
        }
        _ => {
            return Err(ApiError::bad_request(
                "a period needs both its first and last day",
            ));
        }
    };
    let mut take = Vec::new();
    let mut preview = ExportPreview::default();
    if let Some((from, to)) = period {
        let mut stmt = c.prepare_cached(
            "SELECT body FROM entities INDEXED BY entities_by_company_status
             WHERE company_id = ?1 AND kind = 'expense' AND deleted = 0
               AND status IN ('submitted', 'approved', 'returned', 'reviewed', 'exporting',
                              'exported')",
        )?;
        let rows = stmt.query_map([company.to_string()], |r| r.get::<_, String>(0))?;
        for row in rows {
            let e: Expense = serde_json::from_str(&row?).map_err(ApiError::internal)?;
            if !(from..=to).contains(&day_of(&e)) || req.documents.contains(&e.id) {
                continue;
            }
            let changed = e.export.as_ref().is_some_and(|m| m.changed);
            match e.status {
                ExpenseStatus::Reviewed => take.push(e),
                ExpenseStatus::Exported if changed => {
                    preview.changed += 1;
                    if req.include_changed {
                        take.push(e);
                    }
                }
                ExpenseStatus::Exported | ExpenseStatus::Exporting => preview.exported += 1,
                ExpenseStatus::Approved => preview.not_reviewed += 1,
                _ => preview.in_progress += 1,
            }
        }
    }
    for id in &req.documents {
        let e = store::load(c, kvits_protocol::EntityKind::Expense, id.as_uuid())?
            .and_then(|e| match e {
                kvits_protocol::Entity::Expense(e) if e.company_id == company => Some(e),
                _ => None,
            })
            .ok_or_else(|| ApiError::bad_request(format!("document {id} is not this company's")))?;
        if !matches!(e.status, ExpenseStatus::Reviewed | ExpenseStatus::Exported) {
            return Err(ApiError::bad_request(format!(
                "document {id} is {}: only reviewed or exported documents are exported",
                serde_json::to_value(e.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            )));
        }
        take.push(e);
    }
    take.sort_by_key(|e| (day_of(e), e.created_at, e.id));
    preview.documents = u32::try_from(take.len()).unwrap_or(u32::MAX);
    preview.pages = take
        .iter()
        .map(|e| u32::try_from(e.pages.len()).unwrap_or(u32::MAX))
        .fold(0, u32::saturating_add);
    let mut totals: std::collections::BTreeMap<String, i64> = Default::default();
    for e in &take {
        if let Some(m) = &e.fields.amount {
            *totals.entry(m.currency.clone()).or_default() += m.amount_minor;
        }
    }
    preview.totals = totals
        .into_iter()
        .map(|(currency, amount_minor)| Money {
            amount_minor,
            currency,
        })
        .collect();
    preview
        .totals
        .sort_by_key(|m| std::cmp::Reverse(m.amount_minor));
    Ok((take, preview))
}

/// Everything the files say about one document of a batch.
#[derive(Clone, Debug)]
pub(crate) struct Doc {
    pub expense: Expense,
    pub voucher: String,
    pub pdf_name: String,
    pub expense_type: Option<(String, String)>,
    /// The account it is booked to: the firm's correction, else the expense type's code.
    pub account: Option<String>,
    pub payment: Option<PaymentMethod>,
    /// Who reviewed it, and when.
    pub reviewed: Option<(String, Timestamp)>,
    /// Exported before (this export repeats it).
    pub again: bool,
}

impl Doc {
    fn load(c: &Connection, e: Expense) -> Doc {
        let state = DbState::new(c);
        let mark = e.export.as_ref();
        let voucher = mark.map(|m| m.voucher.clone()).unwrap_or_default();
        let expense_type = e
            .fields
            .expense_type_id
            .and_then(|id| state.expense_type(id))
            .map(|t| (t.name, t.code));
        Doc {
            pdf_name: format!("pdf/{voucher}.pdf"),
            account: e
                .fields
                .account_code
                .clone()
                .or_else(|| expense_type.as_ref().map(|t| t.1.clone())),
            expense_type,
            payment: e
                .fields
                .payment_method_id
                .and_then(|id| state.payment_method(id)),
            reviewed: e
                .history
                .iter()
                .rev()
                .find(|h| h.action == HistoryAction::Reviewed)
                .map(|h| (h.by_name.clone(), h.at)),
            again: mark.is_some_and(|m| m.replaces.is_some()),
            voucher,
            expense: e,
        }
    }

    /// "Mark Manager 2026-11-04; Adam Admin 2026-11-05".
    pub fn approvals(&self) -> String {
        self.expense
            .decisions
            .iter()
            .filter(|d| d.kind == DecisionKind::Approve)
            .map(|d| format!("{} {}", d.by_name, d.at.date_naive()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn paid_by_card(&self) -> bool {
        self.payment
            .as_ref()
            .is_some_and(|p| p.payment_kind == PaymentKind::CompanyCard)
    }
}

/// Where batches' files live.
fn exports_dir(data_dir: &FsPath) -> PathBuf {
    data_dir.join("exports")
}

/// Where a batch's ZIP is kept.
pub fn file_of(data_dir: &FsPath, id: ExportBatchId) -> PathBuf {
    exports_dir(data_dir).join(format!("{id}.zip"))
}

/// `birch-consulting` from "Birch Consulting SIA": lower-case ASCII words joined by dashes.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for word in name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    if out.is_empty() {
        "company".into()
    } else {
        out
    }
}

fn status_word(s: ExportBatchStatus) -> &'static str {
    match s {
        ExportBatchStatus::Building => "building",
        ExportBatchStatus::Ready => "ready",
        ExportBatchStatus::Cancelled => "cancelled",
        ExportBatchStatus::Failed => "failed",
    }
}

fn status_of(word: &str) -> ExportBatchStatus {
    match word {
        "building" => ExportBatchStatus::Building,
        "ready" => ExportBatchStatus::Ready,
        "cancelled" => ExportBatchStatus::Cancelled,
        _ => ExportBatchStatus::Failed,
    }
}

const BATCH_COLUMNS: &str = "b.id, b.company_id, b.number, b.period_from, b.period_to, b.status,
    b.documents, b.bytes, b.sha256, b.created_by, b.created_by_name, b.created_at,
    b.cancelled_at, b.cancelled_by_name, b.error, e.body";

/// A timestamp as the batch tables keep it: RFC 3339 text.
fn time_text(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn bad_column(i: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
}

fn time(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Timestamp> {
    let text: String = r.get(i)?;
    chrono::DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| bad_column(i, e))
}

fn opt_date(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<Date>> {
    match r.get::<_, Option<String>>(i)? {
        Some(text) => text.parse().map(Some).map_err(|e| bad_column(i, e)),
        None => Ok(None),
    }
}

fn batch_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ExportBatch> {
    let company_name = r
        .get::<_, Option<String>>(15)?
        .and_then(|body| serde_json::from_str::<kvits_protocol::Company>(&body).ok())
        .map_or_else(|| "company".into(), |c| c.name);
    let number: u32 = r.get(2)?;
    Ok(ExportBatch {
        id: store::uuid_col(r, 0)?,
        company_id: store::uuid_col(r, 1)?,
        number,
        from: opt_date(r, 3)?,
        to: opt_date(r, 4)?,
        status: status_of(&r.get::<_, String>(5)?),
        documents: r.get(6)?,
        bytes: r
            .get::<_, Option<i64>>(7)?
            .and_then(|b| u64::try_from(b).ok()),
        sha256: r.get(8)?,
        file_name: format!("kvits-{}-export-{number}.zip", slug(&company_name)),
        created_by: store::uuid_col(r, 9)?,
        created_by_name: r.get(10)?,
        created_at: time(r, 11)?,
        cancelled_at: match r.get::<_, Option<String>>(12)? {
            Some(_) => Some(time(r, 12)?),
            None => None,
        },
        cancelled_by_name: r.get(13)?,
        error: r.get(14)?,
    })
}

/// A batch by id, if any.
pub fn batch(c: &Connection, id: ExportBatchId) -> ApiResult<Option<ExportBatch>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {BATCH_COLUMNS} FROM export_batches b
         LEFT JOIN entities e ON e.kind = 'company' AND e.id = b.company_id
         WHERE b.id = ?1"
    ))?
    .query_row([id.to_string()], batch_row)
    .optional()?)
}

/// A company's batches, newest first.
pub fn batches(c: &Connection, company: CompanyId) -> ApiResult<Vec<ExportBatch>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {BATCH_COLUMNS} FROM export_batches b
         LEFT JOIN entities e ON e.kind = 'company' AND e.id = b.company_id
         WHERE b.company_id = ?1 ORDER BY b.number DESC"
    ))?;
    let rows = stmt.query_map([company.to_string()], batch_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Applies one of the batch's own mutations; anything but success is the server's error (the
/// batch decided what it takes in the same transaction).
fn apply(c: &Connection, actor: &Actor, now: Timestamp, m: &Mutation) -> ApiResult<()> {
    match sync::apply_in(c, actor, now, m)? {
        Outcome::Applied | Outcome::AlreadyApplied => Ok(()),
        Outcome::Rejected { message, .. } | Outcome::Conflict { message, .. } => {
            Err(ApiError::internal(format!("{}: {message}", m.name())))
        }
    }
}

/// Step 1: numbers the batch and locks its documents in it. `None` when nothing is to export.
fn start(
    c: &mut Connection,
    user: UserId,
    company: CompanyId,
    req: &ExportRequest,
) -> ApiResult<Option<(ExportBatch, Vec<Doc>, Actor)>> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let actor = exporter(&tx, user, company)?;
    let (take, _) = select(&tx, company, req)?;
    if take.is_empty() {
        return Ok(None);
    }
    let id = ExportBatchId(uuid::Uuid::now_v7());
    let number: u32 = tx.query_row(
        "SELECT COALESCE(MAX(number), 0) + 1 FROM export_batches WHERE company_id = ?1",
        [company.to_string()],
        |r| r.get(0),
    )?;
    let now = crate::now();
    tx.execute(
        "INSERT INTO export_batches (id, firm_id, company_id, number, period_from, period_to,
             status, documents, created_by, created_by_name, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'building', ?7, ?8, ?9, ?10)",
        params![
            id.to_string(),
            actor.firm_id.to_string(),
            company.to_string(),
            number,
            req.from.map(|d| d.to_string()),
            req.to.map(|d| d.to_string()),
            i64::try_from(take.len()).unwrap_or(i64::MAX),
            user.to_string(),
            actor.name,
            time_text(now),
        ],
    )?;
    let width = take.len().to_string().len().max(3);
    let mut docs = Vec::with_capacity(take.len());
    for (i, e) in take.into_iter().enumerate() {
        let line = i + 1;
        let voucher = format!("{number}-{line:0width$}");
        apply(
            &tx,
            &actor,
            now,
            &Mutation::StartExport {
                expense_id: e.id,
                seen_revision: e.revision,
                batch_id: id,
                batch_number: number,
                voucher,
            },
        )?;
        tx.prepare_cached(
            "INSERT INTO export_items (batch_id, line, expense_id) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![
            id.to_string(),
            i64::try_from(line).unwrap_or(i64::MAX),
            e.id.to_string()
        ])?;
        let stored = match store::load(&tx, kvits_protocol::EntityKind::Expense, e.id.as_uuid())? {
            Some(kvits_protocol::Entity::Expense(e)) => e,
            _ => return Err(ApiError::internal("an exported document vanished")),
        };
        docs.push(Doc::load(&tx, stored));
    }
    let batch = batch(&tx, id)?.ok_or_else(|| ApiError::internal("the new batch vanished"))?;
    tx.commit()?;
    Ok(Some((batch, docs, actor)))
}

/// Step 3: the file is written: the documents are exported, the batch ready.
fn finish(
    c: &mut Connection,
    actor: &Actor,
    batch: ExportBatchId,
    docs: &[Doc],
    written: &Written,
) -> ApiResult<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let now = crate::now();
    for d in docs {
        apply(
            &tx,
            actor,
            now,
            &Mutation::FinishExport {
                expense_id: d.expense.id,
                batch_id: batch,
            },
        )?;
    }
    tx.execute(
        "UPDATE export_batches SET status = 'ready', bytes = ?2, sha256 = ?3 WHERE id = ?1",
        params![
            batch.to_string(),
            i64::try_from(written.bytes).unwrap_or(i64::MAX),
            written.sha256
        ],
    )?;
    tx.commit()?;
    Ok(())
}

/// Puts a batch's documents back where they were and marks it `status` (cancelled or failed).
fn unwind(
    c: &mut Connection,
    actor: &Actor,
    batch: ExportBatchId,
    status: ExportBatchStatus,
    error: Option<&str>,
) -> ApiResult<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let now = crate::now();
    let ids: Vec<kvits_protocol::ExpenseId> = tx
        .prepare_cached("SELECT expense_id FROM export_items WHERE batch_id = ?1 ORDER BY line")?
        .query_map([batch.to_string()], |r| store::uuid_col(r, 0))?
        .collect::<Result<_, _>>()?;
    for expense_id in ids {
        apply(
            &tx,
            actor,
            now,
            &Mutation::CancelExport {
                expense_id,
                batch_id: batch,
            },
        )?;
    }
    tx.execute(
        "UPDATE export_batches SET status = ?2, cancelled_at = ?3, cancelled_by_name = ?4,
             error = ?5
         WHERE id = ?1",
        params![
            batch.to_string(),
            status_word(status),
            time_text(now),
            actor.name,
            error
        ],
    )?;
    tx.commit()?;
    Ok(())
}

/// What a batch's file came to.
#[derive(Clone, Debug)]
struct Written {
    bytes: u64,
    sha256: String,
}

/// What writing a batch needs besides its documents.
#[derive(Debug)]
pub struct Context<'a> {
    pub db: &'a Db,
    pub blobs: &'a BlobStore,
    /// Runs the blob store's reads from the blocking thread the file is written on.
    pub runtime: tokio::runtime::Handle,
    pub data_dir: &'a FsPath,
}

/// Makes a batch of `company`'s documents for `req` as `user` and writes its file: the whole
/// export, for the API and the CLI alike. Blocking (run it off the async threads). `None`
/// when there is nothing to export.
pub fn export(
    cx: &Context<'_>,
    user: UserId,
    company: CompanyId,
    req: &ExportRequest,
) -> ApiResult<Option<ExportBatch>> {
    let Some((batch, docs, actor)) = cx.db.write_blocking(|c| start(c, user, company, req))? else {
        return Ok(None);
    };
    let written = write_file(cx, &batch, &docs);
    match written {
        Ok(written) => {
            cx.db
                .write_blocking(|c| finish(c, &actor, batch.id, &docs, &written))?;
        }
        Err(e) => {
            let why = format!("{e:#}");
            tracing::error!(batch = %batch.id, error = %why, "export failed");
            cx.db.write_blocking(|c| {
                unwind(c, &actor, batch.id, ExportBatchStatus::Failed, Some(&why))
            })?;
            return Err(ApiError::internal(format!(
                "the export's file could not be written ({why}); its documents are back in the \
                 queue"
            )));
        }
    }
    cx.db.write_blocking(|c| batch_of(c, batch.id)).map(Some)
}

fn batch_of(c: &Connection, id: ExportBatchId) -> ApiResult<ExportBatch> {
    batch(c, id)?.ok_or_else(|| ApiError::not_found("export batch"))
}

/// Step 2: the ZIP, written to a part file, fsynced and renamed into place.
fn write_file(cx: &Context<'_>, batch: &ExportBatch, docs: &[Doc]) -> anyhow::Result<Written> {
    let dir = exports_dir(cx.data_dir);
    std::fs::create_dir_all(&dir)?;
    let path = file_of(cx.data_dir, batch.id);
    let part = path.with_extension("zip.part");
    let result = write_zip(cx, batch, docs, &part);
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result?;
    std::fs::rename(&part, &path)?;
    std::fs::File::open(&dir)?.sync_all()?;
    // The file's own hash, read back as stored.
    let mut file = std::fs::File::open(&path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(Written {
        bytes,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// One file of the ZIP, as the manifest lists it.
#[derive(serde::Serialize)]
struct ManifestFile {
    name: String,
    bytes: u64,
    sha256: String,
}

fn write_zip(
    cx: &Context<'_>,
    batch: &ExportBatch,
    docs: &[Doc],
    part: &FsPath,
) -> anyhow::Result<()> {
    let (company, firm_settings, settings) = cx
        .db
        .write_blocking(|c| -> ApiResult<_> {
            let company = store::company(c, batch.company_id)?
                .ok_or_else(|| ApiError::not_found("company"))?;
            let firm = crate::firm::firm(c, company.firm_id)?;
            Ok((company, firm.settings, settings(c, batch.company_id)?))
        })
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let file = std::fs::File::create(part)?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    let t = batch.created_at;
    let when = zip::DateTime::from_date_and_time(
        u16::try_from(t.year())?,
        u8::try_from(t.month())?,
        u8::try_from(t.day())?,
        u8::try_from(t.hour())?,
        u8::try_from(t.minute())?,
        u8::try_from(t.second())?,
    )?;
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(when)
        .unix_permissions(0o644);
    let deflated = stored.compression_method(zip::CompressionMethod::Deflated);
    let mut listed = Vec::new();
    let mut add = |zip: &mut zip::ZipWriter<BufWriter<std::fs::File>>,
                   name: String,
                   bytes: &[u8],
                   options: zip::write::SimpleFileOptions|
     -> anyhow::Result<()> {
        zip.start_file(name.as_str(), options)?;
        zip.write_all(bytes)?;
        listed.push(ManifestFile {
            name,
            bytes: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(bytes)),
        });
        Ok(())
    };

    let format = journal::Format {
        separator: firm_settings.csv_separator,
        decimal_mark: firm_settings.decimal_mark,
    };
    add(
        &mut zip,
        "journal.csv".into(),
        &journal::write(docs, &company, format)?,
        deflated,
    )?;

    let created = batch.created_at.naive_utc();
    for d in docs {
        let mut pages = Vec::with_capacity(d.expense.pages.len());
        for p in &d.expense.pages {
            let bytes = cx
                .runtime
                .block_on(cx.blobs.read(company.firm_id, &p.sha256, Variant::Original))?
                .ok_or_else(|| anyhow::anyhow!("a photo of voucher {} is missing", d.voucher))?;
            pages.push(docpdf::PageImage {
                bytes: bytes.to_vec(),
                content_type: p.content_type.clone(),
            });
        }
        let pdf = docpdf::render(&heading(d, &company), &pages, created)
            .map_err(|e| anyhow::anyhow!("voucher {}: {e}", d.voucher))?;
        add(&mut zip, d.pdf_name.clone(), &pdf, stored)?;
    }

    let mut warnings = Vec::new();
    if settings.sie {
        let (file, skipped) = sie_file(&company, &settings, docs, batch);
        warnings.extend(skipped);
        let bytes = sie::write(&file)?;
        add(
            &mut zip,
            format!("sie/{}-{}.se", slug(&company.name), batch.number),
            &bytes,
            deflated,
        )?;
    }

    let manifest = serde_json::json!({
        "batch": batch.id,
        "number": batch.number,
        "company": {"id": company.id, "name": company.name},
        "from": batch.from,
        "to": batch.to,
        "created_at": batch.created_at,
        "created_by": batch.created_by_name,
        "documents": docs.len(),
        "files": listed,
        "warnings": warnings,
    });
    let manifest = serde_json::to_vec_pretty(&manifest)?;
    zip.start_file("manifest.json", deflated)?;
    zip.write_all(&manifest)?;
    let file = zip.finish()?.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(())
}

/// The PDF's first-page heading.
fn heading(d: &Doc, company: &kvits_protocol::Company) -> docpdf::Heading {
    let e = &d.expense;
    let mut rows = vec![
        ("Company".to_string(), company.name.clone()),
        ("Voucher".into(), d.voucher.clone()),
        (
            "Document".into(),
            format!("{:?}", e.document_type).to_lowercase(),
        ),
        ("Date".into(), day_of(e).to_string()),
    ];
    let mut push = |label: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            rows.push((label.to_string(), v));
        }
    };
    push("Merchant", e.fields.merchant.clone());
    push("Amount", e.fields.amount.as_ref().map(money_text));
    push("Base amount", e.fields.base_amount.as_ref().map(money_text));
    let currency = e
        .fields
        .amount
        .as_ref()
        .map_or_else(|| company.base_currency.clone(), |m| m.currency.clone());
    for l in &e.fields.vat {
        push(
            &format!("VAT {}", percent_text(l.rate_bp)),
            Some(format!(
                "net {}, VAT {} {currency}",
                decimal_amount(l.net_minor, &currency),
                decimal_amount(l.vat_minor, &currency)
            )),
        );
    }
    push(
        "Expense type",
        d.expense_type
            .as_ref()
            .map(|(name, code)| format!("{name} ({code})")),
    );
    push("Account", d.account.clone());
    push(
        "Paid with",
        d.payment.as_ref().map(PaymentMethod::display_name),
    );
    push("Employee", Some(e.created_by_name.clone()));
    push(
        "Submitted",
        e.submitted_at.map(|t| t.date_naive().to_string()),
    );
    push("Approved by", Some(d.approvals()));
    push(
        "Reviewed by",
        d.reviewed
            .as_ref()
            .map(|(name, at)| format!("{name} {}", at.date_naive())),
    );
    push("Note", e.fields.note.clone());
    push("Kvits id", Some(e.id.to_string()));
    docpdf::Heading {
        title: format!(
            "{} · {}",
            e.fields.merchant.as_deref().unwrap_or("Receipt"),
            d.voucher
        ),
        rows,
    }
}

/// The batch as SIE 4I vouchers: the expense (net) and input VAT debited, the employee's or
/// the card's account credited, in the base currency. A document in another currency is booked
/// at its base-currency amount without VAT (foreign VAT is not input VAT); one without a
/// base-currency amount cannot be booked and is named in the warnings.
fn sie_file(
    company: &kvits_protocol::Company,
    settings: &ExportSettings,
    docs: &[Doc],
    batch: &ExportBatch,
) -> (sie::SieFile, Vec<String>) {
    let mut warnings = Vec::new();
    let mut accounts: std::collections::BTreeMap<String, String> = Default::default();
    let mut vouchers = Vec::new();
    for d in docs {
        let e = &d.expense;
        let Some(account) = d.account.clone().filter(|a| sie::is_account(a)) else {
            warnings.push(format!(
                "voucher {}: no numeric account to book it to; left out of the SIE file",
                d.voucher
            ));
            continue;
        };
        let in_base = e
            .fields
            .amount
            .as_ref()
            .filter(|m| m.currency == company.base_currency);
        let (total, vat) = match (in_base, &e.fields.base_amount) {
            (Some(m), _) => (
                m.amount_minor,
                e.fields.vat.iter().map(|l| l.vat_minor).sum::<i64>(),
            ),
            (None, Some(base)) => (base.amount_minor, 0),
            (None, None) => {
                warnings.push(format!(
                    "voucher {}: no amount in {}; left out of the SIE file",
                    d.voucher, company.base_currency
                ));
                continue;
            }
        };
        let name = d
            .expense_type
            .as_ref()
            .map_or_else(|| account.clone(), |t| t.0.clone());
        accounts.entry(account.clone()).or_insert(name);
        let credit = if d.paid_by_card() {
            accounts
                .entry(settings.card_account.clone())
                .or_insert_with(|| "Företagskort".into());
            settings.card_account.clone()
        } else {
            accounts
                .entry(settings.employee_account.clone())
                .or_insert_with(|| "Skulder till anställda".into());
            settings.employee_account.clone()
        };
        let mut transactions = vec![sie::Transaction {
            account,
            amount_minor: total - vat,
            text: e.fields.merchant.clone(),
        }];
        if vat != 0 {
            accounts
                .entry(settings.vat_account.clone())
                .or_insert_with(|| "Ingående moms".into());
            transactions.push(sie::Transaction {
                account: settings.vat_account.clone(),
                amount_minor: vat,
                text: None,
            });
        }
        transactions.push(sie::Transaction {
            account: credit,
            amount_minor: -total,
            text: Some(e.created_by_name.clone()),
        });
        vouchers.push(sie::Voucher {
            // Series A (every Swedish program has it), numbered within the file: an SIE 4I
            // import gives vouchers the books' own numbers.
            series: "A".into(),
            number: (vouchers.len() + 1).to_string(),
            date: day_of(e),
            text: format!(
                "{} · Kvits {}",
                e.fields.merchant.as_deref().unwrap_or("Receipt"),
                d.voucher
            ),
            transactions,
        });
    }
    let file = sie::SieFile {
        program: "Kvits".into(),
        program_version: env!("CARGO_PKG_VERSION").into(),
        generated: batch.created_at.date_naive(),
        generated_by: Some(batch.created_by_name.clone()),
        company_name: company.name.clone(),
        org_number: company.registration_number.clone(),
        currency: company.base_currency.clone(),
        accounts: accounts.into_iter().collect(),
        vouchers,
    };
    (file, warnings)
}

/// Cancels a batch as `user`: its documents go back to the queue.
pub fn cancel(db: &Db, user: UserId, id: ExportBatchId) -> ApiResult<ExportBatch> {
    db.write_blocking(|c| {
        let b = batch(c, id)?.ok_or_else(|| ApiError::not_found("export batch"))?;
        let actor = exporter(c, user, b.company_id)?;
        if matches!(
            b.status,
            ExportBatchStatus::Cancelled | ExportBatchStatus::Failed
        ) {
            return Ok(b);
        }
        unwind(c, &actor, id, ExportBatchStatus::Cancelled, None)?;
        batch_of(c, id)
    })
}

async fn preview_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path(company): Path<CompanyId>,
    Query(q): Query<PreviewQuery>,
) -> ApiResult<Json<ExportPreview>> {
    let req = ExportRequest {
        from: q.from,
        to: q.to,
        documents: Vec::new(),
        include_changed: q.include_changed,
    };
    let preview = state
        .db
        .read(move |c| {
            exporter(c, user.user_id, company)?;
            select(c, company, &req).map(|(_, p)| p)
        })
        .await?;
    Ok(Json(preview))
}

async fn create_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path(company): Path<CompanyId>,
    Json(req): Json<ExportRequest>,
) -> ApiResult<Response> {
    let s = state.clone();
    let made = tokio::task::spawn_blocking(move || {
        let cx = Context {
            db: &s.db,
            blobs: &s.blobs,
            runtime: tokio::runtime::Handle::current(),
            data_dir: &s.config.data_dir,
        };
        export(&cx, user.user_id, company, &req)
    })
    .await??;
    let firm = state
        .db
        .read(move |c| store::company(c, company))
        .await?
        .map(|c| c.firm_id);
    if let Some(firm) = firm {
        sync::announce(&state, firm).await?;
    }
    Ok(match made {
        Some(batch) => (StatusCode::CREATED, Json(batch)).into_response(),
        None => Json(serde_json::Value::Null).into_response(),
    })
}

async fn list_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path(company): Path<CompanyId>,
) -> ApiResult<Json<Vec<ExportBatch>>> {
    let list = state
        .db
        .read(move |c| {
            exporter(c, user.user_id, company)?;
            batches(c, company)
        })
        .await?;
    Ok(Json(list))
}

async fn download_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<ExportBatchId>,
    request: Request,
) -> ApiResult<Response> {
    let b = state
        .db
        .read(move |c| {
            let b = batch(c, id)?.ok_or_else(|| ApiError::not_found("export batch"))?;
            exporter(c, user.user_id, b.company_id)?;
            Ok(b)
        })
        .await?;
    if b.status != ExportBatchStatus::Ready {
        return Err(ApiError::new(
            StatusCode::GONE,
            kvits_protocol::ErrorCode::Gone,
            format!("export batch {} is {}", b.number, status_word(b.status)),
        ));
    }
    let path = file_of(&state.config.data_dir, id);
    let mut response = tower_http::services::ServeFile::new_with_mime(
        &path,
        &"application/zip".parse().map_err(ApiError::internal)?,
    )
    .oneshot(request)
    .await
    .map_err(ApiError::internal)?
    .map(Body::new);
    if response.status() == StatusCode::NOT_FOUND {
        return Err(ApiError::internal(format!(
            "the file of export batch {} is missing from the server",
            b.number
        )));
    }
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", b.file_name)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(Ok(v)) = b
        .sha256
        .as_deref()
        .map(|s| HeaderValue::from_str(&format!("\"{s}\"")))
    {
        headers.insert(header::ETAG, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

async fn cancel_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<ExportBatchId>,
) -> ApiResult<Json<ExportBatch>> {
    let s = state.clone();
    let b = tokio::task::spawn_blocking(move || cancel(&s.db, user.user_id, id)).await??;
    sync::announce(&state, user.firm_id).await?;
    Ok(Json(b))
}

async fn get_settings_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path(company): Path<CompanyId>,
) -> ApiResult<Json<ExportSettings>> {
    let s = state
        .db
        .read(move |c| {
            exporter(c, user.user_id, company)?;
            settings(c, company)
        })
        .await?;
    Ok(Json(s))
}

async fn put_settings_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path(company): Path<CompanyId>,
    Json(s): Json<ExportSettings>,
) -> ApiResult<Json<ExportSettings>> {
    let saved = state
        .db
        .transact(move |tx| {
            exporter(tx, user.user_id, company)?;
            save_settings(tx, company, &s)?;
            settings(tx, company)
        })
        .await?;
    Ok(Json(saved))
}

#[cfg(test)]
mod tests {
    //! The journal and the SIE file of a known batch, against golden files
    //! (`KVITS_UPDATE_GOLDEN=1` writes them anew), and the SIE read back by a parser.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use kvits_protocol::{
        Company, Decision, DocumentType, ExpenseFields, ExpenseId, ExportMark, HistoryEntry,
        PaymentKind, ReceiptPage, VatLine,
    };

    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn id(n: u128) -> uuid::Uuid {
        uuid::Uuid::from_u128(0x0193_f0a0_0000_7000_8000_0000_0000_0000 + n)
    }

    fn company() -> Company {
        Company {
            registration_number: Some("556677-8899".into()),
            country: Some("SE".into()),
            ..Company::new(
                CompanyId(id(1)),
                kvits_protocol::FirmId(id(2)),
                "Dune Design AB",
                "SEK",
            )
        }
    }

    fn batch() -> ExportBatch {
        ExportBatch {
            id: ExportBatchId(id(3)),
            company_id: CompanyId(id(1)),
            number: 4,
            from: Some("2026-11-01".parse().unwrap()),
            to: Some("2026-11-30".parse().unwrap()),
            status: ExportBatchStatus::Building,
            documents: 3,
            bytes: None,
            sha256: None,
            file_name: "kvits-dune-design-ab-export-4.zip".into(),
            created_by: UserId(id(4)),
            created_by_name: "Åsa Öberg".into(),
            created_at: at("2026-12-02T09:15:00Z"),
            cancelled_at: None,
            cancelled_by_name: None,
            error: None,
        }
    }

    fn doc(line: u32, fields: ExpenseFields, paid: PaymentKind, again: bool) -> Doc {
        let voucher = format!("4-{line:03}");
        let expense = Expense {
            id: ExpenseId(id(100 + u128::from(line))),
            company_id: CompanyId(id(1)),
            created_by: UserId(id(5)),
            created_by_name: "Erik \"Ekonomi\" Ek".into(),
            document_type: DocumentType::Receipt,
            fields,
            pages: vec![ReceiptPage {
                sha256: "ab".repeat(32),
                size: 1,
                content_type: "image/jpeg".into(),
                width: 1,
                height: 1,
            }],
            status: ExpenseStatus::Exporting,
            revision: 5,
            approval: None,
            decisions: vec![Decision {
                kind: DecisionKind::Approve,
                step: 0,
                revision: 2,
                by: UserId(id(6)),
                by_name: "Maja Chef".into(),
                at: at("2026-11-20T10:00:00Z"),
                reason: None,
            }],
            created_at: at("2026-11-10T08:00:00Z"),
            updated_at: at("2026-11-25T08:00:00Z"),
            submitted_at: Some(at("2026-11-10T08:05:00Z")),
            history: vec![HistoryEntry {
                at: at("2026-11-25T08:00:00Z"),
                by: UserId(id(4)),
                by_name: "Åsa Öberg".into(),
                action: HistoryAction::Reviewed,
                fields: Vec::new(),
                note: None,
            }],
            export: Some(ExportMark {
                batch_id: ExportBatchId(id(3)),
                batch_number: 4,
                voucher: voucher.clone(),
                at: at("2026-12-02T09:15:00Z"),
                locked: true,
                changed: false,
                replaces: None,
            }),
        };
        Doc {
            pdf_name: format!("pdf/{voucher}.pdf"),
            voucher,
            expense,
            expense_type: Some(("Representation".into(), "6071".into())),
            account: Some("6071".into()),
            payment: Some(PaymentMethod {
                id: kvits_protocol::PaymentMethodId(id(7)),
                company_id: CompanyId(id(1)),
                payment_kind: paid,
                label: match paid {
                    PaymentKind::CompanyCard => "Visa Business".into(),
                    _ => "Own money / cash".into(),
                },
                last_four: (paid == PaymentKind::CompanyCard).then(|| "4821".into()),
                holder_id: None,
                active: true,
                statement_ref: None,
            }),
            reviewed: Some(("Åsa Öberg".into(), at("2026-11-25T08:00:00Z"))),
            again,
        }
    }

    fn money(minor: i64, currency: &str) -> Option<Money> {
        Some(Money {
            amount_minor: minor,
            currency: currency.into(),
        })
    }

    /// A card lunch with two VAT rates, an own-money taxi in SEK without VAT, and a hotel in
    /// EUR with its SEK amount (exported again).
    fn docs() -> Vec<Doc> {
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d);
        vec![
            doc(
                1,
                ExpenseFields {
                    amount: money(36_200, "SEK"),
                    date: day(3),
                    merchant: Some("Café Åre; \"Fika\"".into()),
                    vat: vec![
                        VatLine {
                            rate_bp: 2500,
                            net_minor: 16_000,
                            vat_minor: 4_000,
                        },
                        VatLine {
                            rate_bp: 1200,
                            net_minor: 14_464,
                            vat_minor: 1_736,
                        },
                    ],
                    ..ExpenseFields::default()
                },
                PaymentKind::CompanyCard,
                false,
            ),
            doc(
                2,
                ExpenseFields {
                    amount: money(24_900, "SEK"),
                    date: day(12),
                    merchant: Some("Taxi Stockholm".into()),
                    note: Some("From the airport,\nlate flight".into()),
                    ..ExpenseFields::default()
                },
                PaymentKind::OwnMoney,
                false,
            ),
            doc(
                3,
                ExpenseFields {
                    amount: money(18_950, "EUR"),
                    base_amount: money(217_300, "SEK"),
                    date: day(28),
                    merchant: Some("Hotel Rīga".into()),
                    account_code: Some("5831".into()),
                    ..ExpenseFields::default()
                },
                PaymentKind::CompanyCard,
                true,
            ),
        ]
    }

    fn golden(name: &str, bytes: &[u8]) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/export/golden")
            .join(name);
        if std::env::var_os("KVITS_UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
        }
        let want = std::fs::read(&path).unwrap_or_default();
        assert!(
            want == bytes,
            "{name} differs from its golden file ({}); KVITS_UPDATE_GOLDEN=1 writes it:\n{}",
            path.display(),
            String::from_utf8_lossy(bytes)
        );
    }

    #[test]
    fn the_journal_of_a_known_batch() {
        let mut docs = docs();
        docs[2].account = Some("5831".into());
        let format = journal::Format {
            separator: kvits_protocol::CsvSeparator::Semicolon,
            decimal_mark: kvits_protocol::DecimalMark::Comma,
        };
        let bytes = journal::write(&docs, &company(), format).unwrap();
        golden("journal-semicolon-comma.csv", &bytes);
        // Read back as a spreadsheet would: every row, every field as written.
        let text = std::str::from_utf8(&bytes).unwrap();
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let header = csv.headers().unwrap().clone();
        let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 3);
        let col = |n: &str| header.iter().position(|h| h == n).expect(n);
        assert_eq!(&rows[0][col("merchant")], "Café Åre; \"Fika\"");
        assert_eq!(&rows[0][col("vat 25 %")], "40,00");
        assert_eq!(&rows[0][col("net 12 %")], "144,64");
        assert_eq!(&rows[1][col("note")], "From the airport,\nlate flight");
        assert_eq!(&rows[2][col("base_amount")], "2173,00");
        assert_eq!(&rows[2][col("exported_again")], "yes");

        let point = journal::Format {
            separator: kvits_protocol::CsvSeparator::Comma,
            decimal_mark: kvits_protocol::DecimalMark::Point,
        };
        golden(
            "journal-comma-point.csv",
            &journal::write(&docs, &company(), point).unwrap(),
        );
    }

    #[test]
    fn the_sie_file_of_a_known_batch_books_every_document_and_reads_back() {
        let mut docs = docs();
        docs[2].account = Some("5831".into());
        let settings = ExportSettings::defaults_for(Some("SE"));
        let (file, warnings) = sie_file(&company(), &settings, &docs, &batch());
        assert_eq!(warnings, Vec::<String>::new());
        let bytes = sie::write(&file).unwrap();
        golden("dune-design-ab-4.se", &bytes);
        // Every voucher balances, and a parser reads the accounts we meant.
        let items: Vec<sie4::item::Item> = sie4::Reader::new(&bytes[..])
            .collect::<Result<_, _>>()
            .expect("sie4 reads it");
        let vouchers: Vec<_> = items
            .iter()
            .filter_map(|i| match i {
                sie4::item::Item::Ver(v) => Some(v),
                _ => None,
            })
            .collect();
        assert_eq!(vouchers.len(), 3);
        let rows = |n: usize| -> Vec<(String, i128)> {
            vouchers[n]
                .transactions
                .0
                .iter()
                .map(|t| (t.account.to_string(), t.amount.mantissa()))
                .collect()
        };
        // The lunch: net to representation, VAT to 2640, the card credited.
        assert_eq!(
            rows(0),
            [
                ("6071".to_string(), 30_464),
                ("2640".to_string(), 5_736),
                ("2890".to_string(), -36_200)
            ]
        );
        // The taxi, own money: owed to the employee.
        assert_eq!(
            rows(1),
            [("6071".to_string(), 24_900), ("2820".to_string(), -24_900)]
        );
        // The EUR hotel: its SEK amount, no Swedish VAT.
        assert_eq!(
            rows(2),
            [
                ("5831".to_string(), 217_300),
                ("2890".to_string(), -217_300)
            ]
        );
    }

    #[test]
    fn a_document_sie_cannot_book_is_named_not_dropped_silently() {
        let mut docs = docs();
        docs[2].expense.fields.base_amount = None;
        docs[1].account = Some("Travel".into());
        let (file, warnings) = sie_file(
            &company(),
            &ExportSettings::defaults_for(Some("SE")),
            &docs,
            &batch(),
        );
        assert_eq!(file.vouchers.len(), 1);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].starts_with("voucher 4-002"));
        assert!(warnings[1].starts_with("voucher 4-003"));
    }
}
