//! Uploads in progress: the `uploads` rows, the `.part` files under `<data_dir>/uploads`, one
//! lock per upload, making a file and its row agree again after a crash ([`reconcile`]), and
//! sweeping uploads nobody finished.

use std::collections::HashMap;
use std::future::Future;
use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};
use std::time::Duration;

use kvits_protocol::{FirmId, UploadId, UploadStatus, UserId};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::{SWEEP_INTERVAL, Scope, stamp};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::store;

// ---------------------------------------------------------------------------------------------
// Rows

/// A partial upload.
#[derive(Clone, Debug)]
pub(super) struct UploadRow {
    pub(super) id: Uuid,
    pub(super) firm_id: FirmId,
    pub(super) user_id: UserId,
    pub(super) sha256: String,
    pub(super) length: u64,
    pub(super) offset: u64,
    pub(super) updated_at: String,
}

impl UploadRow {
    pub(super) fn status(&self) -> UploadStatus {
        UploadStatus {
            upload_id: UploadId(self.id),
            sha256: self.sha256.clone(),
            offset: self.offset,
            length: self.length,
            complete: false,
        }
    }
}

const UPLOAD_COLUMNS: &str =
    r#"id, firm_id, user_id, sha256, length, "offset", updated_at FROM uploads"#;

fn upload_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UploadRow> {
    Ok(UploadRow {
        id: store::uuid_col(r, 0)?,
        firm_id: store::uuid_col(r, 1)?,
        user_id: store::uuid_col(r, 2)?,
        sha256: r.get(3)?,
        length: r.get::<_, i64>(4)? as u64,
        offset: r.get::<_, i64>(5)? as u64,
        updated_at: r.get(6)?,
    })
}

/// An upload of `firm` (another firm's id is simply not found).
pub(super) fn upload_by_id(
    c: &Connection,
    (firm, user): Scope,
    id: Uuid,
) -> ApiResult<Option<UploadRow>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {UPLOAD_COLUMNS} WHERE id = ?1 AND firm_id = ?2 AND user_id = ?3"
    ))?
    .query_row(
        params![id.to_string(), firm.to_string(), user.to_string()],
        upload_from_row,
    )
    .optional()?)
}

pub(super) fn upload_by_sha(
    c: &Connection,
    (firm, user): Scope,
    sha256: &str,
) -> ApiResult<Option<UploadRow>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {UPLOAD_COLUMNS} WHERE firm_id = ?1 AND sha256 = ?2 AND user_id = ?3"
    ))?
    .query_row(
        params![firm.to_string(), sha256, user.to_string()],
        upload_from_row,
    )
    .optional()?)
}

// ---------------------------------------------------------------------------------------------
// Partial files and per-upload locks

pub(super) fn uploads_dir(state: &AppState) -> PathBuf {
    state.config.data_dir.join("uploads")
}

/// The file of an upload; `id` is a parsed UUID, so no request text reaches the path.
pub(super) fn part_path(state: &AppState, id: Uuid) -> PathBuf {
    uploads_dir(state).join(format!("{}.part", id.hyphenated()))
}

/// The length of a partial file (0 if it does not exist yet).
fn part_len(path: &std::path::Path) -> std::io::Result<u64> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

pub(super) fn remove_file(path: &std::path::Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Writes `chunk` at `offset` (cutting off anything after it first) and fsyncs it.
pub(super) fn append_durably(
    path: &std::path::Path,
    offset: u64,
    chunk: &[u8],
) -> std::io::Result<()> {
    let existed = path.exists();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(path)?;
    if file.metadata()?.len() != offset {
        file.set_len(offset)?;
    }
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(chunk)?;
    file.sync_all()?;
    if !existed {
        // Make the new directory entry durable too.
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
    }
    Ok(())
}

type UploadLock = Arc<tokio::sync::Mutex<()>>;

/// One async mutex per upload in use (ids are UUIDv7, unique across servers in a process).
static LOCKS: LazyLock<Mutex<HashMap<Uuid, Weak<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Mutex::default);

fn upload_lock(id: Uuid) -> UploadLock {
    let mut locks = LOCKS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(lock) = locks.get(&id).and_then(Weak::upgrade) {
        return lock;
    }
    if locks.len() >= 64 {
        locks.retain(|_, l| l.strong_count() > 0);
    }
    let lock = UploadLock::default();
    locks.insert(id, Arc::downgrade(&lock));
    lock
}

/// Runs `work` holding the upload's lock, in a task of its own: a client that hangs up
/// cannot stop it halfway (with a blocking file write still running after the lock is gone).
pub(super) async fn locked<T: Send + 'static>(
    id: Uuid,
    work: impl Future<Output = ApiResult<T>> + Send + 'static,
) -> ApiResult<T> {
    tokio::spawn(async move {
        let lock = upload_lock(id);
        let _guard = lock.lock().await;
        work.await
    })
    .await?
}

/// Under the upload's lock: makes the file and the row agree (see the module docs) and
/// returns the row as it now stands.
pub(super) async fn reconcile(state: &AppState, mut row: UploadRow) -> ApiResult<UploadRow> {
    let path = part_path(state, row.id);
    let offset = row.offset;
    let file_len = tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
        let len = part_len(&path)?;
        if len > offset {
            // Written but never acknowledged: the client sends it again.
            let file = std::fs::OpenOptions::new().write(true).open(&path)?;
            file.set_len(offset)?;
            file.sync_all()?;
            return Ok(offset);
        }
        Ok(len)
    })
    .await?
    .map_err(ApiError::internal)?;
    if file_len < row.offset {
        tracing::warn!(
            upload = %row.id, row = row.offset, file = file_len,
            "partial upload file is shorter than its row; resuming from the file"
        );
        let id = row.id.to_string();
        state
            .db
            .write(move |c| {
                c.execute(
                    r#"UPDATE uploads SET "offset" = ?2 WHERE id = ?1"#,
                    params![id, file_len as i64],
                )?;
                Ok(())
            })
            .await?;
        row.offset = file_len;
    }
    Ok(row)
}

/// Under the upload's lock: deletes the row, then the file.
pub(super) async fn discard(state: &AppState, id: Uuid) -> ApiResult<()> {
    let key = id.to_string();
    state
        .db
        .write(move |c| {
            c.execute("DELETE FROM uploads WHERE id = ?1", [key])?;
            Ok(())
        })
        .await?;
    let path = part_path(state, id);
    tokio::task::spawn_blocking(move || remove_file(&path))
        .await?
        .map_err(ApiError::internal)
}

// ---------------------------------------------------------------------------------------------
// Sweeping

/// Deletes partial uploads untouched for longer than `config.upload_ttl` (row and file), and
/// partial files no row owns any more (left by a crash) once they are as old. Uploads being
/// written right now are left alone. Returns how many uploads were deleted.
pub async fn sweep_once(state: &AppState) -> ApiResult<usize> {
    let ttl = chrono::Duration::from_std(state.config.upload_ttl).map_err(ApiError::internal)?;
    let Some(cutoff) = crate::now().checked_sub_signed(ttl) else {
        return Ok(0); // a TTL longer than history: nothing is stale
    };
    let cutoff = stamp(cutoff);
    let c2 = cutoff.clone();
    let stale: Vec<Uuid> = state
        .db
        .read(move |c| {
            let mut stmt = c.prepare_cached("SELECT id FROM uploads WHERE updated_at < ?1")?;
            let ids = stmt.query_map([c2], |r| store::uuid_col::<Uuid>(r, 0))?;
            Ok(ids.collect::<rusqlite::Result<_>>()?)
        })
        .await?;
    let mut deleted = 0;
    for id in stale {
        let lock = upload_lock(id);
        let Ok(_guard) = lock.try_lock() else {
            continue; // in use: not stale
        };
        let (key, before) = (id.to_string(), cutoff.clone());
        let gone = state
            .db
            .write(move |c| {
                Ok(c.execute(
                    "DELETE FROM uploads WHERE id = ?1 AND updated_at < ?2",
                    params![key, before],
                )?)
            })
            .await?;
        if gone == 1 {
            let path = part_path(state, id);
            tokio::task::spawn_blocking(move || remove_file(&path))
                .await?
                .map_err(ApiError::internal)?;
            deleted += 1;
        }
    }

    // Files without a row.
    let dir = uploads_dir(state);
    let max_age = state.config.upload_ttl;
    let old_files: Vec<Uuid> = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut old = Vec::new();
        for entry in entries {
            let entry = entry?;
            let file_name = entry.file_name();
            let Some(id) = file_name
                .to_str()
                .and_then(|n| n.strip_suffix(".part"))
                .and_then(|n| Uuid::parse_str(n).ok())
            else {
                continue;
            };
            let age = entry.metadata()?.modified()?.elapsed().unwrap_or_default();
            if age > max_age {
                old.push(id);
            }
        }
        Ok(old)
    })
    .await?
    .map_err(ApiError::internal)?;
    for id in old_files {
        let lock = upload_lock(id);
        let Ok(_guard) = lock.try_lock() else {
            continue;
        };
        let key = id.to_string();
        let owned = state
            .db
            .read(move |c| {
                Ok(c.prepare_cached("SELECT 1 FROM uploads WHERE id = ?1")?
                    .exists([key])?)
            })
            .await?;
        if !owned {
            let path = part_path(state, id);
            tokio::task::spawn_blocking(move || remove_file(&path))
                .await?
                .map_err(ApiError::internal)?;
            tracing::info!(upload = %id, "removed a partial file no upload owns");
        }
    }
    if deleted > 0 {
        tracing::info!(deleted, "stale partial uploads deleted");
    }
    Ok(deleted)
}

/// Sweeps between two looks for stored files nothing names (hourly).
const COLLECT_EVERY: u64 = 60;

/// Runs [`sweep_once`] every [`SWEEP_INTERVAL`], the first time a second after start (and
/// forgets idle request budgets), and [`super::collect_unreferenced`] every [`COLLECT_EVERY`]
/// sweeps.
pub async fn sweep_forever(state: AppState) {
    let start = tokio::time::Instant::now() + Duration::from_secs(1);
    let mut interval = tokio::time::interval_at(start, SWEEP_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for round in 0u64.. {
        interval.tick().await;
        if let Err(e) = sweep_once(&state).await {
            tracing::warn!(code = e.code.as_str(), message = %e.message, "upload sweep failed");
        }
        state.limits.forget_idle();
        if round % COLLECT_EVERY == 0
            && let Err(e) = super::collect_unreferenced(&state).await
        {
            tracing::warn!(code = e.code.as_str(), message = %e.message, "blob collection failed");
        }
    }
}
