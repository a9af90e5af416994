//! Export to the books, as the expense sees it: reviewed → in an export batch (locked while its
//! file is written) → exported (locked). The firm unlocks an exported expense to correct it,
//! which marks it changed since export; exporting it again is an explicit choice. Cancelling a
//! batch puts its expenses back where they were: in the export queue, or exported earlier.
//!
//! The server's export makes `start_export`, `finish_export` and `cancel_export` (an app may not
//! send them: they name batches only the server makes); `unlock` is the firm's, from any app.

use kvits_protocol::{ExpenseId, ExpenseStatus, ExportBatchId, ExportMark, HistoryAction, Role};

use crate::expense::{put, status_word, visible};
use crate::history::record;
use crate::review::as_seen;
use crate::{Applied, Cx, DomainError, validate};

/// Roles that export: the firm's staff.
const EXPORT_ROLES: [Role; 1] = [Role::Accountant];

/// The expense, if the actor exports for its company.
fn exportable(cx: &Cx<'_>, id: ExpenseId) -> Result<kvits_protocol::Expense, DomainError> {
    let e = visible(cx, id)?;
    cx.require(e.company_id, &EXPORT_ROLES, "export documents")?;
    Ok(e)
}

fn in_batch(e: &kvits_protocol::Expense, batch: ExportBatchId) -> bool {
    e.export.as_ref().is_some_and(|m| m.batch_id == batch)
}

pub(crate) fn start(
    cx: &Cx<'_>,
    id: ExpenseId,
    seen_revision: u32,
    batch_id: ExportBatchId,
    batch_number: u32,
    voucher: &str,
) -> Result<Applied, DomainError> {
    let mut e = exportable(cx, id)?;
    if in_batch(&e, batch_id) {
        return Ok(Applied::AlreadyApplied);
    }
    validate::text("voucher", voucher, validate::MAX_SHORT_TEXT, true)?;
    match e.status {
        ExpenseStatus::Reviewed | ExpenseStatus::Exported => {}
        ExpenseStatus::Exporting => {
            return Err(DomainError::wrong_state(
                "this document is in another export batch that is being made",
            ));
        }
        other => {
            return Err(DomainError::wrong_state(format!(
                "this document is {}; only reviewed documents are exported",
                status_word(other)
            )));
        }
    }
    as_seen(&e, seen_revision)?;
    // Exporting again keeps the earlier export to return to if this batch is cancelled (one
    // step back is all a cancel needs).
    let replaces = e.export.take().map(|mut earlier| {
        earlier.replaces = None;
        Box::new(earlier)
    });
    e.export = Some(ExportMark {
        batch_id,
        batch_number,
        voucher: voucher.to_owned(),
        at: cx.now,
        locked: true,
        changed: false,
        replaces,
    });
    e.status = ExpenseStatus::Exporting;
    let note = format!("batch {batch_number}, voucher {voucher}");
    record(
        cx,
        &mut e,
        HistoryAction::ExportStarted,
        Vec::new(),
        Some(&note),
    );
    put(e, cx)
}

pub(crate) fn finish(
    cx: &Cx<'_>,
    id: ExpenseId,
    batch_id: ExportBatchId,
) -> Result<Applied, DomainError> {
    let mut e = exportable(cx, id)?;
    if !in_batch(&e, batch_id) {
        return Err(DomainError::wrong_state(
            "this document is not in that export batch",
        ));
    }
    match e.status {
        ExpenseStatus::Exported => return Ok(Applied::AlreadyApplied),
        ExpenseStatus::Exporting => {}
        other => {
            return Err(DomainError::wrong_state(format!(
                "this document is {}, not being exported",
                status_word(other)
            )));
        }
    }
    e.status = ExpenseStatus::Exported;
    let note = e
        .export
        .as_ref()
        .map(|m| format!("batch {}, voucher {}", m.batch_number, m.voucher));
    record(
        cx,
        &mut e,
        HistoryAction::Exported,
        Vec::new(),
        note.as_deref(),
    );
    put(e, cx)
}

pub(crate) fn cancel(
    cx: &Cx<'_>,
    id: ExpenseId,
    batch_id: ExportBatchId,
) -> Result<Applied, DomainError> {
    let mut e = exportable(cx, id)?;
    let Some(mark) = e.export.take().filter(|m| m.batch_id == batch_id) else {
        // Not (or no longer) in the batch: cancelling it again changes nothing.
        return Ok(Applied::AlreadyApplied);
    };
    if !matches!(e.status, ExpenseStatus::Exporting | ExpenseStatus::Exported) {
        return Ok(Applied::AlreadyApplied);
    }
    let note = format!("batch {}", mark.batch_number);
    match mark.replaces {
        Some(earlier) => {
            e.export = Some(*earlier);
            e.status = ExpenseStatus::Exported;
        }
        None => e.status = ExpenseStatus::Reviewed,
    }
    record(
        cx,
        &mut e,
        HistoryAction::ExportCancelled,
        Vec::new(),
        Some(&note),
    );
    put(e, cx)
}

pub(crate) fn unlock(
    cx: &Cx<'_>,
    id: ExpenseId,
    seen_revision: u32,
) -> Result<Applied, DomainError> {
    let mut e = exportable(cx, id)?;
    if e.status != ExpenseStatus::Exported {
        return Err(DomainError::wrong_state(format!(
            "this document is {}; only exported documents are unlocked",
            status_word(e.status)
        )));
    }
    let Some(mark) = e.export.as_mut() else {
        return Err(DomainError::wrong_state("this document has no export"));
    };
    if !mark.locked {
        return Ok(Applied::AlreadyApplied);
    }
    as_seen(&e, seen_revision)?;
    if let Some(mark) = e.export.as_mut() {
        mark.locked = false;
    }
    record(cx, &mut e, HistoryAction::Unlocked, Vec::new(), None);
    put(e, cx)
}
