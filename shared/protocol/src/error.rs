//! Error bodies: every 4xx/5xx answer is `{"code", "message"}` with optional details.

use serde::{Deserialize, Serialize};

/// The body of every error answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorBody {
    pub code: ErrorCode,
    /// For people; may change wording at any time. Match on `code`.
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// Machine-readable error codes of HTTP answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the body or query is not what the endpoint takes.
    BadRequest,
    /// 401: no token, an unknown or revoked one; sign in again (keep the outbox).
    Unauthenticated,
    /// 401 from login: e-mail or password wrong.
    BadCredentials,
    /// 403: the role does not allow it, or the client id belongs to another user.
    Forbidden,
    /// 403: every company the user belongs to is paused by its accounting firm; nothing they
    /// hold is lost, and it syncs again once the firm reactivates the company.
    CompanyInactive,
    /// 403 from sign-in: the person's access was turned off by their firm or company.
    AccountDisabled,
    /// 404: no such thing, or not one this user may see.
    NotFound,
    /// 409: the push skips a `seq`; `details.expected` is the next one.
    SeqGap,
    /// 409: the server has no record of mutations this client sent and it answered (it was
    /// restored from an older backup): take a new client id and send again, from `seq` 1,
    /// everything still held; stable ids make what the server still has "already applied".
    ClientStateLost,
    /// 409: an upload PATCH at the wrong offset; `details.offset` is the right one.
    OffsetMismatch,
    /// 409: the resource exists and differs (e-mail taken, …).
    AlreadyExists,
    /// 408: the request took longer than the server allows (its body came too slowly, or the
    /// server was busy); send it again.
    TimedOut,
    /// 410: an invitation that was used or expired.
    Gone,
    /// 413: body larger than the endpoint takes.
    TooLarge,
    /// 415: wrong content type.
    UnsupportedMediaType,
    /// 422: the upload is not an image we accept, or is too large in pixels.
    InvalidImage,
    /// 422: the upload starts as a PDF but is not a whole, well-formed one.
    InvalidDocument,
    /// 422: the uploaded bytes do not hash to the declared SHA-256.
    HashMismatch,
    /// 416: a `Range` outside the blob; `Content-Range` gives its size.
    RangeNotSatisfiable,
    /// 429: too many failed sign-ins from this address, too many requests from one account, or
    /// too many long polls held open by it; wait `Retry-After` seconds.
    RateLimited,
    /// 426: the client's protocol version is no longer served; update the app.
    UpgradeRequired,
    /// 460: a chunk's checksum does not match its bytes.
    ChecksumMismatch,
    /// A push halted at a `submit` whose photo is not uploaded yet.
    BlobMissing,
    /// 503: try again later (`Retry-After`); nothing was changed.
    Unavailable,
    /// 507: the upload would pass the person's or the firm's storage quota (bytes, or partial
    /// uploads open at once); keep the file and try again after `Retry-After` (the firm may
    /// raise the quota, or finished uploads free their partial places).
    QuotaExceeded,
    /// 507: the server is short of disk space and takes no uploads for now; keep the file and
    /// try again after `Retry-After`.
    InsufficientStorage,
    /// 500: a bug on our side; nothing was changed.
    Internal,
    /// A code from a newer server.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::BadCredentials => "bad_credentials",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::CompanyInactive => "company_inactive",
            ErrorCode::AccountDisabled => "account_disabled",
            ErrorCode::NotFound => "not_found",
            ErrorCode::SeqGap => "seq_gap",
            ErrorCode::ClientStateLost => "client_state_lost",
            ErrorCode::OffsetMismatch => "offset_mismatch",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::TimedOut => "timed_out",
            ErrorCode::Gone => "gone",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::InvalidImage => "invalid_image",
            ErrorCode::InvalidDocument => "invalid_document",
            ErrorCode::HashMismatch => "hash_mismatch",
            ErrorCode::RangeNotSatisfiable => "range_not_satisfiable",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::UpgradeRequired => "upgrade_required",
            ErrorCode::ChecksumMismatch => "checksum_mismatch",
            ErrorCode::BlobMissing => "blob_missing",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::QuotaExceeded => "quota_exceeded",
            ErrorCode::InsufficientStorage => "insufficient_storage",
            ErrorCode::Internal => "internal",
            ErrorCode::Unknown => "unknown",
        }
    }
}
