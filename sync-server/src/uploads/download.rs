//! Reading blobs: who may (the uploader, or someone who may see a row naming the blob whose
//! author uploaded it), and `HEAD`/`GET /v1/blobs/{sha256}[/thumbnail]` with ETag,
//! `If-None-Match`, `Range` and `If-Range`.

use std::ops::Range;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use kvits_protocol::{EntityKind, ErrorCode, FirmId, is_sha256_hex};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::{Scope, blob_not_found, header_str, text};
use crate::AppState;
use crate::auth::AuthUser;
use crate::blobs::Variant;
use crate::error::{ApiError, ApiResult, Path};
use crate::store;

/// `Cache-Control` of blob downloads: a blob's name is its hash, so it never changes.
const IMMUTABLE: &str = "private, max-age=31536000, immutable";

/// A stored blob.
#[derive(Clone, Debug)]
pub(super) struct BlobRow {
    pub(super) size: u64,
    pub(super) content_type: String,
}

pub(super) fn blob_row(c: &Connection, firm: FirmId, sha256: &str) -> ApiResult<Option<BlobRow>> {
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
pub(super) fn owns_blob(c: &Connection, (firm, user): Scope, sha256: &str) -> ApiResult<bool> {
    Ok(c.prepare_cached(
        "SELECT 1 FROM blob_owners WHERE firm_id = ?1 AND sha256 = ?2 AND user_id = ?3",
    )?
    .exists(params![firm.to_string(), sha256, user.to_string()])?)
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

pub(super) async fn head_blob(
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

pub(super) async fn get_blob(
    State(state): State<AppState>,
    user: AuthUser,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    download(&state, &user, sha256, Variant::Original, &headers).await
}

pub(super) async fn get_thumbnail(
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
}
