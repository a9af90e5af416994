//! Resumable, content-addressed photo uploads and blob downloads (DESIGN §3 point 4; the wire
//! contract is documented in `kvits_protocol::upload`).
//!
//! * `HEAD /v1/blobs/{sha256}` — does the firm already have this blob?
//! * `POST /v1/uploads` — start (or find again) the upload of a blob.
//! * `HEAD /v1/uploads/{id}` — where to continue.
//! * `PATCH /v1/uploads/{id}` — append one checksummed chunk at the stated offset; the last
//!   one is checked against the whole-file hash, validated as an image, and stored.
//! * `GET /v1/blobs/{sha256}` and `GET /v1/blobs/{sha256}/thumbnail` — download (ranges,
//!   ETag), for the uploader and for users who may see a row that names the blob.
//!
//! # Durability
//!
//! The bytes of an upload in progress live in `<data_dir>/uploads/<id>.part`; the `uploads`
//! row's `offset` counts the bytes that are durable. A chunk is written and fsynced *before*
//! the row moves, so after a crash the file is never shorter than the row says, only longer
//! (a chunk that was written but not acknowledged); the extra bytes are cut off before the
//! upload is used again. Should the file still be shorter (a lost file system write), the row
//! is lowered to it, and the client resends from there. The row never reaches the full
//! length: the last chunk is appended, the whole file checked and the blob stored, and only
//! then is the row deleted — so a crash at any point either leaves a stored blob or an upload
//! that resumes with the last chunk.
//!
//! # Concurrency
//!
//! Everything that touches one upload's file and row after the body is read holds that
//! upload's async mutex and re-checks the offset under it, so two PATCHes of the same chunk
//! never both append: the second gets a 409 with the new offset.

use std::collections::HashMap;
use std::future::Future;
use std::io::{Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, head, post};
use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt;
use kvits_imaging::{ImagingError, SourceFormat};
use kvits_protocol::{
    CHECKSUM_MISMATCH_STATUS, EntityKind, ErrorCode, FirmId, MAX_BLOB_BYTES, MAX_CHUNK_BYTES,
    OFFSET_CONTENT_TYPE, UPLOAD_CHECKSUM, UPLOAD_EXPIRES, UPLOAD_LENGTH, UPLOAD_OFFSET,
    UPLOAD_SHA256, UploadId, UploadStatus, UserId, is_sha256_hex,
};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::AppState;
use crate::auth::AuthUser;
use crate::blobs::Variant;
use crate::error::{ApiError, ApiResult, Path};
use crate::pdf;
use crate::store;

/// How often stale partial uploads are looked for.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// `Cache-Control` of blob downloads: a blob's name is its hash, so it never changes.
const IMMUTABLE: &str = "private, max-age=31536000, immutable";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/blobs/{sha256}", get(get_blob).head(head_blob))
        .route("/v1/blobs/{sha256}/thumbnail", get(get_thumbnail))
        .route("/v1/uploads", post(create_upload))
        .route("/v1/uploads/{id}", head(head_upload).patch(patch_upload))
        // PATCH reads its body itself (bounded by what the upload still lacks, at most
        // MAX_CHUNK_BYTES); this only bounds any extractor added later.
        .layer(DefaultBodyLimit::max(MAX_CHUNK_BYTES as usize))
}

// ---------------------------------------------------------------------------------------------
// Rows

/// A partial upload.
#[derive(Clone, Debug)]
struct UploadRow {
    id: Uuid,
    firm_id: FirmId,
    user_id: UserId,
    sha256: String,
    length: u64,
    offset: u64,
    updated_at: String,
}

impl UploadRow {
    fn status(&self) -> UploadStatus {
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
/// Who an upload belongs to: each person uploads their own copy of a blob, so nobody can
/// join (or spoil) another's upload, and finishing one proves the uploader holds the bytes.
type Scope = (FirmId, UserId);

fn upload_by_id(c: &Connection, (firm, user): Scope, id: Uuid) -> ApiResult<Option<UploadRow>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {UPLOAD_COLUMNS} WHERE id = ?1 AND firm_id = ?2 AND user_id = ?3"
    ))?
    .query_row(
        params![id.to_string(), firm.to_string(), user.to_string()],
        upload_from_row,
    )
    .optional()?)
}

fn upload_by_sha(
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

/// A stored blob.
#[derive(Clone, Debug)]
struct BlobRow {
    size: u64,
    content_type: String,
}

fn blob_row(c: &Connection, firm: FirmId, sha256: &str) -> ApiResult<Option<BlobRow>> {
    Ok(
        c.prepare_cached(
            "SELECT size, content_type FROM blobs WHERE firm_id = ?1 AND sha256 = ?2",
        )?
        .query_row(params![firm.to_string(), sha256], |r| {
            Ok(BlobRow {
                size: r.get::<_, i64>(0)? as u64,
                content_type: r.get(1)?,
            })
        })
        .optional()?,
    )
}

/// The blob, if `user` may download it: they uploaded it, or they may see a row naming it
/// whose author uploaded it.
fn readable_blob(c: &Connection, user: &AuthUser, sha256: &str) -> ApiResult<Option<BlobRow>> {
    let Some(blob) = blob_row(c, user.firm_id, sha256)? else {
        return Ok(None);
    };
    if owns_blob(c, (user.firm_id, user.user_id), sha256)? {
        return Ok(Some(blob));
    }
    let refs: Vec<(String, String)> = {
        let mut stmt = c.prepare_cached(
            "SELECT kind, entity_id FROM blob_refs WHERE firm_id = ?1 AND sha256 = ?2",
        )?;
        let rows = stmt.query_map(params![user.firm_id.to_string(), sha256], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    if refs.is_empty() {
        return Ok(None);
    }
    let actor = store::actor(c, user.user_id)?;
    for (kind, id) in refs {
        let (Some(kind), Ok(id)) = (EntityKind::parse(&kind), Uuid::parse_str(&id)) else {
            continue;
        };
        // A row lends its blobs to those who see it only when its author holds them: naming
        // someone else's hash in one's own row reveals nothing.
        if let Some(entity) = store::load(c, kind, id)?
            && kvits_domain::can_see(&actor, &entity)
            && store::author(&entity)
                .map(|author| owns_blob(c, (user.firm_id, author), sha256))
                .transpose()?
                .unwrap_or(false)
        {
            return Ok(Some(blob));
        }
    }
    Ok(None)
}

/// Whether `user` uploaded these bytes themselves.
pub(crate) fn owns_blob(c: &Connection, (firm, user): Scope, sha256: &str) -> ApiResult<bool> {
    Ok(c.prepare_cached(
        "SELECT 1 FROM blob_owners WHERE firm_id = ?1 AND sha256 = ?2 AND user_id = ?3",
    )?
    .exists(params![firm.to_string(), sha256, user.to_string()])?)
}

/// Fixed-width RFC 3339 (microseconds, `Z`): text order is time order.
fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn expires_at(state: &AppState, updated_at: &str) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(updated_at)
        .ok()?
        .with_timezone(&Utc);
    let ttl = chrono::Duration::from_std(state.config.upload_ttl).ok()?;
    Some(stamp(t.checked_add_signed(ttl)?))
}

// ---------------------------------------------------------------------------------------------
// Partial files and per-upload locks

fn uploads_dir(state: &AppState) -> PathBuf {
    state.config.data_dir.join("uploads")
}

/// The file of an upload; `id` is a parsed UUID, so no request text reaches the path.
fn part_path(state: &AppState, id: Uuid) -> PathBuf {
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

fn remove_file(path: &std::path::Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Writes `chunk` at `offset` (cutting off anything after it first) and fsyncs it.
fn append_durably(path: &std::path::Path, offset: u64, chunk: &[u8]) -> std::io::Result<()> {
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
async fn locked<T: Send + 'static>(
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

/// Decoding is memory- and CPU-heavy: at most one image per core at a time.
static IMAGING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// Under the upload's lock: makes the file and the row agree (see the module docs) and
/// returns the row as it now stands.
async fn reconcile(state: &AppState, mut row: UploadRow) -> ApiResult<UploadRow> {
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
async fn discard(state: &AppState, id: Uuid) -> ApiResult<()> {
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
// Headers

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> ApiResult<Option<&'h str>> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map(str::trim)
                .map_err(|_| ApiError::bad_request(format!("the {name} header is not text")))
        })
        .transpose()
}

/// A non-negative decimal integer header.
fn required_u64(headers: &HeaderMap, name: &str) -> ApiResult<u64> {
    let value = header_str(headers, name)?
        .ok_or_else(|| ApiError::bad_request(format!("the {name} header is required")))?;
    if value.is_empty() || value.len() > 20 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request(format!(
            "the {name} header must be a whole number of bytes"
        )));
    }
    value
        .parse()
        .map_err(|_| ApiError::bad_request(format!("the {name} header is out of range")))
}

/// `upload-checksum: sha256 <base64 digest>`.
fn required_checksum(headers: &HeaderMap) -> ApiResult<[u8; 32]> {
    let value = header_str(headers, UPLOAD_CHECKSUM)?.ok_or_else(|| {
        ApiError::bad_request(format!(
            "the {UPLOAD_CHECKSUM} header is required: `sha256 <base64 of the chunk's digest>`"
        ))
    })?;
    let malformed = || {
        ApiError::bad_request(format!(
            "the {UPLOAD_CHECKSUM} header must be `sha256 <base64 of the chunk's digest>`"
        ))
    };
    let (algorithm, digest) = value.split_once(' ').ok_or_else(malformed)?;
    if !algorithm.eq_ignore_ascii_case("sha256") {
        return Err(ApiError::bad_request(format!(
            "checksum algorithm {algorithm:?} is not supported; use sha256"
        )));
    }
    let digest = base64::engine::general_purpose::STANDARD
        .decode(digest.trim())
        .map_err(|_| malformed())?;
    digest.try_into().map_err(|_| malformed())
}

fn name(n: &'static str) -> HeaderName {
    HeaderName::from_static(n)
}

fn text(value: &str) -> ApiResult<HeaderValue> {
    HeaderValue::from_str(value).map_err(ApiError::internal)
}

fn offset_mismatch(offset: u64) -> ApiError {
    ApiError::conflict(
        ErrorCode::OffsetMismatch,
        format!("this upload continues at byte {offset}"),
    )
    .with_details(serde_json::json!({ "offset": offset }))
    .with_header(UPLOAD_OFFSET, offset.to_string())
}

fn blob_not_found() -> ApiError {
    ApiError::not_found("blob")
}

fn upload_not_found() -> ApiError {
    ApiError::not_found("upload")
}

fn json_response(status: StatusCode, body: &UploadStatus) -> ApiResult<Response> {
    let mut response = Response::new(Body::from(serde_json::to_vec(body)?));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(name(UPLOAD_OFFSET), HeaderValue::from(body.offset));
    h.insert(name(UPLOAD_LENGTH), HeaderValue::from(body.length));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The answer for an upload in progress (`POST` found or made it).
fn upload_response(state: &AppState, status: StatusCode, row: &UploadRow) -> ApiResult<Response> {
    let mut response = json_response(status, &row.status())?;
    let h = response.headers_mut();
    h.insert(header::LOCATION, text(&format!("/v1/uploads/{}", row.id))?);
    if let Some(expires) = expires_at(state, &row.updated_at) {
        h.insert(name(UPLOAD_EXPIRES), text(&expires)?);
    }
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// POST /v1/uploads

enum Start {
    /// The firm has the blob (of this size).
    Stored(u64),
    Created(UploadRow),
    Existing(UploadRow),
}

async fn create_upload(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let length = required_u64(&headers, UPLOAD_LENGTH)?;
    if length == 0 {
        return Err(ApiError::bad_request(
            "an empty file is not a receipt photo",
        ));
    }
    if length > MAX_BLOB_BYTES {
        return Err(ApiError::too_large(format!(
            "the file is {length} bytes; the limit is {MAX_BLOB_BYTES}"
        )));
    }
    let sha256 = header_str(&headers, UPLOAD_SHA256)?
        .unwrap_or_default()
        .to_owned();
    if !is_sha256_hex(&sha256) {
        return Err(ApiError::bad_request(format!(
            "the {UPLOAD_SHA256} header must be the lower-case hex SHA-256 of the whole file"
        )));
    }

    // A few rounds at most: each retry follows an upload that finished or was discarded
    // between two looks.
    for _ in 0..4 {
        let (firm, uploader, sha) = (user.firm_id, user.user_id, sha256.clone());
        let start = state
            .db
            .write(move |c| {
                // Done already only for someone who holds the bytes; anyone else proves it
                // by uploading them (the copy is then not stored twice).
                if let Some(blob) = blob_row(c, firm, &sha)?
                    && owns_blob(c, (firm, uploader), &sha)?
                {
                    return Ok(Start::Stored(blob.size));
                }
                if let Some(row) = upload_by_sha(c, (firm, uploader), &sha)? {
                    return Ok(Start::Existing(row));
                }
                let now = stamp(crate::now());
                let row = UploadRow {
                    id: crate::new_id(),
                    firm_id: firm,
                    user_id: uploader,
                    sha256: sha,
                    length,
                    offset: 0,
                    updated_at: now.clone(),
                };
                c.execute(
                    r#"INSERT INTO uploads
                       (id, firm_id, user_id, sha256, length, "offset", created_at, updated_at)
                       VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6)"#,
                    params![
                        row.id.to_string(),
                        firm.to_string(),
                        uploader.to_string(),
                        row.sha256,
                        length as i64,
                        now
                    ],
                )?;
                Ok(Start::Created(row))
            })
            .await?;
        match start {
            Start::Stored(size) => {
                let status = UploadStatus {
                    // No upload exists for a stored blob.
                    upload_id: UploadId(Uuid::nil()),
                    sha256,
                    offset: size,
                    length: size,
                    complete: true,
                };
                return json_response(StatusCode::OK, &status);
            }
            Start::Created(row) => {
                tracing::info!(upload = %row.id, sha256 = %row.sha256, length, "upload started");
                return upload_response(&state, StatusCode::CREATED, &row);
            }
            Start::Existing(row) => {
                let (st, firm, id) = (state.clone(), (user.firm_id, user.user_id), row.id);
                let resumed =
                    locked(id, async move { resume(&st, firm, id, length).await }).await?;
                if let Some(row) = resumed {
                    return upload_response(&state, StatusCode::OK, &row);
                }
            }
        }
    }
    Err(ApiError::unavailable(
        "the upload changed while it was being looked up; try again",
    ))
}

/// Under the upload's lock: the upload `POST` found again, touched and ready to continue;
/// `None` if it is gone (finished, swept, or discarded for a different length).
async fn resume(
    state: &AppState,
    firm: Scope,
    id: Uuid,
    length: u64,
) -> ApiResult<Option<UploadRow>> {
    let Some(row) = state.db.read(move |c| upload_by_id(c, firm, id)).await? else {
        return Ok(None);
    };
    if row.length != length {
        // The same hash cannot have two lengths: one declaration is wrong, and the newest
        // one is the client that is still trying.
        tracing::warn!(upload = %row.id, old = row.length, new = length,
            "upload restarted with a different length");
        discard(state, row.id).await?;
        return Ok(None);
    }
    let mut row = reconcile(state, row).await?;
    let now = stamp(crate::now());
    row.updated_at = now.clone();
    let key = row.id.to_string();
    state
        .db
        .write(move |c| {
            c.execute(
                "UPDATE uploads SET updated_at = ?2 WHERE id = ?1",
                params![key, now],
            )?;
            Ok(())
        })
        .await?;
    Ok(Some(row))
}

// ---------------------------------------------------------------------------------------------
// HEAD /v1/uploads/{id}

async fn head_upload(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    let (st, firm) = (state.clone(), (user.firm_id, user.user_id));
    let row = locked(id, async move {
        let row = st
            .db
            .read(move |c| upload_by_id(c, firm, id))
            .await?
            .ok_or_else(upload_not_found)?;
        reconcile(&st, row).await
    })
    .await?;
    let mut response = Response::new(Body::empty());
    let h = response.headers_mut();
    h.insert(name(UPLOAD_OFFSET), HeaderValue::from(row.offset));
    h.insert(name(UPLOAD_LENGTH), HeaderValue::from(row.length));
    h.insert(name(UPLOAD_SHA256), text(&row.sha256)?);
    if let Some(expires) = expires_at(&state, &row.updated_at) {
        h.insert(name(UPLOAD_EXPIRES), text(&expires)?);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// PATCH /v1/uploads/{id}

/// The checks a PATCH passes before its body is read: a wrong offset fails fast.
async fn patch_checks(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
    headers: &HeaderMap,
) -> ApiResult<(u64, [u8; 32], UploadRow)> {
    let content_type = header_str(headers, header::CONTENT_TYPE.as_str())?.unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case(OFFSET_CONTENT_TYPE) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            format!("send chunks with Content-Type: {OFFSET_CONTENT_TYPE}"),
        ));
    }
    let offset = required_u64(headers, UPLOAD_OFFSET)?;
    let checksum = required_checksum(headers)?;

    // A first look, before the body is read: a wrong offset fails fast (and a client that
    // sent `Expect: 100-continue` never sends the chunk).
    let firm = (user.firm_id, user.user_id);
    let row = state
        .db
        .read(move |c| upload_by_id(c, firm, id))
        .await?
        .ok_or_else(upload_not_found)?;
    if offset != row.offset {
        return Err(offset_mismatch(row.offset));
    }
    Ok((offset, checksum, row))
}

/// Reads and drops (up to a chunk's size of) a refused request's body, so the client, which
/// is still sending it, reliably reads the answer instead of a reset connection. A client that
/// sent `Expect: 100-continue` has sent nothing yet and is not asked for it.
async fn drain_unless_expecting(body: Body, headers: &HeaderMap) {
    let expecting = headers
        .get(header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if !expecting {
        let _ = axum::body::to_bytes(body, MAX_CHUNK_BYTES as usize).await;
    }
}

async fn patch_upload(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let (offset, checksum, row) = match patch_checks(&state, &user, id, &headers).await {
        Ok(checked) => checked,
        Err(e) => {
            drain_unless_expecting(body, &headers).await;
            return Err(e);
        }
    };
    let remaining = row.length - row.offset;
    let limit = remaining.min(MAX_CHUNK_BYTES);
    let declared =
        header_str(&headers, header::CONTENT_LENGTH.as_str())?.and_then(|v| v.parse::<u64>().ok());
    if let Some(declared) = declared
        && declared > limit
    {
        return Err(chunk_too_large(remaining));
    }
    let chunk = read_chunk(body, limit, declared, remaining).await?;
    if Sha256::digest(&chunk)[..] != checksum[..] {
        return Err(ApiError::new(
            StatusCode::from_u16(CHECKSUM_MISMATCH_STATUS).map_err(ApiError::internal)?,
            ErrorCode::ChecksumMismatch,
            "the chunk does not match its checksum (damaged on the way?); send it again",
        )
        .with_details(serde_json::json!({ "offset": row.offset }))
        .with_header(UPLOAD_OFFSET, row.offset.to_string()));
    }

    let st = state.clone();
    locked(id, async move {
        append(&st, (user.firm_id, user.user_id), id, offset, chunk).await
    })
    .await
}

/// Under the upload's lock: appends a checked chunk at `offset`, finishing the upload with
/// the last one.
async fn append(
    state: &AppState,
    firm: Scope,
    id: Uuid,
    offset: u64,
    chunk: Vec<u8>,
) -> ApiResult<Response> {
    let row = state
        .db
        .read(move |c| upload_by_id(c, firm, id))
        .await?
        .ok_or_else(upload_not_found)?;
    let row = reconcile(state, row).await?;
    if offset != row.offset {
        return Err(offset_mismatch(row.offset));
    }
    if chunk.is_empty() {
        return no_content(row.offset);
    }
    if chunk.len() as u64 > row.length - row.offset {
        return Err(chunk_too_large(row.length - row.offset));
    }

    let (path, dir) = (part_path(state, id), uploads_dir(state));
    let end = offset + chunk.len() as u64;
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        append_durably(&path, offset, &chunk)
    })
    .await?
    .map_err(ApiError::internal)?;

    if end == row.length {
        return finish(state, row).await;
    }
    let now = stamp(crate::now());
    let key = id.to_string();
    let moved = state
        .db
        .write(move |c| {
            Ok(c.execute(
                r#"UPDATE uploads SET "offset" = ?3, updated_at = ?4
                   WHERE id = ?1 AND "offset" = ?2"#,
                params![key, offset as i64, end as i64, now],
            )?)
        })
        .await?;
    if moved != 1 {
        return Err(ApiError::internal(format!(
            "upload {id} changed under its lock"
        )));
    }
    no_content(end)
}

fn no_content(offset: u64) -> ApiResult<Response> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let h = response.headers_mut();
    h.insert(name(UPLOAD_OFFSET), HeaderValue::from(offset));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn chunk_too_large(remaining: u64) -> ApiError {
    ApiError::too_large(format!(
        "a chunk may hold at most {} bytes here ({remaining} bytes of the file are missing; \
         a chunk is at most {MAX_CHUNK_BYTES})",
        remaining.min(MAX_CHUNK_BYTES)
    ))
}

/// Reads the whole chunk, refusing more than `limit` bytes.
async fn read_chunk(
    body: Body,
    limit: u64,
    declared: Option<u64>,
    remaining: u64,
) -> ApiResult<Vec<u8>> {
    let capacity = declared.unwrap_or(0).min(limit);
    let mut chunk = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    let mut stream = body.into_data_stream();
    while let Some(piece) = stream.next().await {
        let piece = piece
            .map_err(|e| ApiError::bad_request(format!("the chunk could not be read: {e}")))?;
        if (chunk.len() + piece.len()) as u64 > limit {
            return Err(chunk_too_large(remaining));
        }
        chunk.extend_from_slice(&piece);
    }
    if declared.is_some_and(|d| d != chunk.len() as u64) {
        return Err(ApiError::bad_request(
            "the chunk is shorter than its Content-Length",
        ));
    }
    Ok(chunk)
}

/// What the last chunk's checks found.
enum Checked {
    HashMismatch(String),
    Invalid {
        code: ErrorCode,
        reason: &'static str,
        message: String,
    },
    Valid {
        data: Vec<u8>,
        content_type: &'static str,
        width: u32,
        height: u32,
        /// `None` for a PDF.
        thumbnail: Option<Vec<u8>>,
    },
}

fn content_type(format: SourceFormat) -> &'static str {
    match format {
        SourceFormat::Jpeg => "image/jpeg",
        SourceFormat::Png => "image/png",
        SourceFormat::Webp => "image/webp",
    }
}

/// Checks a whole upload: its SHA-256, then what it is. A PDF (a statement or an invoice for a
/// message) is checked by [`pdf::check`]; anything else must be an image the photo pipeline
/// takes, and gets a thumbnail.
fn check(data: Vec<u8>, sha256: &str) -> Checked {
    let actual = hex::encode(Sha256::digest(&data));
    if actual != sha256 {
        return Checked::HashMismatch(actual);
    }
    if data.starts_with(pdf::MAGIC) {
        return match pdf::check(&data) {
            Ok(()) => Checked::Valid {
                data,
                content_type: "application/pdf",
                width: 0,
                height: 0,
                thumbnail: None,
            },
            Err(e) => Checked::Invalid {
                code: ErrorCode::InvalidDocument,
                reason: e.code(),
                message: e.to_string(),
            },
        };
    }
    let invalid = |e: ImagingError| Checked::Invalid {
        code: ErrorCode::InvalidImage,
        reason: e.code(),
        message: e.to_string(),
    };
    // The header first: a decompression bomb or a non-image is refused before any pixel
    // buffer exists.
    let source = match kvits_imaging::probe(&data) {
        Ok(s) => s,
        Err(e) => return invalid(e),
    };
    let processed = match kvits_imaging::process(&data, &kvits_imaging::Options::default()) {
        Ok(p) => p,
        Err(e) => return invalid(e),
    };
    let (width, height) = source.upright_dimensions();
    Checked::Valid {
        data,
        content_type: content_type(source.format),
        width,
        height,
        thumbnail: Some(processed.thumbnail.jpeg),
    }
}

/// Under the upload's lock, with the whole file written: checks it and stores the blob.
async fn finish(state: &AppState, row: UploadRow) -> ApiResult<Response> {
    let path = part_path(state, row.id);
    let data = tokio::fs::read(&path).await.map_err(ApiError::internal)?;
    if data.len() as u64 != row.length {
        return Err(ApiError::internal(format!(
            "upload {} has {} bytes on disk, expected {}",
            row.id,
            data.len(),
            row.length
        )));
    }
    let permit = IMAGING.acquire().await.map_err(ApiError::internal)?;
    let sha = row.sha256.clone();
    let checked = tokio::task::spawn_blocking(move || check(data, &sha)).await?;
    drop(permit);

    let (data, content_type, width, height, thumbnail) = match checked {
        Checked::HashMismatch(actual) => {
            discard(state, row.id).await?;
            tracing::info!(upload = %row.id, "upload discarded: hash mismatch");
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::HashMismatch,
                "the uploaded file does not hash to the declared SHA-256; nothing was stored — \
                 start the upload again",
            )
            .with_details(serde_json::json!({ "expected": row.sha256, "actual": actual })));
        }
        Checked::Invalid {
            code,
            reason,
            message,
        } => {
            discard(state, row.id).await?;
            tracing::info!(upload = %row.id, reason, "upload discarded: not a file we store");
            return Err(
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
                    .with_details(serde_json::json!({ "reason": reason })),
            );
        }
        Checked::Valid {
            data,
            content_type,
            width,
            height,
            thumbnail,
        } => (data, content_type, width, height, thumbnail),
    };

    // Objects first, then the row that makes them visible: a crash in between leaves
    // unreferenced objects (rewritten by the next upload of the same bytes), never a row
    // without its bytes.
    let size = data.len() as u64;
    state
        .blobs
        .put_blob(row.firm_id, &row.sha256, Bytes::from(data))
        .await
        .map_err(ApiError::internal)?;
    if let Some(thumbnail) = thumbnail {
        state
            .blobs
            .put_thumbnail(row.firm_id, &row.sha256, Bytes::from(thumbnail))
            .await
            .map_err(ApiError::internal)?;
    }
    let r = row.clone();
    state
        .db
        .write(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT OR IGNORE INTO blobs
                 (firm_id, sha256, size, content_type, width, height, uploaded_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    r.firm_id.to_string(),
                    r.sha256,
                    size as i64,
                    content_type,
                    width,
                    height,
                    r.user_id.to_string(),
                    stamp(crate::now())
                ],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO blob_owners (firm_id, sha256, user_id) VALUES (?1, ?2, ?3)",
                params![r.firm_id.to_string(), r.sha256, r.user_id.to_string()],
            )?;
            tx.execute("DELETE FROM uploads WHERE id = ?1", [r.id.to_string()])?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    if let Err(e) = tokio::task::spawn_blocking(move || remove_file(&path)).await? {
        // The blob is stored; the sweeper removes the leftover file.
        tracing::warn!(upload = %row.id, error = %e, "could not remove a finished upload's file");
    }
    tracing::info!(upload = %row.id, sha256 = %row.sha256, size, "blob stored");
    no_content(row.length)
}

// ---------------------------------------------------------------------------------------------
// Blobs

/// The blob named in a path, if well-formed and readable by `user`; else 404.
async fn readable(state: &AppState, user: &AuthUser, sha256: &str) -> ApiResult<BlobRow> {
    if !is_sha256_hex(sha256) {
        return Err(blob_not_found());
    }
    let (reader, sha) = (user.clone(), sha256.to_owned());
    state
        .db
        .read(move |c| readable_blob(c, &reader, &sha))
        .await?
        .ok_or_else(blob_not_found)
}

async fn head_blob(
    State(state): State<AppState>,
    user: AuthUser,
    Path(sha256): Path<String>,
) -> ApiResult<Response> {
    let blob = readable(&state, &user, &sha256).await?;
    let mut response = Response::new(Body::empty());
    let h = response.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(blob.size));
    h.insert(header::CONTENT_TYPE, text(&blob.content_type)?);
    h.insert(header::ETAG, text(&format!("\"{sha256}\""))?);
    // Whether the user may read it can change (a row naming it may go): never cached.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn get_blob(
    State(state): State<AppState>,
    user: AuthUser,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    download(&state, &user, sha256, Variant::Original, &headers).await
}

async fn get_thumbnail(
    State(state): State<AppState>,
    user: AuthUser,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    download(&state, &user, sha256, Variant::Thumbnail, &headers).await
}

async fn download(
    state: &AppState,
    user: &AuthUser,
    sha256: String,
    variant: Variant,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let blob = readable(state, user, &sha256).await?;
    let firm = user.firm_id;
    let (etag, size, content_type) = match variant {
        Variant::Original => (format!("\"{sha256}\""), blob.size, blob.content_type),
        Variant::Thumbnail => {
            let size = state
                .blobs
                .size(firm, &sha256, variant)
                .await
                .map_err(ApiError::internal)?
                .ok_or_else(|| {
                    if blob.content_type.starts_with("image/") {
                        ApiError::internal(format!("thumbnail of {sha256} is missing"))
                    } else {
                        ApiError::new(
                            StatusCode::NOT_FOUND,
                            ErrorCode::NotFound,
                            "this file has no thumbnail (only photos have one)",
                        )
                    }
                })?;
            (format!("\"{sha256}.thumb\""), size, "image/jpeg".to_owned())
        }
    };

    let mut response = Response::new(Body::empty());
    let h = response.headers_mut();
    h.insert(header::ETAG, text(&etag)?);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );

    if let Some(inm) = header_str(headers, header::IF_NONE_MATCH.as_str())?
        && etag_matches(inm, &etag)
    {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(response);
    }
    h.insert(header::CONTENT_TYPE, text(&content_type)?);

    let range = header_str(headers, header::RANGE.as_str())?.filter(|_| {
        // A Range conditional on another version is ignored (the whole blob is sent).
        match header_str(headers, header::IF_RANGE.as_str()) {
            Ok(Some(if_range)) => if_range == etag,
            Ok(None) => true,
            Err(_) => false,
        }
    });
    match range.map(|r| parse_range(r, size)) {
        None | Some(RangeRequest::Ignored) => {
            let body = state
                .blobs
                .get(firm, &sha256, variant)
                .await
                .map_err(ApiError::internal)?
                .ok_or_else(|| ApiError::internal(format!("blob {sha256} has no bytes")))?;
            if body.size != size {
                return Err(ApiError::internal(format!(
                    "blob {sha256} has {} bytes, its row says {size}",
                    body.size
                )));
            }
            let h = response.headers_mut();
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            *response.body_mut() = Body::from_stream(body.stream);
            Ok(response)
        }
        Some(RangeRequest::Unsatisfiable) => Err(ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            ErrorCode::RangeNotSatisfiable,
            format!("the range is outside the blob's {size} bytes"),
        )
        .with_header("content-range", format!("bytes */{size}"))),
        Some(RangeRequest::Bytes(range)) => {
            let bytes = state
                .blobs
                .get_range(firm, &sha256, variant, range.clone())
                .await
                .map_err(ApiError::internal)?
                .ok_or_else(|| ApiError::internal(format!("blob {sha256} has no bytes")))?;
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_RANGE,
                text(&format!("bytes {}-{}/{size}", range.start, range.end - 1))?,
            );
            h.insert(
                header::CONTENT_LENGTH,
                HeaderValue::from(bytes.len() as u64),
            );
            *response.body_mut() = Body::from(bytes);
            Ok(response)
        }
    }
}

/// Whether an `If-None-Match` list names `etag` (weak comparison, as RFC 9110 asks).
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

/// A `Range` header, resolved against the size.
#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    /// Malformed, another unit, or several ranges: answered with the whole blob (RFC 9110
    /// lets a server ignore Range).
    Ignored,
    Unsatisfiable,
    /// Bytes `start..end` (end exclusive), within the blob.
    Bytes(Range<u64>),
}

fn parse_range(value: &str, size: u64) -> RangeRequest {
    let Some((unit, spec)) = value.trim().split_once('=') else {
        return RangeRequest::Ignored;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return RangeRequest::Ignored;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Ignored;
    };
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // `-n`: the last n bytes.
        let Some(n) = number(last) else {
            return RangeRequest::Ignored;
        };
        if n == 0 || size == 0 {
            return RangeRequest::Unsatisfiable;
        }
        return RangeRequest::Bytes(size.saturating_sub(n)..size);
    }
    let Some(start) = number(first) else {
        return RangeRequest::Ignored;
    };
    let end = if last.is_empty() {
        None
    } else {
        match number(last) {
            Some(end) if end >= start => Some(end),
            _ => return RangeRequest::Ignored,
        }
    };
    if start >= size {
        return RangeRequest::Unsatisfiable;
    }
    let end = end.map_or(size - 1, |e| e.min(size - 1));
    RangeRequest::Bytes(start..end + 1)
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

/// Runs [`sweep_once`] every [`SWEEP_INTERVAL`], the first time a second after start.
pub async fn sweep_forever(state: AppState) {
    let start = tokio::time::Instant::now() + Duration::from_secs(1);
    let mut interval = tokio::time::interval_at(start, SWEEP_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(e) = sweep_once(&state).await {
            tracing::warn!(code = e.code.as_str(), message = %e.message, "upload sweep failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-9", 100), Bytes(0..10));
        assert_eq!(parse_range("bytes=90-", 100), Bytes(90..100));
        assert_eq!(parse_range("bytes=90-1000", 100), Bytes(90..100));
        assert_eq!(parse_range("bytes=-10", 100), Bytes(90..100));
        assert_eq!(parse_range("bytes=-1000", 100), Bytes(0..100));
        assert_eq!(parse_range("bytes=99-99", 100), Bytes(99..100));
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=100-200", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=5-1", 100), Ignored);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ignored);
        assert_eq!(parse_range("items=0-1", 100), Ignored);
        assert_eq!(parse_range("bytes=a-b", 100), Ignored);
        assert_eq!(parse_range("bytes=+1-2", 100), Ignored);
        assert_eq!(parse_range("bytes", 100), Ignored);
    }

    #[test]
    fn etags() {
        let etag = "\"abc\"";
        assert!(etag_matches("\"abc\"", etag));
        assert!(etag_matches("W/\"abc\"", etag));
        assert!(etag_matches("\"x\", \"abc\"", etag));
        assert!(etag_matches("*", etag));
        assert!(!etag_matches("\"abd\"", etag));
        assert!(!etag_matches("abc", etag));
    }

    #[test]
    fn checksum_header() -> Result<(), axum::http::header::InvalidHeaderValue> {
        let mut headers = HeaderMap::new();
        assert!(required_checksum(&headers).is_err());
        let digest = Sha256::digest(b"chunk");
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        for (value, ok) in [
            (format!("sha256 {b64}"), true),
            (format!("SHA256 {b64}"), true),
            (format!("md5 {b64}"), false),
            ("sha256 not-base64!".to_owned(), false),
            ("sha256 AAAA".to_owned(), false),
            (b64.clone(), false),
        ] {
            headers.insert(name(UPLOAD_CHECKSUM), HeaderValue::from_str(&value)?);
            assert_eq!(required_checksum(&headers).is_ok(), ok, "{value}");
        }
        Ok(())
    }

    #[test]
    fn number_headers() {
        let mut headers = HeaderMap::new();
        for (value, expected) in [
            ("0", Some(0)),
            ("123", Some(123)),
            (" 7 ", Some(7)),
            ("+1", None),
            ("-1", None),
            ("1e3", None),
            ("", None),
            ("99999999999999999999999", None),
        ] {
            headers.insert(name(UPLOAD_LENGTH), HeaderValue::from_static(value));
            assert_eq!(
                required_u64(&headers, UPLOAD_LENGTH).ok(),
                expected,
                "{value:?}"
            );
        }
    }
}
