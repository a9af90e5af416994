//! The upload protocol's handlers: `POST /v1/uploads` starts (or finds again) an upload,
//! `HEAD /v1/uploads/{id}` says where to continue, `PATCH /v1/uploads/{id}` appends one
//! checksummed chunk; the last chunk is followed by the whole-file check and the store.

use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use kvits_imaging::{ImagingError, SourceFormat};
use kvits_protocol::{
    CHECKSUM_MISMATCH_STATUS, ErrorCode, MAX_BLOB_BYTES, MAX_CHUNK_BYTES, OFFSET_CONTENT_TYPE,
    UPLOAD_CHECKSUM, UPLOAD_EXPIRES, UPLOAD_LENGTH, UPLOAD_OFFSET, UPLOAD_SHA256, UploadId,
    UploadStatus, is_sha256_hex,
};
use rusqlite::params;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::download::{blob_row, owns_blob};
use super::partial::{
    UploadRow, append_durably, discard, locked, part_path, reconcile, remove_file, upload_by_id,
    upload_by_sha, uploads_dir,
};
use super::{
    Scope, expires_at, header_str, json_response, name, offset_mismatch, required_checksum,
    required_u64, stamp, text, upload_not_found, upload_response,
};
use crate::AppState;
use crate::api::{Operation, Routes};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, Path};
use crate::openapi::{schema, sha256_schema, text_schema, uint_schema};
use crate::pdf;

/// Decoding is memory- and CPU-heavy: at most one image per core at a time.
static IMAGING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// `POST /v1/uploads`, `HEAD` and `PATCH /v1/uploads/{id}`.
pub(super) fn routes() -> Routes {
    Routes::new()
        .post("/v1/uploads", create_upload, |g| {
            Operation::new("createUpload", "blobs", "Start an upload")
                .describe(format!(
                    "Step 2: declares the blob (headers only, no body). Answers a new upload \
                     (`201`), this user's upload of the same blob already in progress (`200`, so \
                     a restarted app resumes; a different length restarts it), or — when this \
                     user already uploaded these bytes — `200` with `complete: true`, the full \
                     offset, a nil `upload_id` and no `Location`. Uploads are per person: \
                     someone else's copy of the same bytes counts for nothing (the firm stores \
                     them once all the same). At most {MAX_BLOB_BYTES} bytes.",
                ))
                .bearer()
                .header_param(
                    UPLOAD_LENGTH,
                    json!({"type": "integer", "minimum": 1, "maximum": MAX_BLOB_BYTES}),
                    "Total size of the blob, bytes.",
                )
                .header_param(
                    UPLOAD_SHA256,
                    sha256_schema(),
                    "Lower-case hex SHA-256 of the whole blob.",
                )
                .db()
                .json(201, "Upload created.", schema::<UploadStatus>(g))
                .upload_headers(201, &uint_schema(), &text_schema(), true)
                .json(
                    200,
                    "This user's upload of this blob already in progress, or the user already \
                     uploaded it (`complete`).",
                    schema::<UploadStatus>(g),
                )
                .upload_headers(200, &uint_schema(), &text_schema(), false)
                .error(
                    400,
                    format!(
                        "`bad_request`: `{UPLOAD_LENGTH}` missing, not a whole number or 0, or \
                         `{UPLOAD_SHA256}` not a lower-case hex SHA-256.",
                    ),
                )
                .error(
                    413,
                    format!("`too_large`: the blob is over {MAX_BLOB_BYTES} bytes."),
                )
                .error(
                    503,
                    "`unavailable`: the upload changed while it was looked up; try again.",
                )
        })
        .head("/v1/uploads/{id}", head_upload, |g| {
            Operation::new("uploadOffset", "blobs", "Where to continue an upload")
                .describe("Step 3: the offset to send the next chunk from.")
                .bearer()
                .path_param("id", schema::<UploadId>(g), "The upload (from `Location`).")
                .db()
                .empty(
                    200,
                    "The upload's progress, in headers; `Cache-Control: no-store`.",
                )
                .ok_header(200, UPLOAD_OFFSET, &uint_schema(), "Bytes received so far.")
                .ok_header(
                    200,
                    UPLOAD_LENGTH,
                    &uint_schema(),
                    "Total size of the blob, bytes.",
                )
                .ok_header(
                    200,
                    UPLOAD_SHA256,
                    &sha256_schema(),
                    "SHA-256 of the whole blob.",
                )
                .ok_header(
                    200,
                    UPLOAD_EXPIRES,
                    &json!({"type": "string", "format": "date-time"}),
                    "When the partial upload is deleted if left untouched.",
                )
                .error(
                    404,
                    "`not_found`: no such upload of this user: it finished, expired, or never was.",
                )
        })
        .patch("/v1/uploads/{id}", patch_upload, |g| {
            Operation::new("uploadChunk", "blobs", "Append a chunk")
                .describe(format!(
                    "Step 4: appends one checksummed chunk (at most {MAX_CHUNK_BYTES} bytes) at \
                     the stated offset. The last chunk is checked against the whole-file SHA-256 \
                     and validated as an image (JPEG, PNG, WebP) or a whole PDF before the blob \
                     is stored; the answer to it has `{UPLOAD_OFFSET}` equal to the length.",
                ))
                .bearer()
                .path_param("id", schema::<UploadId>(g), "The upload (from `Location`).")
                .header_param(
                    UPLOAD_OFFSET,
                    uint_schema(),
                    "Where this chunk starts: the upload's current offset.",
                )
                .header_param(
                    UPLOAD_CHECKSUM,
                    json!({"type": "string", "pattern": "^[Ss][Hh][Aa]256 +[A-Za-z0-9+/]{43}=$"}),
                    "`sha256 <base64 of the chunk's SHA-256 digest>`.",
                )
                .body(OFFSET_CONTENT_TYPE, "The chunk's bytes.")
                .db()
                .empty(
                    204,
                    "Chunk stored (the last one: blob stored). `Cache-Control: no-store`.",
                )
                .ok_header(204, UPLOAD_OFFSET, &uint_schema(), "The new offset.")
                .error(
                    400,
                    format!(
                        "`bad_request`: `{UPLOAD_OFFSET}` or `{UPLOAD_CHECKSUM}` missing or \
                         malformed, a checksum algorithm other than sha256, or a body shorter \
                         than its `Content-Length`.",
                    ),
                )
                .error(
                    404,
                    "`not_found`: no such upload of this user: it finished, expired, or never was.",
                )
                .error(
                    409,
                    "`offset_mismatch`: the chunk does not start at the upload's offset; \
                     `details.offset` and the header give the right one.",
                )
                .error_header(
                    409,
                    UPLOAD_OFFSET,
                    &uint_schema(),
                    "The offset to send from.",
                )
                .error(
                    413,
                    format!(
                        "`too_large`: the chunk is over {MAX_CHUNK_BYTES} bytes or longer than \
                         what the upload still lacks.",
                    ),
                )
                .error(
                    415,
                    format!(
                        "`unsupported_media_type`: the chunk is not sent as `Content-Type: \
                         {OFFSET_CONTENT_TYPE}`.",
                    ),
                )
                .error(
                    422,
                    "`hash_mismatch` (`details.expected`, `details.actual`): the whole file does \
                     not hash to the declared SHA-256; `invalid_image` (`details.reason`): not \
                     an image we accept, or too large in pixels; or `invalid_document` \
                     (`details.reason`): a PDF that is cut short or malformed. The upload is \
                     discarded; start again.",
                )
                .error(
                    CHECKSUM_MISMATCH_STATUS,
                    "`checksum_mismatch`: the chunk does not match its checksum (damaged on the \
                     way?); it is not kept — send it again. `details.offset` and the header give \
                     the offset.",
                )
                .error_header(
                    CHECKSUM_MISMATCH_STATUS,
                    UPLOAD_OFFSET,
                    &uint_schema(),
                    "The offset to send from.",
                )
        })
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
    super::storage::check_disk(&state.config.data_dir, &state.config.storage)?;

    // A few rounds at most: each retry follows an upload that finished or was discarded
    // between two looks.
    for _ in 0..4 {
        let (firm, uploader, sha) = (user.firm_id, user.user_id, sha256.clone());
        let limits = state.config.storage;
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
                super::storage::check_new_upload(c, &limits, firm, uploader, length)?;
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
    super::storage::check_disk(&state.config.data_dir, &state.config.storage)?;

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
    // Hashing megabytes is CPU work: off the threads that serve every other request.
    let (chunk, digest) = tokio::task::spawn_blocking(move || {
        let digest = Sha256::digest(&chunk);
        (chunk, digest)
    })
    .await?;
    if digest[..] != checksum[..] {
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
        return match guarded(ErrorCode::InvalidDocument, || pdf::check(&data)) {
            Ok(Ok(())) => Checked::Valid {
                data,
                content_type: "application/pdf",
                width: 0,
                height: 0,
                thumbnail: None,
            },
            Ok(Err(e)) => Checked::Invalid {
                code: ErrorCode::InvalidDocument,
                reason: e.code(),
                message: e.to_string(),
            },
            Err(failed) => failed,
        };
    }
    let invalid = |e: ImagingError| Checked::Invalid {
        code: ErrorCode::InvalidImage,
        reason: e.code(),
        message: e.to_string(),
    };
    // The header first: a decompression bomb or a non-image is refused before any pixel
    // buffer exists.
    let decoded = guarded(ErrorCode::InvalidImage, || {
        let source = kvits_imaging::probe(&data)?;
        let processed = kvits_imaging::process(&data, &kvits_imaging::Options::default())?;
        Ok((source, processed))
    });
    let (source, processed) = match decoded {
        Ok(Ok(decoded)) => decoded,
        Ok(Err(e)) => return invalid(e),
        Err(failed) => return failed,
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

/// Runs a decoder on uploaded bytes; a decoder that panics on them (a bug it has, found by
/// this file) makes the file invalid, so the upload ends with a clear answer instead of a 500
/// that the client would retry with the same bytes for ever.
fn guarded<T>(code: ErrorCode, decode: impl FnOnce() -> T) -> Result<T, Checked> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)).map_err(|_| {
        tracing::error!(code = code.as_str(), "a decoder panicked on an upload");
        Checked::Invalid {
            code,
            reason: "decoder_failed",
            message: "the file could not be read (our decoder failed on it); nothing was \
                      stored — send it again as a photo or PDF made anew"
                .into(),
        }
    })
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
    let _storing = state.blobs.lock_for_store().await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decoder_that_panics_makes_the_file_invalid_not_a_server_error() {
        let failed = guarded(ErrorCode::InvalidImage, || -> Result<(), ImagingError> {
            panic!("a decoder bug")
        });
        match failed {
            Err(Checked::Invalid { code, reason, .. }) => {
                assert_eq!(code, ErrorCode::InvalidImage);
                assert_eq!(reason, "decoder_failed");
            }
            _ => panic!("a panicking decoder must make the file invalid"),
        }
        assert!(matches!(guarded(ErrorCode::InvalidImage, || 7), Ok(7)));
    }
}
