//! Reading blobs: who may (the uploader, or someone who may see a row naming the blob whose
//! author uploaded it), and `HEAD`/`GET /v1/blobs/{sha256}[/thumbnail]` with ETag,
//! `If-None-Match`, `Range` and `If-Range`.

use std::ops::Range;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use headers::{ETag, Header, HeaderMapExt, IfNoneMatch, IfRange};
use kvits_protocol::{EntityKind, ErrorCode, FirmId, is_sha256_hex};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::{Scope, blob_not_found, header_str, text};
use crate::AppState;
use crate::api::{Operation, Routes};
use crate::auth::AuthUser;
use crate::blobs::Variant;
use crate::error::{ApiError, ApiResult, Path};
use crate::openapi::{sha256_schema, text_schema, uint_schema};
use crate::store;

/// `Cache-Control` of blob downloads. A blob's name is its hash, so its bytes never change, but
/// who may read it does: a browser keeps its copy (never a shared cache) and asks again before
/// each use, and the answer — 304 with the same `ETag`, or 404 once the user may no longer read
/// it — is given only after the access check. A cached photo is never served for a year to
/// whoever uses that browser next.
const REVALIDATE: &str = "private, no-cache";

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

/// `HEAD`/`GET /v1/blobs/{sha256}` and `GET /v1/blobs/{sha256}/thumbnail`.
pub(super) fn routes() -> Routes {
    let blob_types = ["image/jpeg", "image/png", "image/webp", "application/pdf"];
    Routes::new()
        .head("/v1/blobs/{sha256}", head_blob, |_| {
            Operation::new("blobExists", "blobs", "May this user read this blob?")
                .describe(
                    "`200` when the user uploaded these bytes themselves or may see a row naming \
                     the blob whose author did; otherwise `404`, as for a hash nobody uploaded \
                     (another firm's blob, a colleague's photo on no row the user sees). Naming a \
                     blob in one's own row takes one's own upload of it, so whether to upload is \
                     what `POST /v1/uploads` answers (`complete`).",
                )
                .bearer()
                .path_param(
                    "sha256",
                    sha256_schema(),
                    "Lower-case hex SHA-256 of the blob.",
                )
                .db()
                .empty(
                    200,
                    "The user may read the blob. `Content-Type` is the blob's; `Cache-Control: \
                     no-store`.",
                )
                .ok_header(
                    200,
                    "Content-Length",
                    &uint_schema(),
                    "Size of the blob, bytes.",
                )
                .ok_header(200, "ETag", &text_schema(), "`\"<sha256>\"`.")
                .error(
                    404,
                    "`not_found`: no such blob, or not one this user may read.",
                )
        })
        .get("/v1/blobs/{sha256}", get_blob, move |_| {
            Operation::new("getBlob", "blobs", "Download a blob")
                .describe(
                    "For its uploader and for users who may see a row that names it. The bytes \
                     never change, but access may: `Cache-Control: private, no-cache`, so a \
                     browser revalidates (`If-None-Match`, answered 304 only after the access \
                     check); supports one byte range.",
                )
                .bearer()
                .path_param(
                    "sha256",
                    sha256_schema(),
                    "Lower-case hex SHA-256 of the blob.",
                )
                .download_params(&text_schema())
                .db()
                .bytes(200, "The blob.", &blob_types)
                .download_headers(200, &uint_schema(), &text_schema())
                .bytes(206, "The requested range.", &blob_types)
                .download_headers(206, &uint_schema(), &text_schema())
                .ok_header(
                    206,
                    "Content-Range",
                    &text_schema(),
                    "`bytes <first>-<last>/<size>`.",
                )
                .empty(304, "`If-None-Match` names the blob's ETag.")
                .ok_header(304, "ETag", &text_schema(), "`\"<sha256>\"`.")
                .error(
                    400,
                    "`bad_request`: a `Range`, `If-Range` or `If-None-Match` header that is not \
                     text.",
                )
                .error(
                    404,
                    "`not_found`: no such blob, or not one this user may see.",
                )
                .error(
                    416,
                    "`bad_request`: the range starts beyond the blob's end.",
                )
                .error_header(416, "Content-Range", &text_schema(), "`bytes */<size>`.")
        })
        .get("/v1/blobs/{sha256}/thumbnail", get_thumbnail, |_| {
            Operation::new("getThumbnail", "blobs", "Download a blob's thumbnail")
                .describe(
                    "A small JPEG made when an image blob was stored (a PDF has none); readable by \
                     the same users as the blob, with the same caching, ranges and conditional \
                     requests (ETag `\"<sha256>.thumb\"`).",
                )
                .bearer()
                .path_param(
                    "sha256",
                    sha256_schema(),
                    "Lower-case hex SHA-256 of the blob.",
                )
                .download_params(&text_schema())
                .db()
                .bytes(200, "The thumbnail.", &["image/jpeg"])
                .download_headers(200, &uint_schema(), &text_schema())
                .bytes(206, "The requested range.", &["image/jpeg"])
                .download_headers(206, &uint_schema(), &text_schema())
                .ok_header(
                    206,
                    "Content-Range",
                    &text_schema(),
                    "`bytes <first>-<last>/<size>`.",
                )
                .empty(304, "`If-None-Match` names the thumbnail's ETag.")
                .ok_header(304, "ETag", &text_schema(), "`\"<sha256>.thumb\"`.")
                .error(
                    400,
                    "`bad_request`: a `Range`, `If-Range` or `If-None-Match` header that is not \
                     text.",
                )
                .error(
                    404,
                    "`not_found`: no such blob, not one this user may see, or a PDF (no \
                     thumbnail).",
                )
                .error(
                    416,
                    "`bad_request`: the range starts beyond the thumbnail's end.",
                )
                .error_header(416, "Content-Range", &text_schema(), "`bytes */<size>`.")
        })
}

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
    h.typed_insert(etag_of(&sha256, Variant::Original)?);
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

/// The ETag of a blob (`"<sha256>"`) or of its thumbnail (`"<sha256>.thumb"`): the hash names
/// the bytes, so it is a strong validator.
fn etag_of(sha256: &str, variant: Variant) -> ApiResult<ETag> {
    let tag = match variant {
        Variant::Original => format!("\"{sha256}\""),
        Variant::Thumbnail => format!("\"{sha256}.thumb\""),
    };
    tag.parse()
        .map_err(|_| ApiError::internal(format!("{tag} is not an ETag")))
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
    let (size, content_type) = match variant {
        Variant::Original => (blob.size, blob.content_type),
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
            (size, "image/jpeg".to_owned())
        }
    };
    let etag = etag_of(&sha256, variant)?;

    let mut response = Response::new(Body::empty());
    let h = response.headers_mut();
    h.typed_insert(etag.clone());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );

    if let Some(if_none_match) = typed_header::<IfNoneMatch>(headers)?
        && !if_none_match.precondition_passes(&etag)
    {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(response);
    }
    h.insert(header::CONTENT_TYPE, text(&content_type)?);

    match range_request(headers, &etag, size)? {
        RangeRequest::Whole => {
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
        RangeRequest::Unsatisfiable => Err(ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            ErrorCode::RangeNotSatisfiable,
            format!("the range is outside the blob's {size} bytes"),
        )
        .with_header("content-range", format!("bytes */{size}"))),
        RangeRequest::Part(range) => {
            let part = state
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
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(part.size));
            *response.body_mut() = Body::from_stream(part.stream);
            Ok(response)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conditional and range requests

/// A typed request header: a value that is not text is a 400 (as for every header we read);
/// one that does not parse counts as absent.
fn typed_header<H: Header>(headers: &HeaderMap) -> ApiResult<Option<H>> {
    header_str(headers, H::name().as_str())?;
    Ok(headers.typed_try_get::<H>().unwrap_or(None))
}

/// What to send for a request's `Range` (and `If-Range`), resolved against the size.
#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    /// No usable range: the whole blob. RFC 9110 lets a server ignore a `Range` it does not
    /// serve (several ranges, another unit, a malformed one), and one conditional on another
    /// version (`If-Range`) is ignored too.
    Whole,
    Unsatisfiable,
    /// Bytes `start..end` (end exclusive), within the blob.
    Part(Range<u64>),
}

fn range_request(headers: &HeaderMap, etag: &ETag, size: u64) -> ApiResult<RangeRequest> {
    let Some(range) = typed_header::<ByteRange>(headers)? else {
        return Ok(RangeRequest::Whole);
    };
    // A range of another version of the bytes is not served (strong comparison); neither is
    // one with an `If-Range` that does not parse or is a date (blobs have no dates).
    let same_version = match headers.typed_try_get::<IfRange>() {
        Ok(None) => true,
        Ok(Some(if_range)) => !if_range.is_modified(Some(etag), None),
        Err(_) => false,
    };
    if !same_version {
        return Ok(RangeRequest::Whole);
    }
    Ok(range.within(size))
}

/// A `Range` request header of one byte range: `bytes=<first>-[<last>]` or `bytes=-<n>`.
///
/// Not `headers::Range`: its `satisfiable_ranges` (headers 0.4) drops a suffix longer than the
/// whole (RFC 9110 §14.1.2: that asks for all of it), reads `+1` as a number, lets the last
/// byte come before the first, and knows the unit only in lower case. A value this does not
/// read — several ranges, another unit, a malformed one — fails to decode, and is ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ByteRange {
    /// From `first` to `last` (inclusive), or to the end.
    From { first: u64, last: Option<u64> },
    /// The last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    fn parse(value: &str) -> Option<ByteRange> {
        let (unit, spec) = value.trim().split_once('=')?;
        if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
            return None;
        }
        let (first, last) = spec.trim().split_once('-')?;
        // Digits only: `str::parse` would also take a sign.
        let number = |s: &str| -> Option<u64> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let (first, last) = (first.trim(), last.trim());
        if first.is_empty() {
            return number(last).map(ByteRange::Suffix);
        }
        let first = number(first)?;
        let last = match last {
            "" => None,
            last => Some(number(last).filter(|&last| last >= first)?),
        };
        Some(ByteRange::From { first, last })
    }

    /// The bytes this asks for of a blob of `size` bytes.
    fn within(&self, size: u64) -> RangeRequest {
        match *self {
            ByteRange::Suffix(n) if n == 0 || size == 0 => RangeRequest::Unsatisfiable,
            ByteRange::Suffix(n) => RangeRequest::Part(size.saturating_sub(n)..size),
            ByteRange::From { first, .. } if first >= size => RangeRequest::Unsatisfiable,
            ByteRange::From { first, last } => {
                let last = last.map_or(size - 1, |last| last.min(size - 1));
                RangeRequest::Part(first..last + 1)
            }
        }
    }
}

impl Header for ByteRange {
    fn name() -> &'static HeaderName {
        &header::RANGE
    }

    fn decode<'i, I: Iterator<Item = &'i HeaderValue>>(
        values: &mut I,
    ) -> Result<Self, headers::Error> {
        values
            .next()
            .and_then(|v| v.to_str().ok())
            .and_then(ByteRange::parse)
            .ok_or_else(headers::Error::invalid)
    }

    fn encode<E: Extend<HeaderValue>>(&self, values: &mut E) {
        let value = match *self {
            ByteRange::From { first, last: None } => format!("bytes={first}-"),
            ByteRange::From {
                first,
                last: Some(last),
            } => format!("bytes={first}-{last}"),
            ByteRange::Suffix(n) => format!("bytes=-{n}"),
        };
        values.extend(HeaderValue::from_str(&value).ok());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            let value = HeaderValue::from_str(value).expect("a header value");
            headers.append(*name, value);
        }
        headers
    }

    /// What a `Range` header asks of a blob of `size` bytes (without `If-Range`).
    fn range(value: &str, size: u64) -> RangeRequest {
        let etag = etag_of(&"ab".repeat(32), Variant::Original).expect("an ETag");
        range_request(&with(&[("range", value)]), &etag, size).expect("text")
    }

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(range("bytes=0-9", 100), Part(0..10));
        assert_eq!(range("bytes=90-", 100), Part(90..100));
        assert_eq!(range("bytes=90-1000", 100), Part(90..100));
        assert_eq!(range("bytes=-10", 100), Part(90..100));
        assert_eq!(range("bytes=-1000", 100), Part(0..100));
        assert_eq!(range("bytes=99-99", 100), Part(99..100));
        assert_eq!(range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(range("bytes=100-200", 100), Unsatisfiable);
        assert_eq!(range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(range("bytes=5-1", 100), Whole);
        assert_eq!(range("bytes=0-1,5-6", 100), Whole);
        assert_eq!(range("items=0-1", 100), Whole);
        assert_eq!(range("bytes=a-b", 100), Whole);
        assert_eq!(range("bytes=+1-2", 100), Whole);
        assert_eq!(range("bytes", 100), Whole);
        // No header at all; a value that is not text is refused.
        let etag = etag_of(&"ab".repeat(32), Variant::Original).expect("an ETag");
        assert_eq!(
            range_request(&HeaderMap::new(), &etag, 100).ok(),
            Some(Whole)
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            header::RANGE,
            HeaderValue::from_bytes(b"bytes=\xff-").expect("a header value"),
        );
        assert!(range_request(&headers, &etag, 100).is_err());
    }

    #[test]
    fn if_range() {
        let sha = "ab".repeat(32);
        let etag = etag_of(&sha, Variant::Original).expect("an ETag");
        let part = RangeRequest::Part(0..10);
        for (if_range, expected) in [
            (format!("\"{sha}\""), &part),
            (format!("W/\"{sha}\""), &RangeRequest::Whole),
            ("\"other\"".to_owned(), &RangeRequest::Whole),
            (format!("\"{sha}.thumb\""), &RangeRequest::Whole),
            (
                "Sun, 06 Dec 2026 20:00:00 GMT".to_owned(),
                &RangeRequest::Whole,
            ),
            ("not a validator".to_owned(), &RangeRequest::Whole),
        ] {
            let headers = with(&[("range", "bytes=0-9"), ("if-range", &if_range)]);
            assert_eq!(
                range_request(&headers, &etag, 100).ok().as_ref(),
                Some(expected),
                "{if_range}"
            );
        }
    }

    #[test]
    fn etags() {
        let etag: ETag = "\"abc\"".parse().expect("an ETag");
        let not_modified = |if_none_match: &str| {
            typed_header::<IfNoneMatch>(&with(&[("if-none-match", if_none_match)]))
                .expect("text")
                .is_some_and(|inm| !inm.precondition_passes(&etag))
        };
        assert!(not_modified("\"abc\""));
        assert!(not_modified("W/\"abc\""));
        assert!(not_modified("\"x\", \"abc\""));
        assert!(not_modified("*"));
        assert!(!not_modified("\"abd\""));
        assert!(!not_modified("abc"));
        // The blob's and the thumbnail's own tags.
        let sha = "ab".repeat(32);
        let original = etag_of(&sha, Variant::Original).expect("an ETag");
        let thumbnail = etag_of(&sha, Variant::Thumbnail).expect("an ETag");
        assert_ne!(original, thumbnail);
    }
}
