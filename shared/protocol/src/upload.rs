//! Resumable, content-addressed blob uploads (tus 1.0-like) and downloads.
//!
//! 1. `HEAD /v1/blobs/{sha256}` — 200 only if this user may read the blob: they uploaded these
//!    bytes themselves, or they may see a row naming it whose author did. Anything else is a
//!    404, exactly as for a hash nobody uploaded (another firm's blob, a colleague's photo on
//!    no row this user sees). A 200 of the second kind does not spare an upload: a row of
//!    one's own may name a blob only when one uploaded it oneself, which step 2 answers.
//! 2. `POST /v1/uploads` with [`UPLOAD_LENGTH`] and [`UPLOAD_SHA256`] → 201, `Location` and
//!    [`UPLOAD_OFFSET`]; this user's started upload of the same blob is answered again (so a
//!    restarted app resumes), a blob this user already uploaded with 200 and the full offset.
//!    Uploads are per person (the firm stores the bytes once all the same).
//! 3. `HEAD /v1/uploads/{id}` → the offset to continue from.
//! 4. `PATCH /v1/uploads/{id}` with [`UPLOAD_OFFSET`], [`UPLOAD_CHECKSUM`]
//!    (`sha256 <base64 of the chunk's digest>`) and the chunk → 204 and the new offset. A
//!    wrong offset is a 409 carrying the right one; a chunk whose checksum fails is 460 and
//!    is not kept. The last chunk is checked against the whole-file hash and validated as an
//!    image before the blob is stored.

use serde::{Deserialize, Serialize};

use crate::UploadId;

/// Total size of the blob, bytes.
pub const UPLOAD_LENGTH: &str = "upload-length";
/// Bytes received so far.
pub const UPLOAD_OFFSET: &str = "upload-offset";
/// Lower-case hex SHA-256 of the whole blob.
pub const UPLOAD_SHA256: &str = "upload-sha256";
/// `sha256 <base64 digest>` of one PATCH body.
pub const UPLOAD_CHECKSUM: &str = "upload-checksum";
/// Upload expiry (RFC 3339) of a partial upload.
pub const UPLOAD_EXPIRES: &str = "upload-expires";
/// Content type of PATCH bodies.
pub const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";
/// Status for a chunk whose checksum does not match (as in tus).
pub const CHECKSUM_MISMATCH_STATUS: u16 = 460;
/// Largest blob accepted, bytes.
pub const MAX_BLOB_BYTES: u64 = 25 * 1024 * 1024;
/// Largest PATCH body accepted, bytes.
pub const MAX_CHUNK_BYTES: u64 = 8 * 1024 * 1024;

/// Body of the answers to `POST /v1/uploads` (`HEAD` and `PATCH /v1/uploads/{id}` answer with
/// the same facts in headers only). When this user already uploaded these bytes, `complete` is
/// true and `upload_id` is the nil UUID: there is nothing to upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UploadStatus {
    pub upload_id: UploadId,
    pub sha256: String,
    pub offset: u64,
    pub length: u64,
    /// The blob is stored and may be referenced.
    pub complete: bool,
}

/// Lower-case hex SHA-256: the only form of blob name accepted anywhere.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
