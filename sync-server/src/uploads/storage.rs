//! What uploads may take of the server's storage: who may upload at all, each person's and
//! each firm's share, partial uploads open at once, the disk's free space; and giving back
//! what nothing names any more.
//!
//! A refused upload is answered `507` (`quota_exceeded` or `insufficient_storage`) with a long
//! `Retry-After`: every client reads a 5xx as "keep the file and try later", and a receipt
//! photographed must never be given up because the firm ran out of room.

use std::path::Path;
use std::time::Duration;

use axum::http::StatusCode;
use kvits_protocol::{ErrorCode, FirmId, UserId};
use rusqlite::{Connection, OptionalExtension, params};

use crate::AppState;
use crate::error::{ApiError, ApiResult};

const GIB: u64 = 1024 * 1024 * 1024;

/// Storage bounds; see [`crate::Config::storage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageLimits {
    /// Bytes one person's files may take (the blobs they uploaded, and their uploads in
    /// progress at their full length).
    pub user_bytes: u64,
    /// Bytes one firm's files may take, the same way.
    pub firm_bytes: u64,
    /// Uploads one person may have in progress at once.
    pub partial_uploads_per_user: u64,
    /// Uploads are refused while the data directory's disk has less than this free.
    pub min_free_disk: u64,
    /// A stored file that no row has named for this long is deleted (an upload comes before
    /// the push that names it, and a phone may be offline for days in between).
    pub unreferenced_grace: Duration,
}

impl Default for StorageLimits {
    fn default() -> Self {
        StorageLimits {
            // Years of receipts for a busy employee (phones send ~0.5 MB per page).
            user_bytes: 10 * GIB,
            firm_bytes: 2048 * GIB,
            partial_uploads_per_user: 32,
            min_free_disk: GIB,
            unreferenced_grace: Duration::from_secs(30 * 86_400),
        }
    }
}

fn quota_exceeded(message: String) -> ApiError {
    ApiError::new(
        StatusCode::INSUFFICIENT_STORAGE,
        ErrorCode::QuotaExceeded,
        message,
    )
    .with_header("retry-after", "3600")
}

/// Refuses an upload when the data directory's disk is short of space.
pub fn check_disk(data_dir: &Path, limits: &StorageLimits) -> ApiResult<()> {
    let free = free_space(data_dir).map_err(ApiError::internal)?;
    if free < limits.min_free_disk {
        tracing::warn!(free, "uploads refused: the disk is short of space");
        return Err(ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            ErrorCode::InsufficientStorage,
            "the server is short of disk space and takes no files for now; your file is kept \
             and sent later",
        )
        .with_header("retry-after", "600"));
    }
    Ok(())
}

/// Bytes an unprivileged process may still write on the file system of `path`.
fn free_space(path: &Path) -> std::io::Result<u64> {
    let stats = rustix::fs::statvfs(path)?;
    Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// Refuses a new upload of `length` bytes by `user` of `firm` that their role, their share or
/// the firm's would not allow. Runs in the transaction that records the upload.
pub fn check_new_upload(
    c: &Connection,
    limits: &StorageLimits,
    firm: FirmId,
    user: UserId,
    length: u64,
) -> ApiResult<()> {
    if !crate::store::may_upload(c, user)? {
        return Err(ApiError::forbidden(
            "your role stores no files: only people who capture receipts or write messages \
             upload",
        ));
    }
    let (firm_key, user_key) = (firm.to_string(), user.to_string());
    let (partial, partial_bytes): (i64, i64) = c
        .prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(length), 0) FROM uploads WHERE user_id = ?1",
        )?
        .query_row([&user_key], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if partial as u64 >= limits.partial_uploads_per_user {
        return Err(quota_exceeded(format!(
            "you have {partial} files being sent already; the next one starts when one of them \
             is done"
        ))
        .with_header("retry-after", "60"));
    }
    let stored: i64 = c
        .prepare_cached(
            "SELECT COALESCE(SUM(b.size), 0) FROM blob_owners o
             JOIN blobs b ON b.firm_id = o.firm_id AND b.sha256 = o.sha256
             WHERE o.user_id = ?1 AND o.firm_id = ?2",
        )?
        .query_row(params![user_key, firm_key], |r| r.get(0))?;
    let mine = stored as u64 + partial_bytes as u64 + length;
    if mine > limits.user_bytes {
        return Err(quota_exceeded(format!(
            "your files would take {} of the {} you may store; ask your accounting firm",
            megabytes(mine),
            megabytes(limits.user_bytes)
        )));
    }
    let (firm_stored, firm_partial): (i64, i64) = c
        .prepare_cached(
            "SELECT (SELECT COALESCE(SUM(size), 0) FROM blobs WHERE firm_id = ?1),
                    (SELECT COALESCE(SUM(length), 0) FROM uploads WHERE firm_id = ?1)",
        )?
        .query_row([&firm_key], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let firms = firm_stored as u64 + firm_partial as u64 + length;
    if firms > limits.firm_bytes {
        return Err(quota_exceeded(format!(
            "your accounting firm's files would take {} of the {} it may store; it has been \
             told",
            megabytes(firms),
            megabytes(limits.firm_bytes)
        )));
    }
    Ok(())
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// One stored file no row names.
struct Unreferenced {
    firm: FirmId,
    sha256: String,
}

/// Deletes the stored files that no row has named for [`StorageLimits::unreferenced_grace`]
/// (a discarded draft's photos, an upload whose push never came); answers how many.
///
/// Each file's rows go first, in a transaction that checks again that nothing names it, then
/// its objects, all under the blob store's write lock so that an upload finishing the same
/// bytes meanwhile cannot have its fresh objects deleted under its new row.
pub async fn collect_unreferenced(state: &AppState) -> ApiResult<usize> {
    let grace = chrono::Duration::from_std(state.config.storage.unreferenced_grace)
        .map_err(ApiError::internal)?;
    let before = super::stamp(crate::now() - grace);
    let found = state
        .db
        .read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT b.firm_id, b.sha256 FROM blobs b
                 WHERE b.created_at < ?1
                   AND NOT EXISTS (SELECT 1 FROM blob_refs r
                                   WHERE r.firm_id = b.firm_id AND r.sha256 = b.sha256)
                 LIMIT 1000",
            )?;
            let rows = stmt.query_map([before], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut found = Vec::new();
            for row in rows {
                let (firm, sha256) = row?;
                if let Ok(firm) = firm.parse() {
                    found.push(Unreferenced { firm, sha256 });
                }
            }
            Ok(found)
        })
        .await?;
    let mut deleted = 0;
    for blob in found {
        let _exclusive = state.blobs.lock_for_delete().await;
        let (firm, sha) = (blob.firm.to_string(), blob.sha256.clone());
        let gone = state
            .db
            .write(move |c| {
                let tx = c.transaction()?;
                let named = tx
                    .prepare_cached("SELECT 1 FROM blob_refs WHERE firm_id = ?1 AND sha256 = ?2")?
                    .query_row(params![firm, sha], |_| Ok(()))
                    .optional()?
                    .is_some();
                if named {
                    return Ok(false);
                }
                tx.execute(
                    "DELETE FROM blob_owners WHERE firm_id = ?1 AND sha256 = ?2",
                    params![firm, sha],
                )?;
                let removed = tx.execute(
                    "DELETE FROM blobs WHERE firm_id = ?1 AND sha256 = ?2",
                    params![firm, sha],
                )?;
                tx.commit()?;
                Ok(removed == 1)
            })
            .await?;
        if gone {
            state
                .blobs
                .delete(blob.firm, &blob.sha256)
                .await
                .map_err(ApiError::internal)?;
            deleted += 1;
        }
    }
    if deleted > 0 {
        tracing::info!(deleted, "stored files no row names were deleted");
    }
    Ok(deleted)
}
