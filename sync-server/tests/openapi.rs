//! The OpenAPI document at `GET /v1/openapi.json`: served, self-contained, each operation
//! answered by the server, and true of real answers (statuses, bodies, headers).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use base64::Engine;
use common::TestServer;
use kvits_protocol::{
    DecisionKind, DocumentType, ExpenseFields, ExpenseId, Mutation, OFFSET_CONTENT_TYPE,
    PROTOCOL_HEADER, ReceiptPage, ThreadId, UPLOAD_CHECKSUM, UPLOAD_LENGTH, UPLOAD_OFFSET,
    UPLOAD_SHA256,
};
use reqwest::Method;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn fetch_doc(srv: &TestServer) -> Value {
    let r = srv
        .http
        .get(srv.url("/v1/openapi.json"))
        .send()
        .await
        .expect("openapi request");
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    r.json().await.expect("openapi JSON")
}

/// Every (METHOD, path) the document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            assert!(HTTP_METHODS.contains(&method.as_str()), "{path}: {method}");
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

fn operation<'d>(doc: &'d Value, method: &str, path: &str) -> &'d Value {
    let op = &doc["paths"][path][method.to_lowercase()];
    assert!(op.is_object(), "{method} {path} is not documented");
    op
}

// ---------------------------------------------------------------------------------------------
// (1) Served, and well-formed

#[tokio::test]
async fn served_as_an_openapi_3_1_document() {
    let srv = TestServer::start().await;
    let doc = fetch_doc(&srv).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Kvits sync API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let description = doc["info"]["description"].as_str().unwrap();
    for needle in ["POST /v1/auth/login", PROTOCOL_HEADER, "426", "ErrorBody"] {
        assert!(
            description.contains(needle),
            "info.description names {needle}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"],
        json!({
            "type": "http",
            "scheme": "bearer",
            "description": doc["components"]["securitySchemes"]["bearer"]["description"],
        })
    );
    // The same document every time.
    assert_eq!(fetch_doc(&srv).await, doc);

    let mut ids = BTreeSet::new();
    let mut public = BTreeSet::new();
    for (method, path) in documented(&doc) {
        let op = operation(&doc, &method, &path);
        let id = op["operationId"].as_str().expect("operationId");
        assert!(ids.insert(id.to_owned()), "operationId {id} twice");
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()));
        match op["security"].as_array().expect("security").as_slice() {
            [] => {
                public.insert(format!("{method} {path}"));
            }
            [one] => assert_eq!(*one, json!({"bearer": []}), "{method} {path}"),
            other => panic!("{method} {path}: security {other:?}"),
        }

        // Path parameters: exactly the template's, all required.
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let in_path: BTreeSet<&str> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{path}");
                p["name"].as_str().unwrap()
            })
            .collect();
        let in_template: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        assert_eq!(in_path, in_template, "{method} {path}");
        for p in &params {
            assert!(["path", "query", "header"].contains(&p["in"].as_str().unwrap()));
            assert!(p["schema"].is_object(), "{method} {path} {}", p["name"]);
        }

        // Every error with a body is an ErrorBody.
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path}"
        );
        for (status, response) in responses {
            let status: u16 = status.parse().expect("numeric status");
            assert!(response["description"].is_string());
            if status >= 400 && method != "HEAD" {
                assert_eq!(
                    response["content"]["application/json"]["schema"],
                    json!({"$ref": "#/components/schemas/ErrorBody"}),
                    "{method} {path} {status}"
                );
            }
        }
    }
    assert_eq!(
        public,
        BTreeSet::from(
            [
                "GET /healthz",
                "GET /v1/openapi.json",
                "POST /v1/auth/login",
                "POST /v1/auth/accept-invitation",
            ]
            .map(String::from)
        )
    );
}

// ---------------------------------------------------------------------------------------------
// (2) Self-contained, and generated from every protocol type

fn refs<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    out.push(v.as_str().expect("$ref is a string"));
                } else {
                    refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// The public types of `kvits-protocol`, by a scan of its sources.
fn protocol_type_names() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/protocol/src");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("protocol sources") {
        let path = entry.unwrap().path();
        // Test data generators, and how a client classifies an answer: no wire types there.
        if ["arbitrary.rs", "answer.rs"]
            .map(std::ffi::OsStr::new)
            .contains(&path.file_name().unwrap())
        {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        let mut in_ids = false;
        for line in src.lines().map(str::trim) {
            if line == "id_type!(" {
                in_ids = true;
            } else if in_ids && line == ");" {
                in_ids = false;
            } else if in_ids && !line.starts_with("//") {
                names.insert(line.trim_end_matches(',').to_owned());
            }
            for prefix in ["pub struct ", "pub enum "] {
                if let Some(rest) = line.strip_prefix(prefix) {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        names.insert(name);
                    }
                }
            }
        }
    }
    assert!(
        names.contains("FirmId") && names.contains("Mutation"),
        "{names:?}"
    );
    names
}

#[tokio::test]
async fn every_ref_resolves_and_every_protocol_type_has_a_schema() {
    let srv = TestServer::start().await;
    let doc = fetch_doc(&srv).await;
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    // Each one a well-formed JSON Schema 2020-12 (its meta-schema says so).
    let meta = jsonschema::draft202012::meta::validator();
    for (name, schema) in schemas {
        if let Err(e) = meta.validate(schema) {
            panic!("{name} is not a JSON Schema 2020-12: {e}");
        }
    }

    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 50, "{} refs", all.len());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r} points outside components.schemas"));
        assert!(schemas.contains_key(name), "{r} does not resolve");
    }

    for name in protocol_type_names() {
        assert!(schemas.contains_key(&name), "no schema for {name}");
    }

    // `#[serde(other)]` fallbacks take any string; nothing else is left claiming `unknown`.
    let v = Validator::new(&doc);
    for open in ["ErrorCode", "RejectCode", "ConflictCode"] {
        let schema = json!({"$ref": format!("#/components/schemas/{open}")});
        v.check(&schema, &json!("a_code_from_the_future"))
            .unwrap_or_else(|e| panic!("{open}: {e}"));
        assert!(v.check(&schema, &json!(7)).is_err());
    }
    let text = doc.to_string();
    assert!(
        !text.contains(r#""const":"unknown""#),
        "an enum claims `unknown` as a value"
    );
    assert!(
        v.check(
            &json!({"$ref": "#/components/schemas/Role"}),
            &json!("a_role_from_the_future")
        )
        .is_err()
    );
}

// ---------------------------------------------------------------------------------------------
// (3) Every documented operation is served
//
// The router and the document are built from one route table (`src/api.rs`), so no route
// is left out of the document; here each documented operation is called, signed out and in,
// and must be answered by its own handler with a documented status.

/// A path with dummy values for its parameters.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some("sha256") => "ab".repeat(32),
                Some(_) => uuid::Uuid::now_v7().to_string(),
                None => s.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let srv = TestServer::start().await;
    let doc = fetch_doc(&srv).await;
    let ops = documented(&doc);
    assert!(ops.len() >= 19, "{ops:?}");

    let v = Validator::new(&doc);
    for (method, path) in &ops {
        let op = operation(&doc, method, path);
        let public = op["security"] == json!([]);
        for signed_in in [false, true] {
            let url = srv.url(&concrete(path));
            let mut req = srv
                .http
                .request(Method::from_bytes(method.as_bytes()).unwrap(), url);
            if signed_in && !public {
                // A fresh token each time: logout and revoke-all end it.
                req = req.bearer_auth(srv.login("anna@demo.kvits").await);
            }
            // A body of the documented kind, deliberately incomplete.
            let json_body = !op["requestBody"]["content"]["application/json"].is_null();
            if json_body {
                req = req.json(&json!({}));
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            let what = format!("{method} {path} (signed in: {signed_in}): {status} {body}");
            assert_ne!(status, 405, "{what}");
            assert!(!body.contains("endpoint not found"), "{what}");
            if !public {
                // Signed out, the handler's extractor answers (not the fallback, not another
                // method); signed in, it lets the request through.
                assert_eq!(status == 401, !signed_in, "{what}");
            }
            let documented = &op["responses"][status.to_string()];
            assert!(documented.is_object(), "status not documented: {what}");
            if let Some(schema) = documented["content"]["application/json"].get("schema") {
                let body: Value = serde_json::from_str(&body).expect(&what);
                v.check(schema, &body)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
            }
        }
    }

    // And the fallback really is what the probes above would have met.
    let r = srv
        .http
        .get(srv.url("/v1/no-such-thing"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("endpoint not found"));
}

// ---------------------------------------------------------------------------------------------
// (4) Real answers fit their documented schemas

/// Checks real answers against the document: the status is documented for the operation,
/// a JSON body validates against its schema.
struct Checker {
    doc: Value,
}

impl Checker {
    fn validator(&self) -> Validator {
        Validator::new(&self.doc)
    }

    /// The documented response of `method path` for `status`.
    fn response(&self, method: &str, path: &str, status: u16) -> &Value {
        let r = &operation(&self.doc, method, path)["responses"][status.to_string()];
        assert!(r.is_object(), "{method} {path}: {status} is not documented");
        r
    }

    fn body(&self, method: &str, path: &str, status: u16, body: &Value) {
        let schema = &self.response(method, path, status)["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {path} {status}: no JSON body documented"
        );
        self.validator()
            .check(schema, body)
            .unwrap_or_else(|e| panic!("{method} {path} {status}: {e}\n{body:#}"));
    }

    /// Sends `req` (to `method path`), checks the answer; answers status, headers, JSON.
    async fn send(
        &self,
        method: &str,
        path: &str,
        req: reqwest::RequestBuilder,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let documented = self.response(method, path, status).clone();
        let bytes = r.bytes().await.unwrap();
        let content = documented["content"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        if bytes.is_empty() {
            assert!(
                content.is_empty() || method == "HEAD",
                "{method} {path} {status}: empty, documented {content:?}"
            );
            return (status, headers, Value::Null);
        }
        let content_type = headers["content-type"].to_str().unwrap().to_owned();
        assert!(
            content.contains_key(&content_type),
            "{method} {path} {status}: {content_type} not in {content:?}"
        );
        if content_type != "application/json" {
            return (status, headers, Value::Null);
        }
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        self.body(method, path, status, &body);
        (status, headers, body)
    }

    /// The documented response headers of `method path status` that are present.
    fn assert_headers(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        except: &[&str],
    ) {
        let documented = &self.response(method, path, status)["headers"];
        for name in documented.as_object().into_iter().flat_map(|h| h.keys()) {
            if except.contains(&name.as_str()) {
                continue;
            }
            assert!(
                headers.contains_key(name.to_lowercase().as_str()),
                "{method} {path} {status}: header {name} missing"
            );
        }
    }
}

fn sha_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The smallest receipt scan of the fixtures (a real JPEG).
fn small_receipt() -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/receipts/scans");
    let smallest = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .min_by_key(|p| std::fs::metadata(p).unwrap().len())
        .expect("a receipt scan");
    std::fs::read(smallest).unwrap()
}

#[tokio::test]
async fn real_answers_fit_the_documented_schemas() {
    let srv = TestServer::start().await;
    let c = Checker {
        doc: fetch_doc(&srv).await,
    };
    let url = |p: &str| srv.url(p);

    // -- system and auth
    let (status, _, health) = c
        .send("GET", "/healthz", srv.http.get(url("/healthz")))
        .await;
    assert_eq!((status, &health["status"]), (200, &json!("ok")));
    let (status, _, login) = c
        .send(
            "POST",
            "/v1/auth/login",
            srv.http.post(url("/v1/auth/login")).json(&json!({
                "email": "emma@demo.kvits",
                "password": "demo",
                "client_id": uuid::Uuid::now_v7(),
                "device_name": "Emma's phone",
            })),
        )
        .await;
    assert_eq!(status, 200);
    assert!(login["token"].is_string());
    let emma_token = login["token"].as_str().unwrap().to_owned();
    let (status, _, _) = c
        .send(
            "GET",
            "/v1/me",
            srv.http.get(url("/v1/me")).bearer_auth(&emma_token),
        )
        .await;
    assert_eq!(status, 200);

    // -- errors
    let (status, headers, _) = c
        .send(
            "POST",
            "/v1/auth/login",
            srv.http
                .post(url("/v1/auth/login"))
                .json(&json!({"email": "emma@demo.kvits", "password": "wrong"})),
        )
        .await;
    assert_eq!(status, 401);
    c.assert_headers("POST", "/v1/auth/login", 401, &headers, &[]);
    let (status, _, body) = c
        .send(
            "POST",
            "/v1/auth/login",
            srv.http.post(url("/v1/auth/login")).body("{}"),
        )
        .await;
    assert_eq!(
        (status, &body["code"]),
        (415, &json!("unsupported_media_type"))
    );
    let (status, headers, body) = c.send("GET", "/v1/me", srv.http.get(url("/v1/me"))).await;
    assert_eq!((status, &body["code"]), (401, &json!("unauthenticated")));
    c.assert_headers("GET", "/v1/me", 401, &headers, &[]);
    let (status, _, body) = c
        .send(
            "GET",
            "/v1/me",
            srv.http
                .get(url("/v1/me"))
                .bearer_auth(&emma_token)
                .header(PROTOCOL_HEADER, "999"),
        )
        .await;
    assert_eq!((status, &body["code"]), (426, &json!("upgrade_required")));
    let (status, _, _) = c
        .send(
            "GET",
            "/v1/sync/pull",
            srv.http
                .get(url("/v1/sync/pull?cursor=x"))
                .bearer_auth(&emma_token),
        )
        .await;
    assert_eq!(status, 400);
    let r = srv.http.get(url("/v1/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    c.validator()
        .check(
            &json!({"$ref": "#/components/schemas/ErrorBody"}),
            &r.json().await.unwrap(),
        )
        .unwrap();

    // -- push: applied, rejected, halted; a seq gap
    let sha_stored = "5a".repeat(32);
    {
        let (firm, user, sha) = (
            srv.demo.firm.to_string(),
            srv.demo.user("emma@demo.kvits").to_string(),
            sha_stored.clone(),
        );
        srv.server
            .state()
            .db
            .write(move |db| {
                db.execute(
                    "INSERT INTO blobs (firm_id, sha256, size, content_type, width, height,
                     uploaded_by, created_at) VALUES (?1, ?2, 1000, 'image/jpeg', 10, 20, ?3, '')",
                    rusqlite::params![firm, sha, user],
                )?;
                db.execute(
                    "INSERT INTO blob_owners (firm_id, sha256, user_id) VALUES (?1, ?2, ?3)",
                    rusqlite::params![firm, sha, user],
                )?;
                Ok(())
            })
            .await
            .unwrap();
    }
    let page = |sha: &str| ReceiptPage {
        sha256: sha.to_owned(),
        size: 1000,
        content_type: "image/jpeg".into(),
        width: 10,
        height: 20,
    };
    let birch = srv.demo.company("Birch Bakery");
    let fields = ExpenseFields {
        expense_type_id: Some(srv.demo.expense_types[&("Birch Bakery", "Meals")]),
        payment_method_id: Some(
            srv.demo.payment_methods[&("Birch Bakery", "Visa Business".to_string())],
        ),
        amount: Some(kvits_protocol::Money {
            amount_minor: 12_34,
            currency: "EUR".into(),
        }),
        base_amount: None,
        date: chrono::NaiveDate::from_ymd_opt(2025, 3, 14),
        merchant: Some("Birch Café".into()),
        note: Some("team lunch".into()),
        vat: Vec::new(),
        account_code: None,
    };
    let (submitted, dropped, waiting) = (
        ExpenseId(uuid::Uuid::now_v7()),
        ExpenseId(uuid::Uuid::now_v7()),
        ExpenseId(uuid::Uuid::now_v7()),
    );
    let create = |id: ExpenseId| Mutation::CreateExpense {
        expense_id: id,
        company_id: birch,
        document_type: DocumentType::Receipt,
        fields: fields.clone(),
    };
    let mut emma = srv.device("emma@demo.kvits").await;
    let batch = vec![
        emma.queue(create(submitted)),
        emma.queue(Mutation::AttachReceipt {
            expense_id: submitted,
            pages: vec![page(&sha_stored)],
        }),
        emma.queue(Mutation::SubmitExpense {
            expense_id: submitted,
        }),
        emma.queue(create(dropped)),
        emma.queue(Mutation::DeleteExpense {
            expense_id: dropped,
        }),
        emma.queue(Mutation::SubmitExpense {
            expense_id: ExpenseId(uuid::Uuid::now_v7()),
        }),
        emma.queue(create(waiting)),
        emma.queue(Mutation::AttachReceipt {
            expense_id: waiting,
            pages: vec![page(&"6b".repeat(32))],
        }),
        emma.queue(Mutation::SubmitExpense {
            expense_id: waiting,
        }),
    ];
    let (status, body) = emma.push_raw(&batch).await;
    assert_eq!(status, 200, "{body}");
    let push: Value = serde_json::from_str(&body).unwrap();
    c.body("POST", "/v1/sync/push", 200, &push);
    let statuses: BTreeSet<&str> = push["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains("applied") && statuses.contains("rejected"),
        "{push:#}"
    );
    assert_eq!(push["halted"]["code"], "blob_missing", "{push:#}");

    let mut gap = emma.queue(Mutation::DeleteExpense {
        expense_id: waiting,
    });
    gap.seq += 100;
    let (status, body) = emma.push_raw(&[gap]).await;
    assert_eq!(status, 409);
    let error: Value = serde_json::from_str(&body).unwrap();
    c.body("POST", "/v1/sync/push", 409, &error);
    assert_eq!(error["code"], "client_state_lost");
    // A mutation this server cannot read (from a newer app) is rejected by itself.
    let next = push["last_seq"].as_u64().unwrap() + 1;
    let (status, _, future) = c
        .send(
            "POST",
            "/v1/sync/push",
            srv.http
                .post(url("/v1/sync/push"))
                .bearer_auth(&emma.token)
                .json(&json!({
                    "client_id": emma.client,
                    "mutations": [{"seq": next, "created_at": "2030-01-01T00:00:00Z",
                                   "name": "teleport_expense.v9", "args": {}}],
                })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(future["results"][0]["code"], "invalid", "{future:#}");

    // -- approvals and decisions (a conflict with a winner)
    let mut mark = srv.device("mark@demo.kvits").await;
    let (status, _, tasks) = c
        .send(
            "GET",
            "/v1/approvals",
            srv.http
                .get(url(&format!("/v1/approvals?company_id={birch}")))
                .bearer_auth(&mark.token),
        )
        .await;
    assert_eq!(status, 200);
    let task = &tasks.as_array().unwrap()[0];
    let revision = u32::try_from(task["revision"].as_u64().unwrap()).unwrap();
    let decide = |decision, reason: Option<&str>| Mutation::DecideExpense {
        expense_id: submitted,
        seen_revision: revision,
        decision,
        reason: reason.map(String::from),
    };
    mark.run(decide(DecisionKind::Approve, None)).await;
    let mut alice = srv.device("alice@demo.kvits").await;
    let p = alice.queue(decide(DecisionKind::Reject, Some("not a meal")));
    let (status, body) = alice.push_raw(&[p]).await;
    assert_eq!(status, 200);
    let push: Value = serde_json::from_str(&body).unwrap();
    c.body("POST", "/v1/sync/push", 200, &push);
    assert_eq!(push["results"][0]["status"], "conflict", "{push:#}");

    // -- a message read
    let mut clara = srv.device("clara@demo.kvits").await;
    let changes = clara.pull_all().await;
    let message = changes
        .iter()
        .find_map(|ch| match &ch.op {
            kvits_protocol::ChangeOp::Upsert { entity } => match entity.as_ref() {
                kvits_protocol::Entity::Message(m) => Some((m.thread_id, m.id)),
                _ => None,
            },
            _ => None,
        })
        .expect("the welcome message");
    let (thread_id, up_to): (ThreadId, _) = message;
    clara.run(Mutation::MarkRead { thread_id, up_to }).await;

    // -- pulls that meet every kind of row (Anna's) and both ops (Emma hears of her deleted
    // draft; nobody else does)
    let anna = srv.device("anna@demo.kvits").await;
    // Her install opens Birch: a staff install holds a client's documents once it opened it.
    let (status, _, opened) = c
        .send(
            "POST",
            "/v1/sync/open",
            srv.http
                .post(url("/v1/sync/open"))
                .bearer_auth(&anna.token)
                .json(&json!({"client_id": anna.client, "company_id": birch})),
        )
        .await;
    assert_eq!((status, &opened["newly_opened"]), (200, &json!(true)));
    // -- Birch's card statement: its payments are rows of their own, and the firm's reports
    let statement = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/statements/birch-2026-11.camt053.xml"),
    )
    .unwrap();
    let statements = format!("/v1/companies/{birch}/statements");
    let (status, _, summary) = c
        .send(
            "POST",
            "/v1/companies/{company_id}/statements",
            srv.http
                .post(url(&statements))
                .bearer_auth(&anna.token)
                .body(statement),
        )
        .await;
    assert_eq!((status, &summary["new"]), (200, &json!(7)));
    let (status, _, _) = c
        .send(
            "GET",
            "/v1/companies/{company_id}/statements",
            srv.http.get(url(&statements)).bearer_auth(&anna.token),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, report) = c
        .send(
            "GET",
            "/v1/companies/{company_id}/card-report",
            srv.http
                .get(url(&format!("/v1/companies/{birch}/card-report")))
                .bearer_auth(&anna.token),
        )
        .await;
    assert_eq!(
        (status, report["missing"].as_array().map(Vec::len)),
        (200, Some(6))
    );
    let (mut kinds, mut ops) = (BTreeSet::new(), BTreeSet::new());
    for puller in [&anna, &emma] {
        let mut cursor = 0u64;
        loop {
            let (status, _, page) = c
                .send(
                    "GET",
                    "/v1/sync/pull",
                    srv.http
                        .get(url("/v1/sync/pull"))
                        .bearer_auth(&puller.token)
                        .query(&[
                            ("client_id", puller.client.to_string()),
                            ("cursor", cursor.to_string()),
                            ("results_after", "0".into()),
                            ("limit", "7".into()),
                        ]),
                )
                .await;
            assert_eq!(status, 200);
            for change in page["changes"].as_array().unwrap() {
                ops.insert(change["op"].as_str().unwrap().to_owned());
                if let Some(kind) = change["entity"]["kind"].as_str() {
                    kinds.insert(kind.to_owned());
                }
            }
            cursor = page["cursor"].as_u64().unwrap();
            if page["has_more"] == false {
                break;
            }
        }
    }
    assert_eq!(
        ops,
        BTreeSet::from(["upsert".to_owned(), "delete".to_owned()])
    );
    let all_kinds: BTreeSet<String> = kvits_protocol::EntityKind::ALL
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    assert_eq!(kinds, all_kinds);
    // Emma's page carries her stored results too.
    let (status, _, page) = c
        .send(
            "GET",
            "/v1/sync/pull",
            srv.http
                .get(url("/v1/sync/pull"))
                .bearer_auth(&emma.token)
                .query(&[
                    ("client_id", emma.client.to_string()),
                    ("results_after", "0".into()),
                ]),
        )
        .await;
    assert_eq!(status, 200);
    assert!(!page["results"].as_array().unwrap().is_empty());

    // -- admin
    let paula = srv.device("paula@demo.kvits").await;
    let (status, _, company) = c
        .send(
            "POST",
            "/v1/companies",
            srv.http
                .post(url("/v1/companies"))
                .bearer_auth(&paula.token)
                .json(&json!({"name": "Dune Dental", "country": "se", "base_currency": "SEK"})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(company["country"], "SE");
    let company_id = company["id"].as_str().unwrap().to_owned();
    let (status, _, company) = c
        .send(
            "PUT",
            "/v1/companies/{company_id}",
            srv.http
                .put(url(&format!("/v1/companies/{company_id}")))
                .bearer_auth(&paula.token)
                .json(&json!({
                    "name": "Dune Dental AB",
                    "base_currency": "SEK",
                    "registration_number": "556677-8899",
                    "vat_number": "se 5566778899 01",
                    "country": "SE",
                    "time_zone": "Europe/Stockholm",
                })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(company["vat_number"], "SE556677889901");
    let (status, _, firm) = c
        .send(
            "GET",
            "/v1/firm",
            srv.http.get(url("/v1/firm")).bearer_auth(&paula.token),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(firm["settings"]["assigned_clients_only"], true);
    let (status, _, clients) = c
        .send(
            "GET",
            "/v1/clients",
            srv.http.get(url("/v1/clients")).bearer_auth(&paula.token),
        )
        .await;
    assert_eq!(status, 200);
    assert!(clients["clients"].as_array().is_some_and(|c| c.len() >= 5));
    let (status, _, staff) = c
        .send(
            "POST",
            "/v1/firm/staff",
            srv.http
                .post(url("/v1/firm/staff"))
                .bearer_auth(&paula.token)
                .json(&json!({
                    "email": "sven@demo.kvits",
                    "name": "Sven Senior",
                    "role": "accountant",
                    "assigned": [company_id],
                })),
        )
        .await;
    assert_eq!(status, 201);
    // Listed as open until accepted; Sven accepts with a new password.
    let (status, _, firm) = c
        .send(
            "GET",
            "/v1/firm",
            srv.http.get(url("/v1/firm")).bearer_auth(&paula.token),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(firm["invitations"][0]["id"], staff["id"]);
    let (status, _, accepted) = c
        .send(
            "POST",
            "/v1/auth/accept-invitation",
            srv.http
                .post(url("/v1/auth/accept-invitation"))
                .json(&json!({"token": staff["token"], "password": "Sven counts spruce cones"})),
        )
        .await;
    assert_eq!(status, 200);
    let sven = accepted["user"]["id"].as_str().unwrap().to_owned();
    // An invitation into the staff that is cancelled.
    let (status, _, extra) = c
        .send(
            "POST",
            "/v1/firm/staff",
            srv.http
                .post(url("/v1/firm/staff"))
                .bearer_auth(&paula.token)
                .json(&json!({"email": "typo@demo.kvits", "name": "Typo", "role": "accountant"})),
        )
        .await;
    assert_eq!(status, 201);
    let path = format!("/v1/invitations/{}", extra["id"].as_str().unwrap());
    let (status, _, _) = c
        .send(
            "DELETE",
            "/v1/invitations/{invitation_id}",
            srv.http.delete(url(&path)).bearer_auth(&paula.token),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _, _) = c
        .send(
            "DELETE",
            "/v1/invitations/{invitation_id}",
            srv.http.delete(url(&path)).bearer_auth(&paula.token),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _, _) = c
        .send(
            "PUT",
            "/v1/firm/staff/{user_id}",
            srv.http
                .put(url(&format!("/v1/firm/staff/{sven}")))
                .bearer_auth(&paula.token)
                .json(&json!({"role": "accountant", "assigned": []})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _, _) = c
        .send(
            "PUT",
            "/v1/firm/settings",
            srv.http
                .put(url("/v1/firm/settings"))
                .bearer_auth(&paula.token)
                .json(&json!({"assigned_clients_only": true})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _, invitation) = c
        .send(
            "POST",
            "/v1/companies/{company_id}/users",
            srv.http
                .post(url(&format!("/v1/companies/{company_id}/users")))
                .bearer_auth(&paula.token)
                .json(&json!({"email": "dora@dune.test", "name": "Dora", "roles": ["employee"]})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _, accepted) = c
        .send(
            "POST",
            "/v1/auth/accept-invitation",
            srv.http
                .post(url("/v1/auth/accept-invitation"))
                .json(&json!({
                    "token": invitation["token"],
                    "password": "a long password",
                })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, body) = c
        .send(
            "POST",
            "/v1/auth/accept-invitation",
            srv.http
                .post(url("/v1/auth/accept-invitation"))
                .json(&json!({
                    "token": invitation["token"],
                    "password": "a long password",
                })),
        )
        .await;
    assert_eq!((status, &body["code"]), (410, &json!("gone")));
    let dora = accepted["user"]["id"].as_str().unwrap();
    let (status, _, _) = c
        .send(
            "PUT",
            "/v1/companies/{company_id}/users/{user_id}/roles",
            srv.http
                .put(url(&format!(
                    "/v1/companies/{company_id}/users/{dora}/roles"
                )))
                .bearer_auth(&paula.token)
                .json(&json!({"roles": ["employee", "approver"]})),
        )
        .await;
    assert_eq!(status, 204);

    // -- uploads and downloads
    let data = small_receipt();
    let sha = sha_hex(&data);
    let start = || {
        srv.http
            .post(url("/v1/uploads"))
            .bearer_auth(&emma_token)
            .header(UPLOAD_LENGTH, data.len().to_string())
            .header(UPLOAD_SHA256, &sha)
    };
    let (status, headers, created) = c.send("POST", "/v1/uploads", start()).await;
    assert_eq!(status, 201);
    c.assert_headers("POST", "/v1/uploads", 201, &headers, &[]);
    let (status, headers, again) = c.send("POST", "/v1/uploads", start()).await;
    assert_eq!(status, 200);
    c.assert_headers("POST", "/v1/uploads", 200, &headers, &[]);
    assert_eq!(again["upload_id"], created["upload_id"]);
    let id = created["upload_id"].as_str().unwrap();
    let upload = format!("/v1/uploads/{id}");
    let (status, headers, _) = c
        .send(
            "HEAD",
            "/v1/uploads/{id}",
            srv.http.head(url(&upload)).bearer_auth(&emma_token),
        )
        .await;
    assert_eq!(status, 200);
    c.assert_headers("HEAD", "/v1/uploads/{id}", 200, &headers, &[]);
    let patch = |offset: usize, chunk: &[u8], checksum: &[u8]| {
        srv.http
            .patch(url(&upload))
            .bearer_auth(&emma_token)
            .header("content-type", OFFSET_CONTENT_TYPE)
            .header(UPLOAD_OFFSET, offset.to_string())
            .header(
                UPLOAD_CHECKSUM,
                format!(
                    "sha256 {}",
                    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(checksum))
                ),
            )
            .body(chunk.to_vec())
    };
    let half = data.len() / 2;
    let (status, headers, body) = c
        .send(
            "PATCH",
            "/v1/uploads/{id}",
            patch(5, &data[5..half], &data[5..half]),
        )
        .await;
    assert_eq!((status, &body["code"]), (409, &json!("offset_mismatch")));
    c.assert_headers("PATCH", "/v1/uploads/{id}", 409, &headers, &[]);
    let (status, headers, body) = c
        .send(
            "PATCH",
            "/v1/uploads/{id}",
            patch(0, &data[..half], b"other"),
        )
        .await;
    assert_eq!((status, &body["code"]), (460, &json!("checksum_mismatch")));
    c.assert_headers("PATCH", "/v1/uploads/{id}", 460, &headers, &[]);
    let (status, headers, _) = c
        .send(
            "PATCH",
            "/v1/uploads/{id}",
            patch(0, &data[..half], &data[..half]),
        )
        .await;
    assert_eq!(status, 204);
    c.assert_headers("PATCH", "/v1/uploads/{id}", 204, &headers, &[]);
    let (status, _, _) = c
        .send(
            "PATCH",
            "/v1/uploads/{id}",
            patch(half, &data[half..], &data[half..]),
        )
        .await;
    assert_eq!(status, 204);
    let (status, headers, stored) = c.send("POST", "/v1/uploads", start()).await;
    assert_eq!(status, 200);
    assert_eq!(stored["complete"], true);
    c.assert_headers(
        "POST",
        "/v1/uploads",
        200,
        &headers,
        &["Location", kvits_protocol::UPLOAD_EXPIRES],
    );

    let blob = format!("/v1/blobs/{sha}");
    let (status, headers, _) = c
        .send(
            "HEAD",
            "/v1/blobs/{sha256}",
            srv.http.head(url(&blob)).bearer_auth(&emma_token),
        )
        .await;
    assert_eq!(status, 200);
    c.assert_headers("HEAD", "/v1/blobs/{sha256}", 200, &headers, &[]);
    for (template, path) in [
        ("/v1/blobs/{sha256}", blob.clone()),
        ("/v1/blobs/{sha256}/thumbnail", format!("{blob}/thumbnail")),
    ] {
        let get = |extra: &[(&str, String)]| {
            let mut req = srv.http.get(url(&path)).bearer_auth(&emma_token);
            for (name, value) in extra {
                req = req.header(*name, value);
            }
            req
        };
        let (status, headers, _) = c.send("GET", template, get(&[])).await;
        assert_eq!(status, 200);
        c.assert_headers("GET", template, 200, &headers, &[]);
        let etag = headers["etag"].to_str().unwrap().to_owned();
        let (status, headers, _) = c
            .send("GET", template, get(&[("range", "bytes=0-9".into())]))
            .await;
        assert_eq!(status, 206);
        c.assert_headers("GET", template, 206, &headers, &[]);
        let (status, headers, _) = c
            .send("GET", template, get(&[("if-none-match", etag)]))
            .await;
        assert_eq!(status, 304);
        c.assert_headers("GET", template, 304, &headers, &[]);
        let (status, headers, body) = c
            .send("GET", template, get(&[("range", "bytes=99999999-".into())]))
            .await;
        assert_eq!((status, body.is_object()), (416, true));
        c.assert_headers("GET", template, 416, &headers, &[]);
    }
}

// ---------------------------------------------------------------------------------------------
// Validating with the `jsonschema` crate (JSON Schema 2020-12, formats asserted). Objects are
// closed: every schema that stands for a value and describes properties gets
// `unevaluatedProperties: false`, so the server cannot send a field the document does not name.
// (In-place subschemas — `allOf`, `anyOf`, `oneOf` arms, `$ref` targets — stay open: what they
// evaluate counts for the value's own schema.)

struct Validator {
    /// The document's `components`, with the value positions inside them closed.
    components: Value,
}

/// Value positions below `schema`: closed where they describe properties.
fn close_inside(schema: &mut Value, components: &Value) {
    let Value::Object(s) = schema else { return };
    for (keyword, sub) in s.iter_mut() {
        match (keyword.as_str(), sub) {
            ("properties", Value::Object(properties)) => {
                for value_schema in properties.values_mut() {
                    close(value_schema, components);
                }
            }
            ("items" | "additionalProperties", value_schema @ Value::Object(_)) => {
                close(value_schema, components);
            }
            ("allOf" | "anyOf" | "oneOf", Value::Array(arms)) => {
                for arm in arms {
                    close_inside(arm, components);
                }
            }
            _ => {}
        }
    }
}

/// A schema standing for a value: closed if it describes properties, and its insides too.
fn close(schema: &mut Value, components: &Value) {
    if describes_properties(schema, components, 0)
        && let Value::Object(s) = schema
        && !s.contains_key("additionalProperties")
    {
        s.insert("unevaluatedProperties".into(), Value::Bool(false));
    }
    close_inside(schema, components);
}

/// Whether `schema` (through `$ref`s and in-place arms) names any properties.
fn describes_properties(schema: &Value, components: &Value, depth: u32) -> bool {
    if depth > 32 {
        return false;
    }
    if schema.get("properties").is_some() {
        return true;
    }
    let by_ref = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .map(|name| &components["schemas"][name])
        .is_some_and(|target| describes_properties(target, components, depth + 1));
    by_ref
        || ["allOf", "anyOf", "oneOf"].iter().any(|k| {
            schema[*k].as_array().is_some_and(|arms| {
                arms.iter()
                    .any(|arm| describes_properties(arm, components, depth + 1))
            })
        })
}

impl Validator {
    fn new(doc: &Value) -> Self {
        let original = doc["components"].clone();
        let mut components = original.clone();
        if let Some(schemas) = components["schemas"].as_object_mut() {
            for schema in schemas.values_mut() {
                close_inside(schema, &original);
            }
        }
        Validator { components }
    }

    /// Whether `value` fits `schema` (which may `$ref` the document's components); the
    /// reasons if not.
    fn check(&self, schema: &Value, value: &Value) -> Result<(), String> {
        let mut root = schema.clone();
        close(&mut root, &self.components);
        let mut root = match root {
            Value::Object(map) => map,
            other => Map::from_iter([("allOf".to_owned(), json!([other]))]),
        };
        root.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        root.insert("components".into(), self.components.clone());
        let root = Value::Object(root);
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("not a schema: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| format!("${}: {e}", e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

#[test]
fn the_validator_catches_what_it_should() {
    let doc = json!({"components": {"schemas": {
        "P": {"type": "object", "properties": {"a": {"type": "integer", "minimum": 0},
              "when": {"type": "string", "format": "date-time"}},
              "required": ["a"]},
        "E": {"oneOf": [{"const": "x"}, {"const": "y"}]},
        "Free": {"type": "object", "description": "any object"},
    }}});
    let v = Validator::new(&doc);
    let p = json!({"$ref": "#/components/schemas/P"});
    assert!(v.check(&p, &json!({"a": 1})).is_ok());
    assert!(v.check(&p, &json!({})).is_err(), "required");
    assert!(v.check(&p, &json!({"a": -1})).is_err(), "minimum");
    assert!(
        v.check(&p, &json!({"a": 1, "when": "soon"})).is_err(),
        "format"
    );
    assert!(v.check(&p, &json!({"a": 1, "b": 2})).is_err(), "closed");
    assert!(
        v.check(
            &json!({"type": "array", "items": p.clone()}),
            &json!([{"a": 1, "b": 2}])
        )
        .is_err(),
        "closed inside an array"
    );
    let free = json!({"$ref": "#/components/schemas/Free"});
    assert!(v.check(&free, &json!({"anything": 1})).is_ok(), "free-form");
    assert!(
        v.check(&json!({"$ref": "#/components/schemas/E"}), &json!("y"))
            .is_ok()
    );
    assert!(
        v.check(&json!({"$ref": "#/components/schemas/E"}), &json!("z"))
            .is_err()
    );
    assert!(
        v.check(&json!({"$ref": "#/components/schemas/Q"}), &json!(1))
            .is_err(),
        "unresolved"
    );
    // Flattened one-of arms count as described properties.
    let flat = json!({"type": "object", "properties": {"seq": {"type": "integer"}},
        "oneOf": [{"properties": {"status": {"const": "applied"}}, "required": ["status"]}]});
    assert!(
        v.check(&flat, &json!({"seq": 1, "status": "applied"}))
            .is_ok()
    );
    assert!(
        v.check(&flat, &json!({"seq": 1, "status": "applied", "x": 1}))
            .is_err()
    );
}
