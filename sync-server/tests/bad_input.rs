//! Bad input (docs/design.md §5: a corrupt or oversized image, malformed JSON, an oversize body,
//! unknown ids or another tenant's ids get a clear 4xx answer and change nothing): malformed
//! JSON, wrong content types and shapes, oversize bodies, absurd query values, path tricks in
//! ids, invalid strings in mutations, non-image uploads and decompression bombs, garbage
//! credentials. Never a 500 for a client's mistake, nothing partially written.
//!
//! Every request goes through a [`Probe`] that keeps its status; each test ends by checking
//! that the server still answers `/healthz`, that no answer was a 5xx, and that the firm's
//! change counter moved only for what was valid.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use common::{Device, TestServer};
use kvits_protocol::{
    ApprovalRule, ApprovalRuleId, ApprovalStep, Attachment, CompanyId, DecisionKind, DocumentType,
    ErrorBody, ErrorCode, ExpenseFields, ExpenseId, ExpenseType, ExpenseTypeId, MAX_BLOB_BYTES,
    MAX_PUSH_MUTATIONS, MessageId, Money, Mutation, OFFSET_CONTENT_TYPE, Outcome, PaymentKind,
    PaymentMethod, PaymentMethodId, PullResponse, PushResponse, ReceiptPage, RejectCode,
    UPLOAD_CHECKSUM, UPLOAD_LENGTH, UPLOAD_OFFSET, UPLOAD_SHA256, UploadStatus, UserId,
};
use kvits_testkit::bombs::{jpeg_claiming, png_claiming};
use reqwest::Method;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// ---------------------------------------------------------------------------------------------
// The probe: every request, its status kept

/// An answer, read whole.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn error(&self) -> Option<ErrorBody> {
        serde_json::from_slice(&self.body).ok().or_else(|| {
            // A raw answer may carry its JSON inside a chunked body.
            let text = String::from_utf8_lossy(&self.body);
            let (start, end) = (text.find('{')?, text.rfind('}')?);
            serde_json::from_str(&text[start..=end]).ok()
        })
    }

    fn code(&self) -> Option<ErrorCode> {
        self.error().map(|e| e.code)
    }

    fn is(&self, status: u16, code: ErrorCode) -> bool {
        self.status == status && self.code() == Some(code)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn show(&self) -> String {
        let body: String = String::from_utf8_lossy(&self.body)
            .chars()
            .take(300)
            .collect();
        format!("{} {body}", self.status)
    }
}

/// A test's client: sends requests and remembers every status.
struct Probe<'s> {
    srv: &'s TestServer,
    seen: Mutex<Vec<(String, u16)>>,
}

impl<'s> Probe<'s> {
    fn new(srv: &'s TestServer) -> Self {
        Probe {
            srv,
            seen: Mutex::new(Vec::new()),
        }
    }

    fn req(&self, token: Option<&str>, method: Method, path: &str) -> reqwest::RequestBuilder {
        let rb = self.srv.http.request(method, self.srv.url(path));
        match token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    fn record(&self, label: &str, status: u16) {
        self.seen
            .lock()
            .expect("seen")
            .push((label.to_owned(), status));
    }

    async fn send(&self, label: &str, rb: reqwest::RequestBuilder) -> Reply {
        let r = rb.send().await.unwrap_or_else(|e| panic!("{label}: {e}"));
        let status = r.status().as_u16();
        let headers = r
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        self.record(label, status);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// JSON `body` (any bytes) with `content_type`.
    async fn json(
        &self,
        label: &str,
        token: Option<&str>,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let mut rb = self.req(token, method, path).body(body);
        if let Some(ct) = content_type {
            rb = rb.header("content-type", ct);
        }
        self.send(label, rb).await
    }

    /// Sends exactly these bytes (request line and headers as given, no client-side
    /// normalisation of the path) and reads the answer until the server closes.
    async fn raw(&self, label: &str, head: &str, body: &[u8]) -> Reply {
        let addr = self.srv.base.trim_start_matches("http://");
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (mut reader, mut writer) = stream.into_split();
        let mut request = head.as_bytes().to_vec();
        request.extend_from_slice(body);
        // Written beside the read: the server may answer (and close) before it has read
        // everything, and must not find us blocked on a full socket.
        let writing = tokio::spawn(async move {
            let _ = writer.write_all(&request).await;
            writer
        });
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut buf)).await;
        writing.abort();
        let text = String::from_utf8_lossy(&buf).into_owned();
        let status = text
            .strip_prefix("HTTP/1.1 ")
            .and_then(|t| t.get(..3))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (head_text, body) = match text.find("\r\n\r\n") {
            Some(i) => (text[..i].to_owned(), buf[i + 4..].to_vec()),
            None => (text.clone(), Vec::new()),
        };
        let headers = head_text
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        self.record(label, status);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// The demo firm's change counter.
    async fn counter(&self) -> i64 {
        let firm = self.srv.demo.firm.to_string();
        self.srv
            .server
            .state()
            .db
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT change_counter FROM firms WHERE id = ?1",
                    [firm],
                    |r| r.get(0),
                )?)
            })
            .await
            .expect("counter")
    }

    async fn count(&self, sql: &'static str) -> i64 {
        self.srv
            .server
            .state()
            .db
            .read(move |c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .await
            .expect("count")
    }

    /// The end of every test: the server still answers, no answer was a 5xx, and the change
    /// counter is where the valid requests put it.
    async fn finish(self, expected_counter: i64) {
        let r = self
            .send("GET /healthz", self.req(None, Method::GET, "/healthz"))
            .await;
        assert_eq!(r.status, 200, "healthz: {}", r.show());
        let health: serde_json::Value = serde_json::from_slice(&r.body).expect("healthz json");
        assert_eq!(health["status"], "ok");
        assert_eq!(
            self.counter().await,
            expected_counter,
            "the firm's change counter moved for something that was not valid"
        );
        let seen = self.seen.lock().expect("seen");
        let fives: Vec<_> = seen.iter().filter(|(_, s)| *s >= 500).collect();
        assert!(
            fives.is_empty(),
            "5xx answers to client mistakes: {fives:?}"
        );
        assert!(seen.len() > 1, "nothing was probed");
    }
}

fn sha_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn checksum(data: &[u8]) -> String {
    format!(
        "sha256 {}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(data))
    )
}

/// Every file under `dir` with its size and hash, except the database's own files.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if !path.to_string_lossy().contains("kvits.sqlite3") {
            let data = std::fs::read(&path).expect("read");
            out.push(format!(
                "{} {} {}",
                path.display(),
                data.len(),
                sha_hex(&data)
            ));
        }
    }
    out.sort();
    out
}

fn emma_fields(srv: &TestServer) -> ExpenseFields {
    ExpenseFields {
        expense_type_id: Some(srv.demo.expense_types[&("Birch Bakery", "Meals")]),
        payment_method_id: Some(
            srv.demo.payment_methods[&("Birch Bakery", "Visa Business".to_string())],
        ),
        amount: Some(Money {
            amount_minor: 1240,
            currency: "EUR".into(),
        }),
        base_amount: None,
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, 20),
        merchant: Some("Rimi".into()),
        note: None,
        vat: Vec::new(),
        account_code: None,
    }
}

fn new_uuid() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

/// Outcomes of a push by seq.
fn outcomes(r: &PushResponse) -> std::collections::BTreeMap<u64, Outcome> {
    r.results
        .iter()
        .map(|x| (x.seq, x.outcome.clone()))
        .collect()
}

fn is_rejected(o: Option<&Outcome>, code: RejectCode) -> bool {
    matches!(o, Some(Outcome::Rejected { code: c, .. }) if *c == code)
}

// ---------------------------------------------------------------------------------------------
// JSON endpoints

#[tokio::test]
async fn malformed_json_wrong_types_and_shapes_are_4xx_on_every_json_endpoint() {
    let srv = TestServer::start().await;
    let p = Probe::new(&srv);
    let anna = srv.login("anna@demo.kvits").await;
    let clara = srv.login("clara@demo.kvits").await;
    let emma = srv.device("emma@demo.kvits").await;
    let birch = srv.demo.company("Birch Bakery");
    let emma_id = srv.demo.user("emma@demo.kvits");
    let counter = p.counter().await;
    let users = p.count("SELECT count(*) FROM users").await;
    let invitations = p.count("SELECT count(*) FROM invitations").await;
    let tokens = p.count("SELECT count(*) FROM tokens").await;

    // (method, path, token, a valid body, bodies of the wrong shape for this endpoint)
    type Endpoint<'t> = (
        Method,
        String,
        Option<&'t str>,
        serde_json::Value,
        Vec<&'t str>,
    );
    let endpoints: Vec<Endpoint> = vec![
        (
            Method::POST,
            "/v1/auth/login".into(),
            None,
            serde_json::json!({"email": "nobody@demo.kvits", "password": "wrong password"}),
            vec![
                r#"{"email": 5, "password": true}"#,
                r#"{"email": "emma@demo.kvits"}"#,
                r#"{"email": ["emma@demo.kvits"], "password": "demo"}"#,
                r#"{"email": "emma@demo.kvits", "password": "demo", "client_id": "phone"}"#,
            ],
        ),
        (
            Method::POST,
            "/v1/auth/accept-invitation".into(),
            None,
            serde_json::json!({"token": "kvi_unknown", "password": "a long enough password"}),
            vec![
                r#"{"token": 5, "password": "a long enough password"}"#,
                r#"{"password": "a long enough password"}"#,
            ],
        ),
        (
            Method::POST,
            "/v1/companies".into(),
            Some(anna.as_str()),
            serde_json::json!({"name": "Pine Pharmacy"}),
            vec![
                r#"{"name": 5}"#,
                r#"{"title": "Pine Pharmacy"}"#,
                r#"{"name": null}"#,
            ],
        ),
        (
            Method::POST,
            format!("/v1/companies/{birch}/users"),
            Some(clara.as_str()),
            serde_json::json!({"email": "new@demo.kvits", "name": "New", "roles": ["employee"]}),
            vec![
                r#"{"email": "new@demo.kvits", "name": "New", "roles": "employee"}"#,
                r#"{"email": "new@demo.kvits", "name": "New", "roles": ["superuser"]}"#,
                r#"{"email": "new@demo.kvits", "roles": ["employee"]}"#,
            ],
        ),
        (
            Method::PUT,
            format!("/v1/companies/{birch}/users/{emma_id}/roles"),
            Some(clara.as_str()),
            serde_json::json!({"roles": ["employee"]}),
            vec![
                r#"{"roles": "employee"}"#,
                r#"{"roles": ["superuser"]}"#,
                r#"{"roles": [1, 2]}"#,
                r#"{"role": ["employee"]}"#,
            ],
        ),
        (
            Method::POST,
            "/v1/sync/push".into(),
            Some(emma.token.as_str()),
            serde_json::json!({"client_id": emma.client, "mutations": []}),
            vec![
                r#"{"mutations": []}"#,
                r#"{"client_id": "my phone", "mutations": []}"#,
                r#"{"client_id": "019a0000-0000-7000-8000-000000000000", "mutations": {}}"#,
                r#"{"client_id": "019a0000-0000-7000-8000-000000000000"}"#,
            ],
        ),
    ];
    let deep = "[".repeat(100_000);
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        ("empty body", Vec::new()),
        ("an open brace", b"{".to_vec()),
        ("not JSON", b"not json at all".to_vec()),
        ("a missing value", br#"{"email":}"#.to_vec()),
        ("an unclosed array", b"[1, 2".to_vec()),
        ("trailing garbage", b"{} and more".to_vec()),
        ("invalid UTF-8", b"{\"email\": \"\xff\xfe\xfd\"}".to_vec()),
        (
            "a lone surrogate",
            br#"{"email": "\ud800", "password": "x"}"#.to_vec(),
        ),
        ("a NUL byte", b"{\0}".to_vec()),
        ("100 000 nested arrays", deep.into_bytes()),
        ("a single quote string", b"{'email': 'x'}".to_vec()),
    ];
    let json = "application/json";
    for (method, path, token, valid, shapes) in &endpoints {
        let label = |what: &str| format!("{method} {path}: {what}");
        for (what, body) in &malformed {
            let r = p
                .json(
                    &label(what),
                    *token,
                    method.clone(),
                    path,
                    Some(json),
                    body.clone(),
                )
                .await;
            assert!(
                r.is(400, ErrorCode::BadRequest),
                "{}: {}",
                label(what),
                r.show()
            );
            assert!(
                !r.error().expect("error body").message.is_empty(),
                "{}",
                label(what)
            );
        }
        // JSON of the wrong shape or type.
        let generic = ["null", "[]", r#""text""#, "42", "{}", "true"];
        for body in generic.iter().chain(shapes) {
            let what = format!("shape {body}");
            let r = p
                .json(
                    &label(&what),
                    *token,
                    method.clone(),
                    path,
                    Some(json),
                    body.to_string(),
                )
                .await;
            assert!(
                r.is(400, ErrorCode::BadRequest),
                "{}: {}",
                label(&what),
                r.show()
            );
        }
        // A valid body under the wrong content type.
        let valid = serde_json::to_vec(valid).expect("json");
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/jsonx"),
            Some("application/octet-stream"),
        ] {
            let what = format!("content type {ct:?}");
            let r = p
                .json(
                    &label(&what),
                    *token,
                    method.clone(),
                    path,
                    ct,
                    valid.clone(),
                )
                .await;
            assert!(
                r.is(415, ErrorCode::UnsupportedMediaType),
                "{}: {}",
                label(&what),
                r.show()
            );
        }
        // A body over the 2 MiB limit.
        let mut big = br#"{"name": ""#.to_vec();
        big.resize(kvits_sync_server::MAX_JSON_BODY + 1024, b'a');
        big.extend_from_slice(br#""}"#);
        let r = p
            .json(
                &label("over 2 MiB"),
                *token,
                method.clone(),
                path,
                Some(json),
                big,
            )
            .await;
        assert!(
            r.is(413, ErrorCode::TooLarge),
            "{}: {}",
            label("over 2 MiB"),
            r.show()
        );
    }
    // Nothing was made: no user, invitation, token, company or row.
    assert_eq!(p.count("SELECT count(*) FROM users").await, users);
    assert_eq!(
        p.count("SELECT count(*) FROM invitations").await,
        invitations
    );
    assert_eq!(p.count("SELECT count(*) FROM tokens").await, tokens);
    assert_eq!(
        p.count("SELECT count(*) FROM mutation_results").await,
        0,
        "no push was read"
    );
    p.finish(counter).await;
}

#[tokio::test]
async fn pushes_of_the_wrong_shape_are_refused_whole_or_one_by_one_and_apply_nothing() {
    let srv = TestServer::start().await;
    let p = Probe::new(&srv);
    let mut emma = srv.device("emma@demo.kvits").await;
    let counter = p.counter().await;
    let push = |body: serde_json::Value| {
        p.req(Some(&emma.token), Method::POST, "/v1/sync/push")
            .json(&body)
    };
    let client = emma.client;
    let valid_create = |seq: u64| {
        serde_json::json!({
            "seq": seq, "created_at": "2026-11-23T10:00:00Z",
            "name": "create_expense.v1",
            "args": {
                "expense_id": new_uuid(), "company_id": srv.demo.company("Birch Bakery"),
                "document_type": "receipt", "fields": {}
            }
        })
    };

    // A mutation that cannot be placed in the queue (no whole-number seq) refuses the whole
    // push: the valid mutation before it is not applied either.
    for bad in [
        serde_json::json!({"name": "create_expense.v1"}),
        serde_json::json!({"seq": "2", "name": "delete_expense.v1"}),
        serde_json::json!({"seq": -2}),
        serde_json::json!({"seq": 2.5}),
        serde_json::json!({"seq": 1e30}),
        serde_json::json!(5),
        serde_json::json!("delete everything"),
        serde_json::Value::Null,
    ] {
        let label = format!("push [valid, {bad}]");
        let r = p
            .send(
                &label,
                push(serde_json::json!({"client_id": client, "mutations": [valid_create(1), bad]})),
            )
            .await;
        assert!(r.is(400, ErrorCode::BadRequest), "{label}: {}", r.show());
    }
    let raw_body = format!(
        r#"{{"client_id": "{client}", "mutations": [{{"seq": 18446744073709551616, "name": "x"}}]}}"#
    );
    let r = p
        .json(
            "push seq beyond u64",
            Some(&emma.token),
            Method::POST,
            "/v1/sync/push",
            Some("application/json"),
            raw_body,
        )
        .await;
    assert!(r.is(400, ErrorCode::BadRequest), "{}", r.show());
    // Seqs out of order, from zero, or with a gap inside the batch: 400; a batch starting
    // beyond the next expected seq: 409 with the expected one.
    for (what, seqs, status) in [
        ("seq 0", vec![0], 400),
        ("a gap inside", vec![1, 3], 400),
        ("backwards", vec![2, 1], 400),
        ("from the future", vec![5, 6], 409),
    ] {
        let mutations: Vec<_> = seqs.iter().map(|s| valid_create(*s)).collect();
        let r = p
            .send(
                what,
                push(serde_json::json!({"client_id": client, "mutations": mutations})),
            )
            .await;
        assert_eq!(r.status, status, "{what}: {}", r.show());
    }
    assert_eq!(
        p.counter().await,
        counter,
        "nothing of a refused push is applied"
    );
    assert_eq!(emma.pull_from(0, None).await.last_seq, 0);

    // A mutation with a seq that the server cannot read is refused on its own (the queue moves
    // on); nothing of it is written.
    let unreadable = [
        (
            "an unknown mutation",
            serde_json::json!({"name": "drop_tables.v1", "args": {}}),
        ),
        ("no args", serde_json::json!({"name": "submit_expense.v1"})),
        (
            "args of the wrong type",
            serde_json::json!({"name": "submit_expense.v1", "args": {"expense_id": 5}}),
        ),
        (
            "a path as an id",
            serde_json::json!({"name": "submit_expense.v1", "args": {"expense_id": "../../etc/passwd"}}),
        ),
        (
            "a missing created_at",
            serde_json::json!({"name": "submit_expense.v1", "args": {"expense_id": new_uuid()}, "created_at": null}),
        ),
        (
            "a created_at that is no time",
            serde_json::json!({"name": "submit_expense.v1", "args": {"expense_id": new_uuid()}, "created_at": "yesterday"}),
        ),
        (
            "an amount in floats",
            serde_json::json!({"name": "create_expense.v1", "args": {"expense_id": new_uuid(), "company_id": srv.demo.company("Birch Bakery"), "document_type": "receipt", "fields": {"amount": {"amount_minor": 12.5, "currency": "EUR"}}}}),
        ),
        (
            "an amount beyond i64",
            serde_json::json!({"name": "create_expense.v1", "args": {"expense_id": new_uuid(), "company_id": srv.demo.company("Birch Bakery"), "document_type": "receipt", "fields": {"amount": {"amount_minor": 1e30, "currency": "EUR"}}}}),
        ),
        (
            "a date that does not exist",
            serde_json::json!({"name": "create_expense.v1", "args": {"expense_id": new_uuid(), "company_id": srv.demo.company("Birch Bakery"), "document_type": "receipt", "fields": {"date": "2026-02-30"}}}),
        ),
        (
            "an unknown document type",
            serde_json::json!({"name": "create_expense.v1", "args": {"expense_id": new_uuid(), "company_id": srv.demo.company("Birch Bakery"), "document_type": "poem", "fields": {}}}),
        ),
        (
            "an unknown decision",
            serde_json::json!({"name": "decide_expense.v1", "args": {"expense_id": new_uuid(), "seen_revision": 1, "decision": "maybe"}}),
        ),
        (
            "a negative revision",
            serde_json::json!({"name": "decide_expense.v1", "args": {"expense_id": new_uuid(), "seen_revision": -1, "decision": "approve"}}),
        ),
        (
            "100 nested arrays as args",
            serde_json::from_str::<serde_json::Value>(&format!(
                r#"{{"name": "submit_expense.v1", "args": {}{}}}"#,
                "[".repeat(100),
                "]".repeat(100)
            ))
            .expect("nested"),
        ),
    ];
    let mut mutations = Vec::new();
    for (i, (_, m)) in unreadable.iter().enumerate() {
        let mut m = m.clone();
        m["seq"] = serde_json::json!(i + 1);
        if m.get("created_at").is_none() {
            m["created_at"] = serde_json::json!("2026-11-23T10:00:00Z");
        }
        mutations.push(m);
    }
    let r = p
        .send(
            "push of unreadable mutations",
            push(serde_json::json!({"client_id": client, "mutations": mutations})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.show());
    let response: PushResponse = serde_json::from_slice(&r.body).expect("push response");
    let by_seq = outcomes(&response);
    for (i, (what, _)) in unreadable.iter().enumerate() {
        assert!(
            is_rejected(by_seq.get(&(i as u64 + 1)), RejectCode::Invalid),
            "{what}: {:?}",
            by_seq.get(&(i as u64 + 1))
        );
    }
    emma.next_seq = unreadable.len() as u64 + 1;
    assert_eq!(p.counter().await, counter);

    // Unknown fields are ignored (the protocol's compatibility rule): a valid push with
    // extra fields is applied.
    let mut create = valid_create(emma.next_seq);
    create["colour"] = serde_json::json!("blue");
    let r = p
        .send(
            "push with unknown fields",
            push(serde_json::json!({"client_id": client, "mutations": [create], "priority": 9})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.show());
    let response: PushResponse = serde_json::from_slice(&r.body).expect("push response");
    assert_eq!(response.results[0].outcome, Outcome::Applied);
    p.finish(counter + 1).await;
}

#[tokio::test]
async fn too_many_mutations_or_bytes_are_413_and_nothing_is_applied() {
    let srv = TestServer::start().await;
    let p = Probe::new(&srv);
    let mut emma = srv.device("emma@demo.kvits").await;
    let counter = p.counter().await;
    let deletes = |d: &mut Device, n: usize| -> Vec<_> {
        (0..n)
            .map(|_| {
                d.queue(Mutation::DeleteExpense {
                    expense_id: ExpenseId(new_uuid()),
                })
            })
            .collect()
    };
    let push = |d: &Device, batch: &[kvits_protocol::PendingMutation]| {
        p.req(Some(&d.token), Method::POST, "/v1/sync/push")
            .json(&serde_json::json!({"client_id": d.client, "mutations": batch}))
    };

    // One more than allowed: 413, none processed.
    let batch = deletes(&mut emma, MAX_PUSH_MUTATIONS + 1);
    let r = p
        .send("push of MAX_PUSH_MUTATIONS + 1", push(&emma, &batch))
        .await;
    assert!(r.is(413, ErrorCode::TooLarge), "{}", r.show());
    assert_eq!(emma.pull_from(0, None).await.last_seq, 0);
    // Exactly the limit is fine.
    emma.next_seq = 1;
    let batch = deletes(&mut emma, MAX_PUSH_MUTATIONS);
    let r = p
        .send("push of MAX_PUSH_MUTATIONS", push(&emma, &batch))
        .await;
    assert_eq!(r.status, 200, "{}", r.show());
    let response: PushResponse = serde_json::from_slice(&r.body).expect("push");
    assert_eq!(response.results.len(), MAX_PUSH_MUTATIONS);
    assert!(
        response
            .results
            .iter()
            .all(|r| r.outcome == Outcome::AlreadyApplied)
    );

    // Over 2 MiB of JSON (a 3 MB merchant name), with a Content-Length: 413.
    let seq = emma.next_seq;
    let huge = Mutation::CreateExpense {
        expense_id: ExpenseId(new_uuid()),
        company_id: srv.demo.company("Birch Bakery"),
        document_type: DocumentType::Receipt,
        fields: ExpenseFields {
            merchant: Some("m".repeat(3_000_000)),
            ..ExpenseFields::default()
        },
    };
    let batch = vec![emma.queue(huge)];
    let r = p.send("push over 2 MiB", push(&emma, &batch)).await;
    assert!(r.is(413, ErrorCode::TooLarge), "{}", r.show());
    // The same without a Content-Length (chunked): still 413.
    let body =
        serde_json::to_vec(&serde_json::json!({"client_id": emma.client, "mutations": batch}))
            .expect("json");
    let mut chunked = Vec::new();
    for piece in body.chunks(64 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let head = format!(
        "POST /v1/sync/push HTTP/1.1\r\nHost: kvits\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        emma.token
    );
    let r = p.raw("chunked push over 2 MiB", &head, &chunked).await;
    assert!(r.is(413, ErrorCode::TooLarge), "{}", r.show());
    // Nothing of either was applied; the queue still expects the huge one's seq.
    let pulled = emma.pull_from(0, None).await;
    assert_eq!(pulled.last_seq, seq - 1);
    p.finish(counter).await;
}

// ---------------------------------------------------------------------------------------------
// Queries

#[tokio::test]
async fn absurd_pull_and_approvals_queries_are_400_or_clamped() {
    let srv = TestServer::start().await;
    let p = Probe::new(&srv);
    let probe = &p;
    let emma = srv.device("emma@demo.kvits").await;
    let counter = p.counter().await;
    let client = emma.client;
    let pull = |query: String| {
        let label = format!("pull {query}");
        let rb = p.req(
            Some(&emma.token),
            Method::GET,
            &format!("/v1/sync/pull?{query}"),
        );
        async move { (label.clone(), probe.send(&label, rb).await) }
    };
    let page = |r: &Reply| -> PullResponse { serde_json::from_slice(&r.body).expect("page") };

    // Refused: not numbers, negative, beyond their type, not an id, missing.
    for query in [
        format!("client_id={client}&limit=-1"),
        format!("client_id={client}&limit=abc"),
        format!("client_id={client}&limit=10000000000"),
        format!("client_id={client}&wait=-5"),
        format!("client_id={client}&wait=4294967296"),
        format!("client_id={client}&cursor=-1"),
        format!("client_id={client}&cursor=abc"),
        format!("client_id={client}&cursor=1.5"),
        format!("client_id={client}&cursor=18446744073709551616"),
        format!("client_id={client}&results_after=-1"),
        "client_id=garbage".to_owned(),
        "client_id=".to_owned(),
        "client_id=..%2F..%2Fetc%2Fpasswd".to_owned(),
        "cursor=0".to_owned(),
        String::new(),
    ] {
        let (label, r) = pull(query).await;
        assert!(r.is(400, ErrorCode::BadRequest), "{label}: {}", r.show());
    }

    // Clamped: a page of at least one row, at most MAX_PULL_LIMIT.
    let (label, r) = pull(format!("client_id={client}&limit=0")).await;
    assert_eq!(r.status, 200, "{label}: {}", r.show());
    let one = page(&r);
    assert!(one.changes.len() <= 1, "{label}");
    assert!(one.has_more);
    let (label, r) = pull(format!("client_id={client}&limit=1000000000")).await;
    assert_eq!(r.status, 200, "{label}: {}", r.show());
    let all = page(&r);
    assert!(all.changes.len() <= kvits_protocol::MAX_PULL_LIMIT as usize);
    assert!(!all.has_more && all.changes.len() > 1);
    // A wait of 30 years with something to send answers at once.
    let started = std::time::Instant::now();
    let (label, r) = pull(format!("client_id={client}&cursor=0&wait=1000000000")).await;
    assert_eq!(r.status, 200, "{label}: {}", r.show());
    assert!(started.elapsed() < Duration::from_secs(5));
    // A cursor from the future (or another server life) starts over.
    let (label, r) = pull(format!("client_id={client}&cursor=18446744073709551615")).await;
    assert_eq!(r.status, 200, "{label}: {}", r.show());
    let reset = page(&r);
    assert!(reset.reset && reset.cursor == 0 && reset.changes.is_empty());
    // Unknown parameters are ignored.
    let (label, r) = pull(format!("client_id={client}&colour=blue")).await;
    assert_eq!(r.status, 200, "{label}: {}", r.show());
    // Results beyond any seq: none.
    let (label, r) = pull(format!(
        "client_id={client}&results_after=9223372036854775807"
    ))
    .await;
    assert_eq!(r.status, 200, "{label}: {}", r.show());
    assert!(page(&r).results.is_empty());

    // Approvals: a company id that is not one is 400; an unknown one lists nothing.
    for (query, status) in [
        ("company_id=garbage".to_owned(), 400),
        ("company_id=".to_owned(), 400),
        (format!("company_id={}", new_uuid()), 200),
    ] {
        let label = format!("approvals {query}");
        let r = p
            .send(
                &label,
                p.req(
                    Some(&emma.token),
                    Method::GET,
                    &format!("/v1/approvals?{query}"),
                ),
            )
            .await;
        assert_eq!(r.status, status, "{label}: {}", r.show());
    }
    p.finish(counter).await;
}

/// `results_after` is a `u64`: one beyond `i64::MAX` must not read as "every result".
#[tokio::test]
async fn results_after_beyond_i64_returns_no_results() {
    let srv = TestServer::start().await;
    let mut emma = srv.device("emma@demo.kvits").await;
    emma.run(Mutation::DeleteExpense {
        expense_id: ExpenseId(new_uuid()),
    })
    .await;
    let r = emma
        .get(&format!(
            "/v1/sync/pull?client_id={}&results_after=18446744073709551615",
            emma.client
        ))
        .await;
    assert_eq!(r.status(), 200);
    let page: PullResponse = r.json().await.expect("page");
    assert!(
        page.results.is_empty(),
        "results after seq u64::MAX: {:?}",
        page.results
    );
}

// ---------------------------------------------------------------------------------------------
// Ids in paths

#[tokio::test]
async fn ids_that_are_not_ids_are_404_and_touch_no_file() {
    let srv = TestServer::start().await;
    let p = Probe::new(&srv);
    let emma = srv.login("emma@demo.kvits").await;
    let clara = srv.login("clara@demo.kvits").await;
    let counter = p.counter().await;
    // Something to find if a path escaped, and a blob to aim next to.
    std::fs::write(srv.dir.join("secret.txt"), b"secret").expect("write");
    let photo = common::receipt(0);
    let sha = sha_hex(&photo);
    let r = p
        .send(
            "upload start",
            p.req(Some(&emma), Method::POST, "/v1/uploads")
                .header(UPLOAD_LENGTH, photo.len().to_string())
                .header(UPLOAD_SHA256, &sha),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.show());
    let upload: UploadStatus = serde_json::from_slice(&r.body).expect("status");
    let r = p
        .send(
            "upload",
            p.req(
                Some(&emma),
                Method::PATCH,
                &format!("/v1/uploads/{}", upload.upload_id),
            )
            .header("content-type", OFFSET_CONTENT_TYPE)
            .header(UPLOAD_OFFSET, "0")
            .header(UPLOAD_CHECKSUM, checksum(&photo))
            .body(photo.clone()),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.show());
    let files_before = files(&srv.dir);
    let blobs = p.count("SELECT count(*) FROM blobs").await;

    let birch = srv.demo.company("Birch Bakery");
    let emma_id = srv.demo.user("emma@demo.kvits");
    let firm = srv.demo.firm;
    let long = "a".repeat(10_000);
    let long_hex = "0".repeat(10_000);
    let object_path = format!("{firm}%2F{}%2F{sha}", &sha[..2]);
    let chunk = b"0123456789";
    let patch_headers = format!(
        "Content-Type: {OFFSET_CONTENT_TYPE}\r\n{UPLOAD_OFFSET}: 0\r\n{UPLOAD_CHECKSUM}: {}\r\n\
         Content-Length: {}\r\n",
        checksum(chunk),
        chunk.len()
    );
    let invite = br#"{"email": "x@demo.kvits", "name": "X", "roles": ["employee"]}"#;
    let roles = br#"{"roles": ["company_admin"]}"#;
    let json_headers =
        |len: usize| format!("Content-Type: application/json\r\nContent-Length: {len}\r\n");
    // (method, target, token, extra headers, body)
    let mut cases: Vec<(&str, String, &str, String, Vec<u8>)> = Vec::new();
    for id in [
        "not-a-uuid".to_owned(),
        "..%2F..%2Fsecret.txt".to_owned(),
        "%2e%2e".to_owned(),
        "%00".to_owned(),
        long.clone(),
        format!("{birch}%00"),
        format!("{birch}..%2F"),
    ] {
        cases.push((
            "POST",
            format!("/v1/companies/{id}/users"),
            clara.as_str(),
            json_headers(invite.len()),
            invite.to_vec(),
        ));
        cases.push((
            "PUT",
            format!("/v1/companies/{id}/users/{emma_id}/roles"),
            clara.as_str(),
            json_headers(roles.len()),
            roles.to_vec(),
        ));
        cases.push((
            "PUT",
            format!("/v1/companies/{birch}/users/{id}/roles"),
            clara.as_str(),
            json_headers(roles.len()),
            roles.to_vec(),
        ));
    }
    for id in [
        "..%2F..%2Fetc%2Fpasswd",
        "..%2F..%2Fsecret.txt",
        "..",
        "%2e%2e",
        "%2e%2e%2fsecret.txt",
        "%00",
        "not-a-uuid",
        long_hex.as_str(),
    ] {
        cases.push((
            "HEAD",
            format!("/v1/uploads/{id}"),
            emma.as_str(),
            String::new(),
            Vec::new(),
        ));
        cases.push((
            "PATCH",
            format!("/v1/uploads/{id}"),
            emma.as_str(),
            patch_headers.clone(),
            chunk.to_vec(),
        ));
    }
    for tail in [
        "../../x".to_owned(),
        "../../secret.txt".to_owned(),
        "..%2F..%2Fsecret.txt".to_owned(),
        "%2e%2e".to_owned(),
        "%2e%2e%2f%2e%2e%2fsecret.txt".to_owned(),
        "%2e%2e%2fkvits.sqlite3".to_owned(),
        "..%5c..%5csecret.txt".to_owned(),
        "%00".to_owned(),
        format!("{sha}%00"),
        format!("{sha}%2F..%2F..%2Fsecret.txt"),
        sha.to_uppercase(),
        object_path.clone(),
        long.clone(),
        long_hex.clone(),
    ] {
        for method in ["GET", "HEAD"] {
            cases.push((
                method,
                format!("/v1/blobs/{tail}"),
                &emma,
                String::new(),
                Vec::new(),
            ));
        }
        cases.push((
            "GET",
            format!("/v1/blobs/{tail}/thumbnail"),
            emma.as_str(),
            String::new(),
            Vec::new(),
        ));
    }
    for (method, target, token, headers, body) in &cases {
        let head = format!(
            "{method} {target} HTTP/1.1\r\nHost: kvits\r\nAuthorization: Bearer {token}\r\n\
             {headers}Connection: close\r\n\r\n"
        );
        let label = format!("{method} {}", target.chars().take(120).collect::<String>());
        let r = p.raw(&label, &head, body).await;
        assert_eq!(r.status, 404, "{label}: {}", r.show());
        if *method != "HEAD" {
            assert_eq!(r.code(), Some(ErrorCode::NotFound), "{label}: {}", r.show());
        }
    }
    // Ids far longer than any URI a client sends: a 4xx from the HTTP layer.
    let huge = "a".repeat(100_000);
    for target in [format!("/v1/blobs/{huge}"), format!("/v1/uploads/{huge}")] {
        let head = format!(
            "GET {target} HTTP/1.1\r\nHost: kvits\r\nAuthorization: Bearer {emma}\r\n\
             Connection: close\r\n\r\n"
        );
        let r = p.raw("GET a 100 KB id", &head, &[]).await;
        assert!((400..500).contains(&r.status), "{}", r.show());
    }
    // The real blob is still reachable by its name, and nothing else moved.
    let r = p
        .send(
            "GET the real blob",
            p.req(Some(&emma), Method::GET, &format!("/v1/blobs/{sha}")),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(sha_hex(&r.body), sha);
    assert_eq!(files(&srv.dir), files_before);
    assert_eq!(
        std::fs::read(srv.dir.join("secret.txt")).expect("kept"),
        b"secret"
    );
    assert_eq!(p.count("SELECT count(*) FROM blobs").await, blobs);
    assert_eq!(p.count("SELECT count(*) FROM uploads").await, 0);
    p.finish(counter).await;
}

// ---------------------------------------------------------------------------------------------
// Strings and numbers inside mutations

fn page(sha: &str) -> ReceiptPage {
    ReceiptPage {
        sha256: sha.to_owned(),
        size: 180_000,
        content_type: "image/jpeg".into(),
        width: 1512,
        height: 2016,
    }
}

#[tokio::test]
async fn invalid_strings_and_numbers_in_mutations_are_rejected_invalid_and_write_nothing() {
    let srv = TestServer::start().await;
    let p = Probe::new(&srv);
    let mut emma = srv.device("emma@demo.kvits").await;
    let mut anna = srv.device("anna@demo.kvits").await;
    let mut clara = srv.device("clara@demo.kvits").await;
    let birch = srv.demo.company("Birch Bakery");
    let start = p.counter().await;

    // Valid: Emma's draft, and a conversation Clara can answer in.
    let draft = ExpenseId(new_uuid());
    let r = emma
        .run(Mutation::CreateExpense {
            expense_id: draft,
            company_id: birch,
            document_type: DocumentType::Receipt,
            fields: emma_fields(&srv),
        })
        .await;
    assert_eq!(r.outcome, Outcome::Applied);
    let broadcast = MessageId(new_uuid());
    let r = anna
        .run(Mutation::SendMessage {
            message_id: broadcast,
            company_ids: vec![birch],
            subject: "Hello".into(),
            body: "Hello Birch".into(),
            attachment: None,
        })
        .await;
    assert_eq!(r.outcome, Outcome::Applied);
    let thread = kvits_protocol::ThreadId::for_recipient(broadcast, birch);
    let counter = p.counter().await;
    assert_eq!(counter, start + 3, "a draft, a thread and a message");

    let long = |n: usize| "x".repeat(n);
    let money = |amount_minor: i64, currency: &str| ExpenseFields {
        amount: Some(Money {
            amount_minor,
            currency: currency.into(),
        }),
        ..ExpenseFields::default()
    };
    let text = |merchant: Option<String>, note: Option<String>| ExpenseFields {
        merchant,
        note,
        ..ExpenseFields::default()
    };
    let mut bad_fields: Vec<(String, ExpenseFields)> = vec![
        (
            "a bell in the merchant".into(),
            text(Some("Rimi\u{7}".into()), None),
        ),
        (
            "a NUL in the merchant".into(),
            text(Some("Ri\0mi".into()), None),
        ),
        (
            "an ANSI escape in the note".into(),
            text(None, Some("\u{1b}[31mred".into())),
        ),
        ("a 100 KB merchant".into(), text(Some(long(100_000)), None)),
        ("a 100 KB note".into(), text(None, Some(long(100_000)))),
        ("a negative amount".into(), money(-1, "EUR")),
        ("the most negative amount".into(), money(i64::MIN, "EUR")),
        ("an absurd amount".into(), money(10_000_000_000_001, "EUR")),
        ("the largest amount".into(), money(i64::MAX, "EUR")),
    ];
    for currency in ["eu", "eur", "EURO", "", "€€€", "E R", "E\0R", "12$"] {
        bad_fields.push((format!("currency {currency:?}"), money(100, currency)));
    }
    let create = |fields: ExpenseFields| Mutation::CreateExpense {
        expense_id: ExpenseId(new_uuid()),
        company_id: birch,
        document_type: DocumentType::Receipt,
        fields,
    };
    let mut emmas: Vec<(String, Mutation)> = Vec::new();
    for (what, fields) in &bad_fields {
        emmas.push((format!("create with {what}"), create(fields.clone())));
        emmas.push((
            format!("set fields with {what}"),
            Mutation::SetExpenseFields {
                expense_id: draft,
                fields: fields.clone(),
            },
        ));
    }
    let sha = sha_hex(b"a photo");
    let mut bad_pages: Vec<(&str, Vec<ReceiptPage>)> = vec![
        ("21 pages", vec![page(&sha); 21]),
        ("a path as a sha", vec![page("../../secret.txt")]),
        ("an upper-case sha", vec![page(&sha.to_uppercase())]),
        ("a short sha", vec![page(&sha[..63])]),
    ];
    let mut p0 = page(&sha);
    p0.size = 0;
    let mut p_big = page(&sha);
    p_big.size = MAX_BLOB_BYTES + 1;
    let mut p_w = page(&sha);
    p_w.width = 0;
    let mut p_ct = page(&sha);
    p_ct.content_type = "image/jpeg\0".into();
    let mut p_ct_long = page(&sha);
    p_ct_long.content_type = long(1000);
    bad_pages.extend([
        ("a page of 0 bytes", vec![p0]),
        ("a page over the blob limit", vec![p_big]),
        ("a page 0 pixels wide", vec![p_w]),
        ("a content type with a NUL", vec![p_ct]),
        ("a 1000-character content type", vec![p_ct_long]),
    ]);
    for (what, pages) in bad_pages {
        emmas.push((
            format!("attach {what}"),
            Mutation::AttachReceipt {
                expense_id: draft,
                pages,
            },
        ));
    }
    for (what, reason) in [("a bell", "No\u{7}".to_owned()), ("100 KB", long(100_000))] {
        emmas.push((
            format!("decide with a reason of {what}"),
            Mutation::DecideExpense {
                expense_id: draft,
                seen_revision: 1,
                decision: DecisionKind::Reject,
                reason: Some(reason),
            },
        ));
    }

    let annas: Vec<(String, Mutation)> = {
        let send = |companies: Vec<CompanyId>, subject: String, body: String, attachment| {
            Mutation::SendMessage {
                message_id: MessageId(new_uuid()),
                company_ids: companies,
                subject,
                body,
                attachment,
            }
        };
        let attachment = |sha: &str, size: u64, name: &str| {
            Some(Attachment {
                sha256: sha.to_owned(),
                size,
                content_type: "application/pdf".into(),
                file_name: name.to_owned(),
            })
        };
        let et = |code: &str, name: String| {
            Mutation::PutExpenseType(ExpenseType {
                id: ExpenseTypeId(new_uuid()),
                company_id: birch,
                code: code.into(),
                name,
                active: true,
            })
        };
        let pm = |kind, label: &str, last_four: Option<&str>, holder| {
            Mutation::PutPaymentMethod(PaymentMethod {
                id: PaymentMethodId(new_uuid()),
                company_id: birch,
                payment_kind: kind,
                label: label.into(),
                last_four: last_four.map(Into::into),
                holder_id: holder,
                active: true,
                statement_ref: None,
            })
        };
        let mark = srv.demo.user("mark@demo.kvits");
        let rule = |name: &str, steps: Vec<Vec<UserId>>, min, max, types: Vec<ExpenseTypeId>| {
            Mutation::PutApprovalRule(ApprovalRule {
                id: ApprovalRuleId(new_uuid()),
                company_id: birch,
                name: name.into(),
                position: 5,
                active: true,
                document_type: None,
                expense_type_ids: types,
                min_amount_minor: min,
                max_amount_minor: max,
                currency: "EUR".into(),
                steps: steps
                    .into_iter()
                    .map(|approver_ids| ApprovalStep { approver_ids })
                    .collect(),
            })
        };
        let hello = || "Hello".to_owned();
        vec![
            (
                "message to no company".into(),
                send(vec![], hello(), hello(), None),
            ),
            (
                "message to a company twice".into(),
                send(vec![birch, birch], hello(), hello(), None),
            ),
            (
                "message to 501 companies".into(),
                send(
                    (0..501).map(|_| CompanyId(new_uuid())).collect(),
                    hello(),
                    hello(),
                    None,
                ),
            ),
            (
                "message with a bell in the subject".into(),
                send(vec![birch], "Hi\u{7}".into(), hello(), None),
            ),
            (
                "message with an empty subject".into(),
                send(vec![birch], "  ".into(), hello(), None),
            ),
            (
                "message with a 100 KB body".into(),
                send(vec![birch], hello(), long(100_000), None),
            ),
            (
                "message with a NUL in the body".into(),
                send(vec![birch], hello(), "a\0b".into(), None),
            ),
            (
                "message with a path as attachment".into(),
                send(
                    vec![birch],
                    hello(),
                    hello(),
                    attachment("../../secret.txt", 10, "a.pdf"),
                ),
            ),
            (
                "message with a 0-byte attachment".into(),
                send(vec![birch], hello(), hello(), attachment(&sha, 0, "a.pdf")),
            ),
            (
                "message with a nameless attachment".into(),
                send(vec![birch], hello(), hello(), attachment(&sha, 10, "")),
            ),
            (
                "expense type without a code".into(),
                et("", "Snacks".into()),
            ),
            (
                "expense type with a 33-character code".into(),
                et(&long(33), "Snacks".into()),
            ),
            (
                "expense type with a NUL in the name".into(),
                et("8001", "Sn\0acks".into()),
            ),
            (
                "expense type with a 100 KB name".into(),
                et("8002", long(100_000)),
            ),
            (
                "expense type with a taken code".into(),
                et("6110", "Fuel again".into()),
            ),
            (
                "card without last four".into(),
                pm(PaymentKind::CompanyCard, "Card", None, None),
            ),
            (
                "card with letters in last four".into(),
                pm(PaymentKind::CompanyCard, "Card", Some("12a4"), None),
            ),
            (
                "card with five digits".into(),
                pm(PaymentKind::CompanyCard, "Card", Some("12345"), None),
            ),
            (
                "own money with a card number".into(),
                pm(PaymentKind::OwnMoney, "Cash", Some("1234"), None),
            ),
            (
                "card held by a stranger".into(),
                pm(
                    PaymentKind::CompanyCard,
                    "Card",
                    Some("1234"),
                    Some(UserId(new_uuid())),
                ),
            ),
            (
                "payment method without a label".into(),
                pm(PaymentKind::OwnMoney, "", None, None),
            ),
            (
                "rule without steps".into(),
                rule("R", vec![], None, None, vec![]),
            ),
            (
                "rule with an empty step".into(),
                rule("R", vec![vec![]], None, None, vec![]),
            ),
            (
                "rule with 11 steps".into(),
                rule("R", vec![vec![mark]; 11], None, None, vec![]),
            ),
            (
                "rule naming an approver twice".into(),
                rule("R", vec![vec![mark, mark]], None, None, vec![]),
            ),
            (
                "rule naming an employee".into(),
                rule(
                    "R",
                    vec![vec![srv.demo.user("emma@demo.kvits")]],
                    None,
                    None,
                    vec![],
                ),
            ),
            (
                "rule with min above max".into(),
                rule("R", vec![vec![mark]], Some(500), Some(100), vec![]),
            ),
            (
                "rule with a negative limit".into(),
                rule("R", vec![vec![mark]], Some(-5), None, vec![]),
            ),
            (
                "rule with an unknown expense type".into(),
                rule(
                    "R",
                    vec![vec![mark]],
                    None,
                    None,
                    vec![ExpenseTypeId(new_uuid())],
                ),
            ),
            (
                "rule without a name".into(),
                rule(" ", vec![vec![mark]], None, None, vec![]),
            ),
        ]
    };
    let claras: Vec<(String, Mutation)> = [
        ("an empty reply", String::new()),
        ("a reply with a NUL", "a\0b".to_owned()),
        ("a 100 KB reply", long(100_000)),
    ]
    .into_iter()
    .map(|(what, body)| {
        (
            what.to_owned(),
            Mutation::ReplyMessage {
                message_id: MessageId(new_uuid()),
                thread_id: thread,
                body,
                attachment: None,
            },
        )
    })
    .collect();

    for (device, cases) in [(&mut emma, emmas), (&mut anna, annas), (&mut clara, claras)] {
        let batch: Vec<_> = cases.iter().map(|(_, m)| device.queue(m.clone())).collect();
        let r = p
            .send(
                "push of invalid mutations",
                p.req(Some(&device.token), Method::POST, "/v1/sync/push")
                    .json(&serde_json::json!({"client_id": device.client, "mutations": batch})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.show());
        let response: PushResponse = serde_json::from_slice(&r.body).expect("push");
        assert!(response.halted.is_none(), "{:?}", response.halted);
        let by_seq = outcomes(&response);
        for ((what, _), pending) in cases.iter().zip(&batch) {
            assert!(
                is_rejected(by_seq.get(&pending.seq), RejectCode::Invalid),
                "{what}: {:?}",
                by_seq.get(&pending.seq)
            );
        }
    }
    // 10 000 pages (about 1.5 MB of JSON): invalid.
    let r = emma
        .run(Mutation::AttachReceipt {
            expense_id: draft,
            pages: vec![page(&sha); 10_000],
        })
        .await;
    assert!(is_rejected(Some(&r.outcome), RejectCode::Invalid), "{r:?}");
    // A message to a company of the firm and one that is not: refused whole, no thread for
    // the first.
    let partial = MessageId(new_uuid());
    let r = anna
        .run(Mutation::SendMessage {
            message_id: partial,
            company_ids: vec![birch, CompanyId(new_uuid())],
            subject: "Hello".into(),
            body: "Hello".into(),
            attachment: None,
        })
        .await;
    assert!(is_rejected(Some(&r.outcome), RejectCode::NotFound), "{r:?}");
    assert_eq!(
        p.counter().await,
        counter,
        "no invalid mutation wrote a row"
    );
    let rows = anna.pull_from(0, Some(1000)).await;
    assert!(rows.changes.iter().all(|c| match &c.op {
        kvits_protocol::ChangeOp::Upsert { entity } =>
            entity.id() != kvits_protocol::ThreadId::for_recipient(partial, birch).0,
        kvits_protocol::ChangeOp::Delete { .. } => true,
    }));
    p.finish(counter).await;
}

#[tokio::test]
async fn invalid_strings_on_the_company_and_auth_endpoints_are_400_and_make_nobody() {
    let srv = TestServer::start().await;
    let p = Probe::new(&srv);
    let probe = &p;
    let anna = srv.login("anna@demo.kvits").await;
    let paula = srv.login("paula@demo.kvits").await;
    let clara = srv.login("clara@demo.kvits").await;
    let counter = p.counter().await;
    let users = p.count("SELECT count(*) FROM users").await;
    let invitations = p.count("SELECT count(*) FROM invitations").await;
    let memberships = p.count("SELECT count(*) FROM memberships").await;
    let birch = srv.demo.company("Birch Bakery");
    let emma_id = srv.demo.user("emma@demo.kvits");
    let long = "x".repeat(10_000);
    let send =
        |label: String, token: &str, method: Method, path: String, body: serde_json::Value| {
            let rb = p.req(Some(token), method, &path).json(&body);
            async move { (label.clone(), probe.send(&label, rb).await) }
        };

    for name in [
        "",
        "   ",
        "Pine\u{7}",
        "Pine\0Pharmacy",
        "Line\nbreak",
        long.as_str(),
    ] {
        let (label, r) = send(
            format!(
                "create company {:?}",
                name.chars().take(20).collect::<String>()
            ),
            &paula,
            Method::POST,
            "/v1/companies".into(),
            serde_json::json!({"name": name}),
        )
        .await;
        assert!(r.is(400, ErrorCode::BadRequest), "{label}: {}", r.show());
    }
    // Only firm admins add or change client companies.
    for (method, path) in [
        (Method::POST, "/v1/companies".to_owned()),
        (Method::PUT, format!("/v1/companies/{birch}")),
    ] {
        let (label, r) = send(
            format!("an accountant's {method} company"),
            &anna,
            method,
            path,
            serde_json::json!({"name": "Pine"}),
        )
        .await;
        assert!(r.is(403, ErrorCode::Forbidden), "{label}: {}", r.show());
    }
    // Details that are not what they claim, on a new company and on an existing one (which
    // keeps its details).
    let birch_before = p
        .count("SELECT count(*) FROM entities WHERE kind = 'company'")
        .await;
    for (what, details) in [
        (
            "currency",
            serde_json::json!({"name": "Pine", "base_currency": "EURO"}),
        ),
        (
            "country",
            serde_json::json!({"name": "Pine", "country": "XX"}),
        ),
        (
            "country name",
            serde_json::json!({"name": "Pine", "country": "Latvia"}),
        ),
        (
            "time zone",
            serde_json::json!({"name": "Pine", "time_zone": "Mars/Olympus"}),
        ),
        (
            "VAT number",
            serde_json::json!({"name": "Pine", "vat_number": "12"}),
        ),
        (
            "VAT prefix",
            serde_json::json!({"name": "Pine", "vat_number": "4000301234"}),
        ),
        (
            "registration number",
            serde_json::json!({"name": "Pine", "registration_number": "<script>"}),
        ),
    ] {
        for (method, path) in [
            (Method::POST, "/v1/companies".to_owned()),
            (Method::PUT, format!("/v1/companies/{birch}")),
        ] {
            let (label, r) = send(
                format!("{method} company with a bad {what}"),
                &paula,
                method,
                path,
                details.clone(),
            )
            .await;
            assert!(r.is(400, ErrorCode::BadRequest), "{label}: {}", r.show());
        }
    }
    assert_eq!(
        p.count("SELECT count(*) FROM entities WHERE kind = 'company'")
            .await,
        birch_before
    );
    let long_email = format!("{long}@demo.kvits");
    let invites = [
        serde_json::json!({"email": "", "name": "N", "roles": ["employee"]}),
        serde_json::json!({"email": "not-an-email", "name": "N", "roles": ["employee"]}),
        serde_json::json!({"email": "a@b", "name": "N", "roles": ["employee"]}),
        serde_json::json!({"email": "a b@demo.kvits", "name": "N", "roles": ["employee"]}),
        serde_json::json!({"email": "a@demo.kvits\u{0}", "name": "N", "roles": ["employee"]}),
        serde_json::json!({"email": long_email, "name": "N", "roles": ["employee"]}),
        serde_json::json!({"email": "n@demo.kvits", "name": "", "roles": ["employee"]}),
        serde_json::json!({"email": "n@demo.kvits", "name": "N\u{7}", "roles": ["employee"]}),
        serde_json::json!({"email": "n@demo.kvits", "name": long, "roles": ["employee"]}),
        serde_json::json!({"email": "n@demo.kvits", "name": "N", "roles": []}),
        serde_json::json!({"email": "n@demo.kvits", "name": "N", "roles": ["accountant"]}),
        serde_json::json!({"email": "emma@demo.kvits", "name": "N", "roles": ["accountant"]}),
    ];
    for body in invites {
        let (label, r) = send(
            format!(
                "invite {}",
                body.to_string().chars().take(80).collect::<String>()
            ),
            &clara,
            Method::POST,
            format!("/v1/companies/{birch}/users"),
            body,
        )
        .await;
        assert!(r.is(400, ErrorCode::BadRequest), "{label}: {}", r.show());
    }
    let (label, r) = send(
        "set roles accountant".into(),
        &clara,
        Method::PUT,
        format!("/v1/companies/{birch}/users/{emma_id}/roles"),
        serde_json::json!({"roles": ["employee", "accountant"]}),
    )
    .await;
    assert!(r.is(400, ErrorCode::BadRequest), "{label}: {}", r.show());

    // Accepting an invitation with a token that is none: 404 whatever the password, which is
    // looked at (and hashed) only for a live invitation.
    for (token, password, status) in [
        (
            "kvi_unknown".to_owned(),
            "a long enough password".to_owned(),
            404,
        ),
        ("x".repeat(10_000), "a long enough password".to_owned(), 404),
        (String::new(), "a long enough password".to_owned(), 404),
        ("kvi_unknown".to_owned(), "short".to_owned(), 404),
        ("kvi_unknown".to_owned(), "p".repeat(1025), 404),
        ("kvi_unknown".to_owned(), "p".repeat(10_000), 404),
    ] {
        let label = format!("accept invitation {} / {}", token.len(), password.len());
        let r = p
            .send(
                &label,
                p.req(None, Method::POST, "/v1/auth/accept-invitation")
                    .json(&serde_json::json!({"token": token, "password": password})),
            )
            .await;
        assert_eq!(r.status, status, "{label}: {}", r.show());
    }
    assert_eq!(p.count("SELECT count(*) FROM users").await, users);
    assert_eq!(
        p.count("SELECT count(*) FROM invitations").await,
        invitations
    );
    assert_eq!(
        p.count("SELECT count(*) FROM memberships").await,
        memberships
    );
    p.finish(counter).await;
}

/// Receipt dates outside any plausible range should be refused like other invalid fields.
#[tokio::test]
async fn dates_out_of_range_are_rejected_invalid() {
    let srv = TestServer::start().await;
    let mut emma = srv.device("emma@demo.kvits").await;
    let counter = Probe::new(&srv).counter().await;
    let mut applied = Vec::new();
    for date in [
        "0001-01-01",
        "-0001-12-31",
        "1000-06-15",
        "9999-12-31",
        "+10000-01-01",
    ] {
        let mut fields = emma_fields(&srv);
        fields.date = Some(date.parse().expect("a date chrono reads"));
        let r = emma
            .run(Mutation::CreateExpense {
                expense_id: ExpenseId(new_uuid()),
                company_id: srv.demo.company("Birch Bakery"),
                document_type: DocumentType::Receipt,
                fields,
            })
            .await;
        if !is_rejected(Some(&r.outcome), RejectCode::Invalid) {
            applied.push((date, r.outcome));
        }
    }
    assert!(applied.is_empty(), "dates accepted: {applied:?}");
    assert_eq!(Probe::new(&srv).counter().await, counter);
}

// ---------------------------------------------------------------------------------------------
// Uploads

/// Pseudo-random bytes (a hash chain).
fn noise(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 32);
    let mut block = Sha256::digest(b"noise").to_vec();
    while out.len() < n {
        out.extend_from_slice(&block);
        block = Sha256::digest(&block).to_vec();
    }
    out.truncate(n);
    out
}

#[tokio::test]
async fn non_images_bombs_and_bad_upload_headers_are_4xx_and_leave_nothing() {
    let srv = TestServer::start().await;
    let p = Probe::new(&srv);
    let probe = &p;
    let emma = srv.login("emma@demo.kvits").await;
    let counter = p.counter().await;
    let post = |label: &str, length: Option<&str>, sha: Option<&str>| {
        let mut rb = p.req(Some(&emma), Method::POST, "/v1/uploads");
        if let Some(l) = length {
            rb = rb.header(UPLOAD_LENGTH, l);
        }
        if let Some(s) = sha {
            rb = rb.header(UPLOAD_SHA256, s);
        }
        let label = label.to_owned();
        async move { probe.send(&label, rb).await }
    };
    let patch =
        |id: String, offset: &str, ct: Option<&str>, sum: Option<String>, chunk: Vec<u8>| {
            let mut rb = p
                .req(Some(&emma), Method::PATCH, &format!("/v1/uploads/{id}"))
                .header(UPLOAD_OFFSET, offset)
                .body(chunk);
            if let Some(ct) = ct {
                rb = rb.header("content-type", ct);
            }
            if let Some(sum) = sum {
                rb = rb.header(UPLOAD_CHECKSUM, sum);
            }
            async move { probe.send("PATCH /v1/uploads/{id}", rb).await }
        };
    let nothing_left = || async {
        assert_eq!(p.count("SELECT count(*) FROM blobs").await, 0);
        assert_eq!(p.count("SELECT count(*) FROM uploads").await, 0);
        assert_eq!(files(&srv.dir.join("blobs")), Vec::<String>::new());
        assert_eq!(files(&srv.dir.join("uploads")), Vec::<String>::new());
    };

    // Upload-Length and Upload-Sha256 that are not what they must be.
    let sha = sha_hex(b"x");
    for (length, status, code) in [
        (Some("0"), 400, ErrorCode::BadRequest),
        (Some("-1"), 400, ErrorCode::BadRequest),
        (Some("ten"), 400, ErrorCode::BadRequest),
        (Some(""), 400, ErrorCode::BadRequest),
        (Some("1e3"), 400, ErrorCode::BadRequest),
        (Some("0x10"), 400, ErrorCode::BadRequest),
        (
            Some("99999999999999999999999999999"),
            400,
            ErrorCode::BadRequest,
        ),
        (None, 400, ErrorCode::BadRequest),
        (
            Some(&(MAX_BLOB_BYTES + 1).to_string()),
            413,
            ErrorCode::TooLarge,
        ),
        (Some(&u64::MAX.to_string()), 413, ErrorCode::TooLarge),
    ] {
        let label = format!("POST /v1/uploads length {length:?}");
        let r = post(&label, length, Some(&sha)).await;
        assert!(r.is(status, code), "{label}: {}", r.show());
    }
    for bad_sha in [
        None,
        Some(sha.to_uppercase()),
        Some(sha[..63].to_owned()),
        Some(format!("{sha}0")),
        Some("../../secret.txt".to_owned()),
        Some("z".repeat(64)),
    ] {
        let label = format!("POST /v1/uploads sha {bad_sha:?}");
        let r = post(&label, Some("10"), bad_sha.as_deref()).await;
        assert!(r.is(400, ErrorCode::BadRequest), "{label}: {}", r.show());
    }
    nothing_left().await;

    // PATCHes that are refused leave the upload where it was.
    let photo = common::receipt(0);
    let r = post(
        "start",
        Some(&photo.len().to_string()),
        Some(&sha_hex(&photo)),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.show());
    let id = serde_json::from_slice::<UploadStatus>(&r.body)
        .expect("status")
        .upload_id
        .to_string();
    let chunk = photo[..1000].to_vec();
    let good = Some(checksum(&chunk));
    let ct = Some(OFFSET_CONTENT_TYPE);
    for (what, offset, content_type, sum, body, status, code) in [
        (
            "no content type",
            "0",
            None,
            good.clone(),
            chunk.clone(),
            415,
            ErrorCode::UnsupportedMediaType,
        ),
        (
            "text/plain",
            "0",
            Some("text/plain"),
            good.clone(),
            chunk.clone(),
            415,
            ErrorCode::UnsupportedMediaType,
        ),
        (
            "an offset that is no number",
            "abc",
            ct,
            good.clone(),
            chunk.clone(),
            400,
            ErrorCode::BadRequest,
        ),
        (
            "a negative offset",
            "-1",
            ct,
            good.clone(),
            chunk.clone(),
            400,
            ErrorCode::BadRequest,
        ),
        (
            "an offset beyond u64",
            "99999999999999999999",
            ct,
            good.clone(),
            chunk.clone(),
            400,
            ErrorCode::BadRequest,
        ),
        (
            "no checksum",
            "0",
            ct,
            None,
            chunk.clone(),
            400,
            ErrorCode::BadRequest,
        ),
        (
            "an md5 checksum",
            "0",
            ct,
            Some("md5 AAAA".into()),
            chunk.clone(),
            400,
            ErrorCode::BadRequest,
        ),
        (
            "a checksum that is not base64",
            "0",
            ct,
            Some("sha256 !!!".into()),
            chunk.clone(),
            400,
            ErrorCode::BadRequest,
        ),
        (
            "a checksum of other bytes",
            "0",
            ct,
            Some(checksum(b"other")),
            chunk.clone(),
            460,
            ErrorCode::ChecksumMismatch,
        ),
        (
            "a chunk longer than the file",
            "0",
            ct,
            Some(checksum(&[photo.clone(), vec![0; 10]].concat())),
            [photo.clone(), vec![0; 10]].concat(),
            413,
            ErrorCode::TooLarge,
        ),
        (
            "the wrong offset",
            "5",
            ct,
            good.clone(),
            chunk.clone(),
            409,
            ErrorCode::OffsetMismatch,
        ),
    ] {
        let r = patch(id.clone(), offset, content_type, sum, body).await;
        assert!(r.is(status, code), "PATCH with {what}: {}", r.show());
        let head = p
            .send(
                "HEAD /v1/uploads/{id}",
                p.req(Some(&emma), Method::HEAD, &format!("/v1/uploads/{id}")),
            )
            .await;
        assert_eq!(head.header(UPLOAD_OFFSET), Some("0"), "after {what}");
        assert_eq!(
            files(&srv.dir.join("uploads")),
            Vec::<String>::new(),
            "after {what}"
        );
    }
    // Finish it (valid), so what follows starts from nothing pending.
    let r = patch(id.clone(), "0", ct, Some(checksum(&photo)), photo.clone()).await;
    assert_eq!(r.status, 204, "{}", r.show());
    let stored_blobs = files(&srv.dir.join("blobs"));
    assert_eq!(stored_blobs.len(), 2, "the photo and its thumbnail");

    // Files that are neither photos nor whole PDFs: 422, and nothing of them stays.
    let truncated = photo[..photo.len() * 3 / 5].to_vec();
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend_from_slice(&noise(2000));
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&noise(500));
    let header_only = photo[..600].to_vec();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("random bytes", noise(4096)),
        (
            "a text file",
            b"Total 12,50 EUR\nThank you for shopping\n".repeat(40),
        ),
        ("one byte", vec![0xFF]),
        ("a PDF cut short", pdf),
        ("a GIF", gif),
        ("a truncated JPEG", truncated),
        ("a JPEG cut after its header", header_only),
        ("a PNG claiming 65000×65000", png_claiming(65_000, 65_000)),
        ("a PNG claiming 1×2^31", png_claiming(1, 1 << 31)),
        ("a JPEG claiming 65000×65000", jpeg_claiming(65_000, 65_000)),
        ("a JPEG claiming 0×0", jpeg_claiming(0, 0)),
    ];
    for (what, data) in &cases {
        let r = post(what, Some(&data.len().to_string()), Some(&sha_hex(data))).await;
        assert_eq!(r.status, 201, "{what}: {}", r.show());
        let up = serde_json::from_slice::<UploadStatus>(&r.body)
            .expect("status")
            .upload_id
            .to_string();
        let r = patch(up.clone(), "0", ct, Some(checksum(data)), data.clone()).await;
        // A file that starts like a PDF is judged as a document (messages may carry one).
        let code = if *what == "a PDF cut short" {
            ErrorCode::InvalidDocument
        } else {
            ErrorCode::InvalidImage
        };
        assert!(r.is(422, code), "{what}: {}", r.show());
        assert!(!r.error().expect("body").message.is_empty());
        let head = p
            .send(
                "HEAD /v1/uploads/{id}",
                p.req(Some(&emma), Method::HEAD, &format!("/v1/uploads/{up}")),
            )
            .await;
        assert_eq!(head.status, 404, "{what}: the upload is discarded");
        assert_eq!(p.count("SELECT count(*) FROM blobs").await, 1, "{what}");
        assert_eq!(p.count("SELECT count(*) FROM uploads").await, 0, "{what}");
        assert_eq!(files(&srv.dir.join("blobs")), stored_blobs, "{what}");
        assert_eq!(
            files(&srv.dir.join("uploads")),
            Vec::<String>::new(),
            "{what}"
        );
    }
    // Bytes that are not the declared ones: 422 hash_mismatch, nothing kept.
    let other = common::receipt(1);
    let r = post(
        "mismatch",
        Some(&other.len().to_string()),
        Some(&sha_hex(&noise(other.len()))),
    )
    .await;
    assert_eq!(r.status, 201);
    let up = serde_json::from_slice::<UploadStatus>(&r.body)
        .expect("status")
        .upload_id
        .to_string();
    let r = patch(up, "0", ct, Some(checksum(&other)), other.clone()).await;
    assert!(r.is(422, ErrorCode::HashMismatch), "{}", r.show());
    assert_eq!(p.count("SELECT count(*) FROM blobs").await, 1);
    assert_eq!(p.count("SELECT count(*) FROM uploads").await, 0);
    assert_eq!(files(&srv.dir.join("blobs")), stored_blobs);
    assert_eq!(files(&srv.dir.join("uploads")), Vec::<String>::new());
    p.finish(counter).await;
}

// ---------------------------------------------------------------------------------------------
// Credentials

#[tokio::test]
async fn garbage_credentials_are_401_or_400_never_500_and_issue_nothing() {
    let srv = TestServer::start().await;
    let p = Probe::new(&srv);
    let probe = &p;
    let emma = srv.device("emma@demo.kvits").await;
    let counter = p.counter().await;
    let tokens = p.count("SELECT count(*) FROM tokens").await;
    let clients = p.count("SELECT count(*) FROM clients").await;
    let login = |label: String, body: serde_json::Value| {
        let rb = p.req(None, Method::POST, "/v1/auth/login").json(&body);
        async move { (label.clone(), probe.send(&label, rb).await) }
    };
    let ten_k = "p".repeat(10 * 1024);
    for (what, email, password) in [
        (
            "a 10 KB password",
            "emma@demo.kvits".to_owned(),
            ten_k.clone(),
        ),
        (
            "a 10 KB e-mail",
            format!("{ten_k}@demo.kvits"),
            "demo".to_owned(),
        ),
        ("a 10 KB e-mail and password", ten_k.clone(), ten_k.clone()),
        (
            "a NUL in the e-mail",
            "emma@demo.kvits\0".to_owned(),
            "demo".to_owned(),
        ),
        (
            "a NUL in the password",
            "emma@demo.kvits".to_owned(),
            "de\0mo".to_owned(),
        ),
        (
            "an empty password",
            "emma@demo.kvits".to_owned(),
            String::new(),
        ),
        ("an empty e-mail", String::new(), "demo".to_owned()),
        (
            "an unknown e-mail",
            "nobody@demo.kvits".to_owned(),
            "demo".to_owned(),
        ),
        (
            "SQL in the e-mail",
            "' OR 1=1 --".to_owned(),
            "demo".to_owned(),
        ),
    ] {
        let (label, r) = login(
            format!("login with {what}"),
            serde_json::json!({"email": email, "password": password}),
        )
        .await;
        assert!(
            r.is(401, ErrorCode::BadCredentials),
            "{label}: {}",
            r.show()
        );
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{label}");
    }
    // Right password, wrong extras: refused before any token is issued.
    let (label, r) = login(
        "login with a 10 KB device name".into(),
        serde_json::json!({"email": "mark@demo.kvits", "password": "demo", "device_name": ten_k}),
    )
    .await;
    assert!(r.is(400, ErrorCode::BadRequest), "{label}: {}", r.show());
    let (label, r) = login(
        "login with a client id that is none".into(),
        serde_json::json!({"email": "mark@demo.kvits", "password": "demo", "client_id": "phone"}),
    )
    .await;
    assert!(r.is(400, ErrorCode::BadRequest), "{label}: {}", r.show());
    let (label, r) = login(
        "login on another user's install".into(),
        serde_json::json!({"email": "mark@demo.kvits", "password": "demo", "client_id": emma.client}),
    )
    .await;
    assert!(r.is(403, ErrorCode::Forbidden), "{label}: {}", r.show());
    assert_eq!(p.count("SELECT count(*) FROM tokens").await, tokens);
    assert_eq!(p.count("SELECT count(*) FROM clients").await, clients);

    // Authorization headers that carry no session, on every endpoint that needs one.
    let long_token = format!("Bearer kvt_{}", "a".repeat(10_000));
    let sha = sha_hex(b"x");
    let endpoints: Vec<(Method, String)> = vec![
        (Method::GET, "/v1/me".into()),
        (Method::POST, "/v1/auth/logout".into()),
        (Method::POST, "/v1/auth/revoke-all".into()),
        (Method::POST, "/v1/companies".into()),
        (
            Method::GET,
            format!("/v1/sync/pull?client_id={}", emma.client),
        ),
        (Method::POST, "/v1/sync/push".into()),
        (Method::GET, "/v1/approvals".into()),
        (Method::GET, format!("/v1/blobs/{sha}")),
        (Method::HEAD, format!("/v1/blobs/{sha}")),
        (Method::POST, "/v1/uploads".into()),
        (Method::HEAD, format!("/v1/uploads/{}", new_uuid())),
    ];
    let garbage: Vec<(&str, Option<reqwest::header::HeaderValue>)> = vec![
        ("no header", None),
        ("an empty header", Some("".parse().expect("hv"))),
        ("the scheme alone", Some("Bearer".parse().expect("hv"))),
        ("an empty token", Some("Bearer ".parse().expect("hv"))),
        (
            "a garbage token",
            Some("Bearer !!garbage!!".parse().expect("hv")),
        ),
        ("a 10 KB token", Some(long_token.parse().expect("hv"))),
        (
            "basic auth",
            Some("Basic ZW1tYTpkZW1v".parse().expect("hv")),
        ),
        (
            "the token without a scheme",
            Some(emma.token.parse().expect("hv")),
        ),
        (
            "bytes that are not text",
            Some(reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").expect("hv")),
        ),
    ];
    for (method, path) in &endpoints {
        for (what, value) in &garbage {
            let mut rb = p
                .srv
                .http
                .request(method.clone(), srv.url(path))
                .header("content-type", "application/json")
                .body(r#"{"name": "Pine"}"#);
            if let Some(v) = value {
                rb = rb.header("authorization", v.clone());
            }
            let label = format!("{method} {path} with {what}");
            let r = p.send(&label, rb).await;
            assert_eq!(r.status, 401, "{label}: {}", r.show());
            if *method != Method::HEAD {
                assert_eq!(r.code(), Some(ErrorCode::Unauthenticated), "{label}");
            }
        }
    }
    // A header far beyond what any client sends: a 4xx from the HTTP layer.
    let head = format!(
        "GET /v1/me HTTP/1.1\r\nHost: kvits\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        "a".repeat(200_000)
    );
    let r = p.raw("GET /v1/me with a 200 KB token", &head, &[]).await;
    assert!((400..500).contains(&r.status), "{}", r.show());
    // A protocol revision the server does not speak: 426, even with a good token.
    for version in ["999", "0", "abc", ""] {
        let label = format!("protocol {version:?}");
        let r = p
            .send(
                &label,
                p.req(Some(&emma.token), Method::GET, "/v1/me")
                    .header(kvits_protocol::PROTOCOL_HEADER, version),
            )
            .await;
        assert!(
            r.is(426, ErrorCode::UpgradeRequired),
            "{label}: {}",
            r.show()
        );
    }
    // Emma's session survived all of it.
    let r = p
        .send("me", p.req(Some(&emma.token), Method::GET, "/v1/me"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(p.count("SELECT count(*) FROM tokens").await, tokens);
    assert_eq!(
        p.count("SELECT count(*) FROM tokens WHERE revoked_at IS NOT NULL")
            .await,
        0
    );
    p.finish(counter).await;
}
