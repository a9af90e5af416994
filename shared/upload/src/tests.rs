//! The machine against every answer in every state, driven by a small in-memory driver.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

const ID: &str = "0b3a8e36-5a5c-4a52-9a9e-6c0b8e0e1f01";

fn photo(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 + 7) as u8).collect()
}

fn params_for(data: &[u8]) -> Params {
    Params {
        server_url: "http://kvits.test/".into(),
        token: "good".into(),
        sha256: to_hex(&Sha256::digest(data)),
        size: data.len() as u64,
    }
}

fn options(chunk: u64) -> Options {
    Options {
        chunk_size: chunk,
        max_chunks: None,
    }
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn status_body(offset: u64, length: u64, complete: bool) -> Vec<u8> {
    format!(
        r#"{{"upload_id":"{ID}","sha256":"x","offset":{offset},"length":{length},"complete":{complete}}}"#
    )
    .into_bytes()
}

fn answer(status: u16, offset: Option<u64>, body: &[u8]) -> Answer {
    Answer {
        status,
        upload_offset: offset.map(|o| o.to_string()),
        retry_after: None,
        body: body.to_vec(),
    }
}

/// Feeds the machine the file `data` in blocks; answers the steps up to the first request.
fn check_file(m: &mut Upload, data: &[u8]) {
    assert_eq!(m.next_step(), Step::CheckFile);
    m.file_size(data.len() as u64).unwrap();
    if m.outcome().is_some() {
        return;
    }
    for block in data.chunks(7) {
        m.file_bytes(block).unwrap();
    }
    m.file_end().unwrap();
}

/// Everything a driver did: the progress it reported, the requests, the end.
#[derive(Debug, Default)]
struct Trace {
    progress: Vec<(u64, u64)>,
    requests: Vec<String>,
    end: Option<Result<(), Failure>>,
}

/// Drives `m` over the file `data` against `server` (which answers a request and the chunk
/// sent with it), up to the end.
fn drive(
    m: &mut Upload,
    data: &[u8],
    mut server: impl FnMut(&Request, Option<&[u8]>) -> Option<Answer>,
) -> Trace {
    let mut trace = Trace::default();
    let mut chunk: Vec<u8> = Vec::new();
    for _ in 0..1000 {
        match m.next_step() {
            Step::CheckFile => check_file(m, data),
            Step::Progress { sent, total } => trace.progress.push((sent, total)),
            Step::ReadChunk { offset, len } => {
                let end = usize::try_from(offset + len).unwrap().min(data.len());
                chunk = data[usize::try_from(offset).unwrap().min(end)..end].to_vec();
                m.chunk(&chunk).unwrap();
            }
            Step::Send(request) => {
                let path = request.url.trim_start_matches("http://kvits.test");
                trace.requests.push(format!("{} {path}", request.method));
                let body = request.has_chunk().then_some(chunk.as_slice());
                match server(&request, body) {
                    Some(a) => m.answer(&a).unwrap(),
                    None => m.no_answer("could not reach the server").unwrap(),
                }
            }
            Step::Done => {
                trace.end = Some(Ok(()));
                return trace;
            }
            Step::Failed(f) => {
                trace.end = Some(Err(f));
                return trace;
            }
        }
    }
    panic!("the machine never ended: {trace:?}");
}

/// A model of the server's side (sync-server/src/uploads.rs) for one user and one blob.
#[derive(Debug)]
struct Server {
    data: Vec<u8>,
    received: Vec<u8>,
    stored: bool,
    /// The upload exists (a 404 to PATCH/HEAD otherwise).
    open: bool,
}

impl Server {
    fn new(data: &[u8]) -> Server {
        Server {
            data: data.to_vec(),
            received: Vec::new(),
            stored: false,
            open: false,
        }
    }

    fn handle(&mut self, request: &Request, body: Option<&[u8]>) -> Answer {
        assert_eq!(header(request, "authorization"), Some("Bearer good"));
        assert_eq!(header(request, PROTOCOL_HEADER), Some("1"));
        let len = self.data.len() as u64;
        match request.method {
            "POST" => {
                assert_eq!(request.url, "http://kvits.test/v1/uploads");
                assert_eq!(
                    header(request, UPLOAD_LENGTH),
                    Some(len.to_string().as_str())
                );
                if self.stored {
                    return answer(200, Some(len), &status_body(len, len, true));
                }
                self.open = true;
                let at = self.received.len() as u64;
                answer(201, Some(at), &status_body(at, len, false))
            }
            "HEAD" if self.open => answer(200, Some(self.received.len() as u64), b""),
            "PATCH" if self.open => {
                let chunk = body.expect("a PATCH carries the chunk");
                assert_eq!(header(request, "content-type"), Some(OFFSET_CONTENT_TYPE));
                let at: u64 = header(request, UPLOAD_OFFSET).unwrap().parse().unwrap();
                if at != self.received.len() as u64 {
                    let right = self.received.len();
                    return answer(409, Some(right as u64), b"");
                }
                let sum = format!(
                    "sha256 {}",
                    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(chunk))
                );
                if header(request, UPLOAD_CHECKSUM) != Some(sum.as_str()) {
                    return answer(CHECKSUM_MISMATCH_STATUS, Some(at), b"");
                }
                self.received.extend_from_slice(chunk);
                if self.received == self.data {
                    self.stored = true;
                    self.open = false;
                }
                answer(204, Some(self.received.len() as u64), b"")
            }
            _ => answer(
                404,
                None,
                br#"{"code":"not_found","message":"no such upload"}"#,
            ),
        }
    }
}

fn failed(trace: &Trace) -> &Failure {
    match &trace.end {
        Some(Err(f)) => f,
        other => panic!("expected a failure, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Whole uploads

#[test]
fn a_photo_goes_up_in_chunks_with_progress() {
    let data = photo(2500);
    let mut server = Server::new(&data);
    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data, |r, b| Some(server.handle(r, b)));
    assert_eq!(trace.end, Some(Ok(())));
    assert_eq!(server.received, data);
    assert_eq!(
        trace.progress,
        vec![(0, 2500), (1000, 2500), (2000, 2500), (2500, 2500)]
    );
    assert_eq!(
        trace.requests,
        vec![
            "POST /v1/uploads".to_string(),
            format!("PATCH /v1/uploads/{ID}"),
            format!("PATCH /v1/uploads/{ID}"),
            format!("PATCH /v1/uploads/{ID}"),
        ]
    );
    assert_eq!(m.outcome(), Some(Ok(())));
    assert_eq!(m.next_step(), Step::Done, "asking again answers the same");
}

#[test]
fn a_stored_blob_is_done_at_once() {
    let data = photo(1500);
    let mut server = Server::new(&data);
    server.stored = true;
    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data, |r, b| Some(server.handle(r, b)));
    assert_eq!(trace.end, Some(Ok(())));
    assert_eq!(trace.progress, vec![(1500, 1500)]);
    assert_eq!(trace.requests, vec!["POST /v1/uploads"]);
}

#[test]
fn a_cut_upload_resumes_at_the_servers_offset_at_any_cut() {
    let data = photo(3000);
    for cut in 0..3 {
        let mut server = Server::new(&data);
        let mut first = Upload::new(
            params_for(&data),
            Options {
                chunk_size: 1000,
                max_chunks: Some(cut),
            },
        );
        let trace = drive(&mut first, &data, |r, b| Some(server.handle(r, b)));
        assert_eq!(failed(&trace).kind, FailureKind::Transient);
        assert!(failed(&trace).message.contains("stopped after"));
        assert_eq!(server.received.len() as u64, cut * 1000);

        let mut again = Upload::new(params_for(&data), options(1000));
        let trace = drive(&mut again, &data, |r, b| Some(server.handle(r, b)));
        assert_eq!(trace.end, Some(Ok(())));
        assert_eq!(trace.progress.first(), Some(&(cut * 1000, 3000)));
        assert_eq!(server.received, data);
    }
}

#[test]
fn a_lost_connection_fails_transient_then_resumes() {
    let data = photo(3000);
    let mut server = Server::new(&data);
    let mut patches = 0;
    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data, |r, b| {
        if r.method == "PATCH" {
            patches += 1;
            if patches == 2 {
                return None;
            }
        }
        Some(server.handle(r, b))
    });
    assert_eq!(
        trace.end,
        Some(Err(transient("could not reach the server")))
    );
    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data, |r, b| Some(server.handle(r, b)));
    assert_eq!(trace.end, Some(Ok(())));
    assert_eq!(trace.progress[0], (1000, 3000));
}

/// Another call (a killed app's) moved the upload on: the 409 says where, in the header, in
/// the body, or neither (then HEAD is asked).
#[test]
fn a_409_moves_to_the_servers_offset() {
    let data = photo(3000);
    for how in ["header", "body", "head"] {
        let mut server = Server::new(&data);
        let mut first = true;
        let mut m = Upload::new(params_for(&data), options(1000));
        let trace = drive(&mut m, &data, |r, b| {
            if r.method == "PATCH" && first {
                first = false;
                server.received = data[..2000].to_vec();
                let body = br#"{"code":"offset_mismatch","message":"wrong offset","details":{"offset":2000}}"#;
                return Some(match how {
                    "header" => answer(409, Some(2000), b"{}"),
                    "body" => answer(409, None, body),
                    _ => answer(409, None, b"<html>conflict</html>"),
                });
            }
            Some(server.handle(r, b))
        });
        assert_eq!(trace.end, Some(Ok(())), "{how}");
        assert_eq!(
            trace.progress,
            vec![(0, 3000), (2000, 3000), (3000, 3000)],
            "{how}"
        );
        assert_eq!(
            trace.requests.iter().any(|r| r.starts_with("HEAD")),
            how == "head"
        );
        assert_eq!(server.received, data);
    }
}

#[test]
fn a_damaged_chunk_is_resent_then_given_up() {
    let data = photo(2000);
    // Damaged once: sent again, then through.
    let mut server = Server::new(&data);
    let mut damage = 1;
    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data, |r, b| {
        if r.method == "PATCH" && damage > 0 {
            damage -= 1;
            return Some(server.handle(r, Some(b"garbage")));
        }
        Some(server.handle(r, b))
    });
    assert_eq!(trace.end, Some(Ok(())));
    assert_eq!(server.received, data);

    // Damaged every time: CHECKSUM_ATTEMPTS sends, then transient.
    let mut server = Server::new(&data);
    let mut sent = 0;
    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data, |r, _| {
        sent += u32::from(r.method == "PATCH");
        Some(server.handle(r, Some(b"garbage")))
    });
    assert_eq!(failed(&trace).kind, FailureKind::Transient);
    assert!(failed(&trace).message.contains("damaged"));
    assert_eq!(sent, CHECKSUM_ATTEMPTS);
    assert_eq!(trace.progress, vec![(0, 2000)]);
}

#[test]
fn a_460_naming_another_offset_moves_there() {
    let data = photo(3000);
    let mut server = Server::new(&data);
    let mut once = true;
    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data, |r, b| {
        if r.method == "PATCH" && once {
            once = false;
            server.received = data[..1000].to_vec();
            return Some(answer(460, Some(1000), b""));
        }
        Some(server.handle(r, b))
    });
    assert_eq!(trace.end, Some(Ok(())));
    assert_eq!(
        trace.progress,
        vec![(0, 3000), (1000, 3000), (2000, 3000), (3000, 3000)]
    );
}

/// The upload expires and is swept (404 to PATCH): a new one starts and the photo goes up.
#[test]
fn an_expired_upload_starts_over() {
    let data = photo(3000);
    let mut server = Server::new(&data);
    let mut patches = 0;
    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data, |r, b| {
        if r.method == "PATCH" {
            patches += 1;
            if patches == 2 {
                server.open = false;
                server.received.clear();
            }
        }
        Some(server.handle(r, b))
    });
    assert_eq!(trace.end, Some(Ok(())));
    assert_eq!(server.received, data);
    assert_eq!(
        trace
            .requests
            .iter()
            .filter(|r| *r == "POST /v1/uploads")
            .count(),
        2
    );
    assert_eq!(trace.progress[..3], [(0, 3000), (1000, 3000), (0, 3000)]);
}

#[test]
fn an_upload_that_keeps_vanishing_is_given_up() {
    let data = photo(3000);
    let mut posts = 0;
    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data, |r, _| {
        Some(if r.method == "POST" {
            posts += 1;
            answer(201, Some(0), &status_body(0, 3000, false))
        } else {
            answer(404, None, b"")
        })
    });
    assert_eq!(failed(&trace).kind, FailureKind::Transient);
    assert!(failed(&trace).message.contains("kept losing"));
    assert_eq!(posts, MAX_RESTARTS + 1);
}

#[test]
fn a_404_to_head_starts_over() {
    let data = photo(2000);
    let mut server = Server::new(&data);
    let mut conflict = true;
    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data, |r, b| {
        if r.method == "PATCH" && conflict {
            conflict = false;
            server.open = false;
            return Some(answer(409, None, b"not json"));
        }
        Some(server.handle(r, b))
    });
    assert_eq!(trace.end, Some(Ok(())));
    assert_eq!(
        trace.requests[..4],
        [
            "POST /v1/uploads".to_string(),
            format!("PATCH /v1/uploads/{ID}"),
            format!("HEAD /v1/uploads/{ID}"),
            "POST /v1/uploads".to_string(),
        ]
    );
}

#[test]
fn a_server_that_never_advances_is_given_up() {
    let data = photo(3000);
    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data, |r, _| {
        Some(match r.method {
            "POST" => answer(201, Some(0), &status_body(0, 3000, false)),
            _ => answer(409, Some(0), b""),
        })
    });
    assert_eq!(failed(&trace).kind, FailureKind::Transient);
    assert!(failed(&trace).message.contains("no progress in 8 tries"));

    // 204s that say the offset did not move stall too.
    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data, |r, _| {
        Some(match r.method {
            "POST" => answer(201, Some(0), &status_body(0, 3000, false)),
            _ => answer(204, Some(0), b""),
        })
    });
    assert!(failed(&trace).message.contains("no progress"));
}

// ---------------------------------------------------------------------------------------------
// Answers that do not fit

fn after_post(data: &[u8], post: Answer) -> Trace {
    let mut m = Upload::new(params_for(data), options(1000));
    let mut post = Some(post);
    drive(&mut m, data, |r, _| {
        assert_eq!(r.method, "POST", "nothing follows a bad POST answer");
        post.take()
    })
}

#[test]
fn post_answers_that_are_not_understood_are_transient() {
    let data = photo(2000);
    let bad = [
        answer(201, None, b"not json"),
        answer(201, None, b""),
        answer(
            201,
            None,
            br#"{"upload_id":"not-a-uuid","sha256":"x","offset":0,"length":2000,"complete":false}"#,
        ),
        answer(201, None, &status_body(0, 1999, false)),
        answer(201, None, &status_body(2000, 2000, false)),
        answer(201, None, &status_body(5000, 2000, false)),
        answer(204, None, b""),
        answer(302, None, b"<html>portal</html>"),
    ];
    for a in bad {
        let trace = after_post(&data, a.clone());
        assert_eq!(failed(&trace).kind, FailureKind::Transient, "{a:?}");
        assert!(trace.progress.is_empty(), "{a:?}");
    }
}

#[test]
fn answers_map_to_the_cores_error_kinds() {
    let data = photo(1000);
    let cases = [
        (401, FailureKind::Unauthorized),
        (404, FailureKind::Transient),
        (405, FailureKind::Transient),
        (408, FailureKind::Transient),
        (425, FailureKind::Transient),
        (426, FailureKind::Transient),
        (429, FailureKind::Transient),
        (500, FailureKind::Transient),
        (503, FailureKind::Transient),
        (400, FailureKind::Refused),
        (403, FailureKind::Refused),
        (413, FailureKind::Refused),
        (422, FailureKind::Refused),
    ];
    for (status, kind) in cases {
        let body = format!(r#"{{"code":"x","message":"said {status}"}}"#);
        let trace = after_post(&data, answer(status, None, body.as_bytes()));
        let f = failed(&trace);
        assert_eq!(f.kind, kind, "{status}");
        assert!(
            f.message.contains(&format!("said {status}")),
            "{status}: {}",
            f.message
        );
    }
    // Without a message, the status speaks.
    let trace = after_post(&data, answer(401, None, b""));
    assert_eq!(failed(&trace).message, "sign in again");
    let trace = after_post(&data, answer(413, None, b"<html/>"));
    assert_eq!(failed(&trace).message, "the server refused it (413)");
    let trace = after_post(&data, answer(502, None, b""));
    assert_eq!(failed(&trace).message, "the server failed (502)");
}

/// After the upload exists, a 404 is "gone" (start over), not "no endpoint"; other answers to
/// PATCH and HEAD read the table like the POST.
#[test]
fn patch_and_head_answers_map_like_the_post() {
    let data = photo(2000);
    for (status, kind) in [
        (401, FailureKind::Unauthorized),
        (413, FailureKind::Refused),
        (422, FailureKind::Refused),
        (426, FailureKind::Transient),
        (503, FailureKind::Transient),
        (201, FailureKind::Transient),
        (301, FailureKind::Transient),
    ] {
        for to in ["PATCH", "HEAD"] {
            let mut m = Upload::new(params_for(&data), options(1000));
            let trace = drive(&mut m, &data, |r, _| {
                Some(match r.method {
                    "POST" => answer(201, None, &status_body(0, 2000, false)),
                    "PATCH" if to == "HEAD" => answer(409, None, b""),
                    _ => answer(status, None, b""),
                })
            });
            assert_eq!(failed(&trace).kind, kind, "{status} to {to}");
        }
    }
}

#[test]
fn offsets_beyond_the_photo_are_transient() {
    let data = photo(2000);
    for (what, patch) in [
        ("204", answer(204, Some(2001), b"")),
        ("409 header", answer(409, Some(5000), b"")),
        (
            "409 body",
            answer(
                409,
                None,
                br#"{"code":"offset_mismatch","message":"m","details":{"offset":9999}}"#,
            ),
        ),
    ] {
        let mut m = Upload::new(params_for(&data), options(1000));
        let trace = drive(&mut m, &data, |r, _| {
            Some(match r.method {
                "POST" => answer(201, None, &status_body(0, 2000, false)),
                _ => patch.clone(),
            })
        });
        assert_eq!(failed(&trace).kind, FailureKind::Transient, "{what}");
        assert!(failed(&trace).message.contains("-byte photo"), "{what}");
    }
    // HEAD saying more than the photo.
    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data, |r, _| {
        Some(match r.method {
            "POST" => answer(201, None, &status_body(0, 2000, false)),
            "PATCH" => answer(409, None, b""),
            _ => answer(200, Some(2001), b""),
        })
    });
    assert_eq!(failed(&trace).kind, FailureKind::Transient);
    // A 409 at exactly the end, with nothing stored, cannot go on.
    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data, |r, _| {
        Some(match r.method {
            "POST" => answer(201, None, &status_body(0, 2000, false)),
            _ => answer(409, Some(2000), b""),
        })
    });
    assert!(failed(&trace).message.contains("has not stored it"));
}

#[test]
fn bad_offset_headers_are_no_offset() {
    assert_eq!(number(Some(" 12 ")), Some(12));
    for bad in [
        "",
        " ",
        "-1",
        "+1",
        "1.0",
        "0x10",
        "abc",
        "99999999999999999999999",
    ] {
        assert_eq!(number(Some(bad)), None, "{bad:?}");
    }
    // A 204 without a readable offset counts the chunk sent; a HEAD without one fails.
    let data = photo(2000);
    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data, |r, _| {
        Some(match r.method {
            "POST" => answer(201, None, &status_body(0, 2000, false)),
            _ => Answer {
                status: 204,
                upload_offset: Some("lots".into()),
                ..Answer::default()
            },
        })
    });
    assert_eq!(trace.end, Some(Ok(())));
    assert_eq!(trace.progress, vec![(0, 2000), (1000, 2000), (2000, 2000)]);

    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data, |r, _| {
        Some(match r.method {
            "POST" => answer(201, None, &status_body(0, 2000, false)),
            "PATCH" => answer(409, None, b"").with_offset("x"),
            _ => answer(200, None, b""),
        })
    });
    assert!(failed(&trace).message.contains("did not say where"));
}

impl Answer {
    fn with_offset(mut self, raw: &str) -> Answer {
        self.upload_offset = Some(raw.to_owned());
        self
    }
}

// ---------------------------------------------------------------------------------------------
// The request and the local file

#[test]
fn the_requests_carry_the_protocol() {
    let data = photo(1500);
    let mut m = Upload::new(params_for(&data), options(1000));
    check_file(&mut m, &data);
    let Step::Send(post) = m.next_step() else {
        panic!("a POST first")
    };
    assert_eq!(post.kind, RequestKind::Create);
    assert!(!post.has_chunk());
    assert_eq!(header(&post, UPLOAD_LENGTH), Some("1500"));
    assert_eq!(
        header(&post, UPLOAD_SHA256),
        Some(params_for(&data).sha256.as_str())
    );
    m.answer(&answer(201, None, &status_body(1000, 1500, false)))
        .unwrap();
    assert_eq!(
        m.next_step(),
        Step::Progress {
            sent: 1000,
            total: 1500
        }
    );
    assert_eq!(
        m.next_step(),
        Step::ReadChunk {
            offset: 1000,
            len: 500
        }
    );
    assert_eq!(
        m.next_step(),
        Step::ReadChunk {
            offset: 1000,
            len: 500
        },
        "asked again"
    );
    m.chunk(&data[1000..]).unwrap();
    let Step::Send(patch) = m.next_step() else {
        panic!("a PATCH")
    };
    assert_eq!(patch.kind, RequestKind::Chunk);
    assert!(patch.has_chunk());
    assert_eq!(patch.url, format!("http://kvits.test/v1/uploads/{ID}"));
    assert_eq!(header(&patch, UPLOAD_OFFSET), Some("1000"));
    let sum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&data[1000..]));
    assert_eq!(
        header(&patch, UPLOAD_CHECKSUM),
        Some(format!("sha256 {sum}").as_str())
    );
}

#[test]
fn a_file_that_is_not_the_one_taken_is_refused() {
    let data = photo(1000);
    // Another size.
    let mut m = Upload::new(params_for(&data), options(1000));
    assert_eq!(m.next_step(), Step::CheckFile);
    m.file_size(999).unwrap();
    let Step::Failed(f) = m.next_step() else {
        panic!()
    };
    assert_eq!(f.kind, FailureKind::Refused);
    assert!(f.message.starts_with("the photo file changed"));
    // Other bytes.
    let mut m = Upload::new(params_for(&data), options(1000));
    let mut other = data.clone();
    other[500] ^= 1;
    check_file(&mut m, &other);
    let Step::Failed(f) = m.next_step() else {
        panic!()
    };
    assert_eq!(f.kind, FailureKind::Refused);
    // Gone, unreadable.
    let mut m = Upload::new(params_for(&data), options(1000));
    m.file_missing("x.jpg (not found)").unwrap();
    assert_eq!(
        m.next_step(),
        Step::Failed(failure(
            FailureKind::FileMissing,
            "the photo file x.jpg (not found) is gone"
        ))
    );
    let mut m = Upload::new(params_for(&data), options(1000));
    m.file_unreadable("I/O error").unwrap();
    assert_eq!(
        m.outcome().unwrap().unwrap_err().kind,
        FailureKind::Transient
    );
}

#[test]
fn a_file_that_shrinks_during_the_upload_is_refused() {
    let data = photo(2000);
    let mut m = Upload::new(params_for(&data), options(1000));
    let trace = drive(&mut m, &data[..1500], |r, _| {
        Some(match r.method {
            "POST" => answer(201, None, &status_body(1000, 2000, false)),
            _ => answer(204, Some(2000), b""),
        })
    });
    // check_file was fed the short file: refused before any request.
    assert_eq!(failed(&trace).kind, FailureKind::Refused);
    assert!(trace.requests.is_empty());

    let mut m = Upload::new(params_for(&data), options(1000));
    check_file(&mut m, &data);
    m.answer(&answer(201, None, &status_body(1000, 2000, false)))
        .unwrap();
    assert_eq!(
        m.next_step(),
        Step::Progress {
            sent: 1000,
            total: 2000
        }
    );
    m.chunk(&data[1000..1400]).unwrap();
    let Step::Failed(f) = m.next_step() else {
        panic!()
    };
    assert_eq!(f.kind, FailureKind::Refused);
    assert!(f.message.contains("became shorter"));
}

#[test]
fn requests_that_cannot_be_right_fail_before_any_io() {
    let data = photo(10);
    let cases = [
        (
            Params {
                server_url: "kvits.test".into(),
                ..params_for(&data)
            },
            FailureKind::Transient,
        ),
        (
            Params {
                server_url: "http://".into(),
                ..params_for(&data)
            },
            FailureKind::Transient,
        ),
        (
            Params {
                server_url: "http://a b".into(),
                ..params_for(&data)
            },
            FailureKind::Transient,
        ),
        (
            Params {
                sha256: "ABC".into(),
                ..params_for(&data)
            },
            FailureKind::Refused,
        ),
        (
            Params {
                sha256: "A".repeat(64),
                ..params_for(&data)
            },
            FailureKind::Refused,
        ),
        (
            Params {
                size: 0,
                ..params_for(&data)
            },
            FailureKind::Refused,
        ),
        (
            Params {
                size: MAX_BLOB_BYTES + 1,
                ..params_for(&data)
            },
            FailureKind::Refused,
        ),
        (
            Params {
                token: String::new(),
                ..params_for(&data)
            },
            FailureKind::Unauthorized,
        ),
        (
            Params {
                token: "a\r\nb".into(),
                ..params_for(&data)
            },
            FailureKind::Unauthorized,
        ),
        (
            Params {
                token: "jé".into(),
                ..params_for(&data)
            },
            FailureKind::Unauthorized,
        ),
    ];
    for (params, kind) in cases {
        let mut m = Upload::new(params.clone(), Options::default());
        match m.next_step() {
            Step::Failed(f) => assert_eq!(f.kind, kind, "{params:?}"),
            other => panic!("{params:?}: {other:?}"),
        }
    }
    let https = Upload::new(
        Params {
            server_url: "HTTPS://kvits.example//".into(),
            ..params_for(&data)
        },
        Options::default(),
    );
    assert_eq!(https.base, "HTTPS://kvits.example");
    assert!(https.outcome().is_none());
}

#[test]
fn chunk_size_is_clamped() {
    let data = photo(10);
    assert_eq!(Upload::new(params_for(&data), options(0)).chunk_size, 1);
    assert_eq!(
        Upload::new(params_for(&data), options(u64::MAX)).chunk_size,
        MAX_CHUNK_BYTES
    );
}

#[test]
fn calls_out_of_turn_are_misuse_and_change_nothing() {
    let data = photo(10);
    let mut m = Upload::new(params_for(&data), options(1000));
    assert!(m.answer(&answer(201, None, b"")).is_err());
    assert!(m.no_answer("x").is_err());
    assert!(m.chunk(&data).is_err());
    assert!(m.file_end().is_err(), "file_end before file_size");
    assert_eq!(m.next_step(), Step::CheckFile);
    check_file(&mut m, &data);
    assert!(m.file_size(10).is_err());
    assert!(m.file_bytes(&data).is_err());
    assert!(m.file_missing("x").is_err());
    assert!(m.file_unreadable("x").is_err());
    assert!(matches!(m.next_step(), Step::Send(_)));
    m.answer(&answer(200, None, &status_body(10, 10, true)))
        .unwrap();
    assert!(m.answer(&answer(200, None, b"")).is_err());
    assert_eq!(
        m.next_step(),
        Step::Progress {
            sent: 10,
            total: 10
        }
    );
    assert_eq!(m.next_step(), Step::Done);
    assert_eq!(FailureKind::FileMissing.as_str(), "FileMissing");
}
