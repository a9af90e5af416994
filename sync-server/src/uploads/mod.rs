//! Resumable, content-addressed photo uploads and blob downloads (docs/design.md §3 point 4;
//! the wire contract is documented in `kvits_protocol::upload`).
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
//!
//! # Where things are
//!
//! * [`protocol`] — the upload handlers: `POST`, `HEAD` and `PATCH` of `/v1/uploads`, and the
//!   whole-file check and store at the end;
//! * [`partial`] — uploads in progress: their rows, their `.part` files, the per-upload locks,
//!   making file and row agree after a crash, and sweeping stale ones;
//! * [`download`] — who may read a blob, and `HEAD`/`GET` of `/v1/blobs/…` with ETag and Range;
//! * [`storage`] — who may upload, quotas, the disk's reserve, and deleting what nothing names;
//! * this module — the routes and the header and answer helpers the three share.

mod download;
mod partial;
mod protocol;
mod storage;

use std::time::Duration;

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use kvits_protocol::{
    ErrorCode, FirmId, MAX_CHUNK_BYTES, UPLOAD_CHECKSUM, UPLOAD_EXPIRES, UPLOAD_LENGTH,
    UPLOAD_OFFSET, UploadStatus, UserId,
};

use crate::AppState;
use crate::api::Routes;
use crate::error::{ApiError, ApiResult};
use partial::UploadRow;

pub use partial::{sweep_forever, sweep_once};
pub use storage::{StorageLimits, collect_unreferenced};

/// How often stale partial uploads are looked for.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Uploads and blob downloads.
pub(crate) fn routes() -> Routes {
    download::routes()
        .merge(protocol::routes())
        // PATCH reads its body itself (bounded by what the upload still lacks, at most
        // MAX_CHUNK_BYTES); this only bounds any extractor added later.
        .layer(DefaultBodyLimit::max(MAX_CHUNK_BYTES as usize))
}

/// Who an upload belongs to: each person uploads their own copy of a blob, so nobody can
/// join (or spoil) another's upload, and finishing one proves the uploader holds the bytes.
type Scope = (FirmId, UserId);

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

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

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
