//! [`UploadMachine`]: the upload protocol (`kvits_upload::Upload`) for the web shell, which
//! keeps only the transport (`fetch`, Blob slices, timeouts) in TypeScript.
//!
//! The page asks [`UploadMachine::next_step`] for an [`UploadStep`], does it and tells the machine
//! what happened. Numbers cross as JavaScript numbers (sizes are far below 2^53); a number that
//! is not a whole, non-negative one, or a call that does not fit the step, is a JavaScript
//! `Error` — never a panic. The logic is in `try_` methods (tested on the host); the exported
//! ones only convert their errors.

use kvits_upload::{Answer, Options, Params, Step, Upload};
use wasm_bindgen::prelude::*;

/// Largest whole number a JavaScript number holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// One upload's protocol; see `kvits_upload`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct UploadMachine {
    inner: Upload,
}

/// What the page does next. `kind` is one of:
/// - `check_file`: report the file (`fileMissing`, or `fileSize`, `fileBytes`…, `fileEnd`);
/// - `progress`: tell the core `sent` of `total`;
/// - `read_chunk`: read `length` bytes at `offset` and hand them to `chunk`;
/// - `send`: make the request (`method`, `url`, `headers` as name, value, name, value…; the
///   body is the last chunk when `chunk` is true, which also wants the chunk timeout) and hand
///   its answer to `answer`, or say `noAnswer`;
/// - `done`;
/// - `failed`: `error_kind` (the core's `UploadErrorKind`: `Transient`, `Unauthorized`,
///   `Refused`, `FileMissing`) and `message`.
#[wasm_bindgen(getter_with_clone)]
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UploadStep {
    pub kind: String,
    pub offset: f64,
    pub length: f64,
    pub sent: f64,
    pub total: f64,
    pub method: String,
    pub url: String,
    pub headers: Vec<String>,
    pub chunk: bool,
    pub error_kind: String,
    pub message: String,
}

impl From<Step> for UploadStep {
    fn from(step: Step) -> UploadStep {
        let kind = |k: &str| k.to_owned();
        match step {
            Step::CheckFile => UploadStep {
                kind: kind("check_file"),
                ..UploadStep::default()
            },
            Step::Progress { sent, total } => UploadStep {
                kind: kind("progress"),
                sent: sent as f64,
                total: total as f64,
                ..UploadStep::default()
            },
            Step::ReadChunk { offset, len } => UploadStep {
                kind: kind("read_chunk"),
                offset: offset as f64,
                length: len as f64,
                ..UploadStep::default()
            },
            Step::Send(request) => UploadStep {
                kind: kind("send"),
                chunk: request.has_chunk(),
                method: request.method.to_owned(),
                url: request.url,
                headers: request
                    .headers
                    .into_iter()
                    .flat_map(|(name, value)| [name.to_owned(), value])
                    .collect(),
                ..UploadStep::default()
            },
            Step::Done => UploadStep {
                kind: kind("done"),
                ..UploadStep::default()
            },
            Step::Failed(failure) => UploadStep {
                kind: kind("failed"),
                error_kind: failure.kind.as_str().to_owned(),
                message: failure.message,
                ..UploadStep::default()
            },
        }
    }
}

/// `n` as a whole, non-negative number, or why not.
fn whole(what: &str, n: f64) -> Result<u64, String> {
    if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= MAX_SAFE {
        Ok(n as u64)
    } else {
        Err(format!("{what} must be a whole number ≥ 0, not {n}"))
    }
}

impl UploadMachine {
    /// [`UploadMachine::new`] with a Rust error.
    pub fn try_new(
        server_url: String,
        token: String,
        sha256: String,
        size: f64,
        chunk_size: f64,
        max_chunks: Option<f64>,
    ) -> Result<UploadMachine, String> {
        let params = Params {
            server_url,
            token,
            sha256,
            size: whole("size", size)?,
        };
        let options = Options {
            chunk_size: whole("chunkSize", chunk_size)?,
            max_chunks: max_chunks.map(|n| whole("maxChunks", n)).transpose()?,
        };
        Ok(UploadMachine {
            inner: Upload::new(params, options),
        })
    }

    /// [`UploadMachine::answer`] with a Rust error.
    pub fn try_answer(
        &mut self,
        status: f64,
        upload_offset: Option<String>,
        retry_after: Option<String>,
        body: &[u8],
    ) -> Result<(), String> {
        let status = whole("status", status)?;
        let status = u16::try_from(status).map_err(|_| format!("no HTTP status is {status}"))?;
        let body = &body[..body.len().min(kvits_upload::MAX_ANSWER_BODY)];
        self.inner
            .answer(&Answer {
                status,
                upload_offset,
                retry_after,
                body: body.to_vec(),
            })
            .map_err(|m| m.to_string())
    }

    /// [`UploadMachine::file_size`] with a Rust error.
    pub fn try_file_size(&mut self, size: f64) -> Result<(), String> {
        let size = whole("size", size)?;
        self.inner.file_size(size).map_err(|m| m.to_string())
    }
}

fn js<T>(result: Result<T, impl std::fmt::Display>) -> Result<T, JsError> {
    result.map_err(|m| JsError::new(&m.to_string()))
}

#[wasm_bindgen]
impl UploadMachine {
    /// A new upload of `size` bytes hashing to `sha256`, `chunk_size` bytes per `PATCH`, at most
    /// `max_chunks` `PATCH`es (tests) — a request that cannot be right fails at the first step.
    #[wasm_bindgen(constructor)]
    pub fn new(
        server_url: String,
        token: String,
        sha256: String,
        size: f64,
        chunk_size: f64,
        max_chunks: Option<f64>,
    ) -> Result<UploadMachine, JsError> {
        js(UploadMachine::try_new(
            server_url, token, sha256, size, chunk_size, max_chunks,
        ))
    }

    /// What to do next.
    #[wasm_bindgen(js_name = next)]
    pub fn next_step(&mut self) -> UploadStep {
        self.inner.next_step().into()
    }

    /// Whether the upload has ended (the next step is `done` or `failed`).
    pub fn ended(&self) -> bool {
        self.inner.outcome().is_some()
    }

    #[wasm_bindgen(js_name = fileMissing)]
    pub fn file_missing(&mut self, what: &str) -> Result<(), JsError> {
        js(self.inner.file_missing(what))
    }

    #[wasm_bindgen(js_name = fileUnreadable)]
    pub fn file_unreadable(&mut self, what: &str) -> Result<(), JsError> {
        js(self.inner.file_unreadable(what))
    }

    #[wasm_bindgen(js_name = fileSize)]
    pub fn file_size(&mut self, size: f64) -> Result<(), JsError> {
        js(self.try_file_size(size))
    }

    #[wasm_bindgen(js_name = fileBytes)]
    pub fn file_bytes(&mut self, bytes: &[u8]) -> Result<(), JsError> {
        js(self.inner.file_bytes(bytes))
    }

    #[wasm_bindgen(js_name = fileEnd)]
    pub fn file_end(&mut self) -> Result<(), JsError> {
        js(self.inner.file_end())
    }

    /// The bytes a `read_chunk` step asked for.
    pub fn chunk(&mut self, bytes: &[u8]) -> Result<(), JsError> {
        js(self.inner.chunk(bytes))
    }

    /// The answer to the last `send` step (its first 64 KiB of body are enough).
    pub fn answer(
        &mut self,
        status: f64,
        upload_offset: Option<String>,
        retry_after: Option<String>,
        body: &[u8],
    ) -> Result<(), JsError> {
        js(self.try_answer(status, upload_offset, retry_after, body))
    }

    /// The last `send` step's request got no answer: `what` says why.
    #[wasm_bindgen(js_name = noAnswer)]
    pub fn no_answer(&mut self, what: &str) -> Result<(), JsError> {
        js(self.inner.no_answer(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    fn machine() -> Result<UploadMachine, String> {
        UploadMachine::try_new(
            "http://kvits.test".into(),
            "t".into(),
            SHA.into(),
            10.0,
            4.0,
            None,
        )
    }

    #[test]
    fn numbers_that_are_not_whole_are_errors() {
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, 1e300] {
            assert!(
                UploadMachine::try_new("u".into(), "t".into(), SHA.into(), bad, 4.0, None).is_err()
            );
            assert!(
                UploadMachine::try_new("u".into(), "t".into(), SHA.into(), 1.0, bad, None).is_err()
            );
        }
    }

    #[test]
    fn steps_cross_as_plain_fields() -> Result<(), String> {
        let mut m = machine()?;
        assert_eq!(m.next_step().kind, "check_file");
        assert!(m.try_file_size(-3.0).is_err());
        m.try_file_size(9.0)?;
        assert!(m.ended());
        let step = m.next_step();
        assert_eq!(step.kind, "failed");
        assert_eq!(step.error_kind, "Refused");
        assert!(step.message.contains("changed"));
        Ok(())
    }

    #[test]
    fn answers_out_of_turn_or_out_of_range_are_errors() -> Result<(), String> {
        let mut m = machine()?;
        assert!(m.try_answer(200.0, None, None, b"").is_err());
        assert!(m.try_answer(70000.0, None, None, b"").is_err());
        let send: UploadStep = Step::Send(kvits_upload::Request {
            kind: kvits_upload::RequestKind::Chunk,
            method: "PATCH",
            url: "u".into(),
            headers: vec![("a", "1".into()), ("b", "2".into())],
        })
        .into();
        assert_eq!(send.headers, ["a", "1", "b", "2"]);
        assert!(send.chunk);
        Ok(())
    }
}
