//! Tenant and role isolation (docs/design.md §5: no tenant can see another tenant's data, and
//! no role can do more than it is allowed), as a matrix: every endpoint of the router × every role of another firm (and
//! of another company of the same firm) × the victim's ids → denied, answered exactly as for an
//! id that does not exist, and nothing written. Then the role half inside one company.
//!
//! Failures name their cell as `(endpoint, actor, target)`; all cells run before the test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use base64::Engine;
use common::{Device, TestServer};
use kvits_protocol::{
    ApprovalRule, ApprovalRuleId, ApprovalStep, ChangeOp, ClientId, CompanyDetails, CompanyId,
    DecisionKind, DocumentType, Entity, ErrorBody, ErrorCode, ExpenseFields, ExpenseId,
    ExpenseType, ExpenseTypeId, FirmId, MessageId, Money, Mutation, Outcome, PaymentKind,
    PaymentMethod, PaymentMethodId, PushResponse, ReceiptPage, RejectCode, Role, Session,
    StaffRole, ThreadId, UPLOAD_CHECKSUM, UPLOAD_LENGTH, UPLOAD_OFFSET, UPLOAD_SHA256,
    UploadStatus, UserId,
};
use kvits_sync_server::{admin, auth};
use reqwest::Method;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------------
// Small helpers

fn new_uuid() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

fn sha_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// What a page naming `data` looks like.
fn page_of(data: &[u8]) -> ReceiptPage {
    let info = kvits_imaging::probe(data).expect("fixture is an image");
    ReceiptPage {
        sha256: sha_hex(data),
        size: data.len() as u64,
        content_type: "image/jpeg".into(),
        width: info.width,
        height: info.height,
    }
}

/// An answer, read whole.
#[derive(Debug)]
struct Reply {
    status: u16,
    upload_offset: Option<String>,
    body: Vec<u8>,
}

impl Reply {
    fn error(&self) -> Option<ErrorBody> {
        serde_json::from_slice(&self.body).ok()
    }

    /// 404 with a `not_found` body (or no body, for HEAD).
    fn is_not_found(&self) -> bool {
        self.status == 404
            && (self.body.is_empty() || self.error().is_some_and(|e| e.code == ErrorCode::NotFound))
    }

    fn has_code(&self, status: u16, code: ErrorCode) -> bool {
        self.status == status && self.error().is_some_and(|e| e.code == code)
    }

    /// The same answer, byte for byte (status and body): nothing tells the two ids apart.
    fn same_as(&self, other: &Reply) -> bool {
        self.status == other.status && self.body == other.body
    }

    fn show(&self) -> String {
        let body = String::from_utf8_lossy(&self.body);
        let body: String = body.chars().take(300).collect();
        format!("{} {body}", self.status)
    }
}

async fn send(rb: reqwest::RequestBuilder) -> Reply {
    let r = rb.send().await.expect("request");
    let status = r.status().as_u16();
    let upload_offset = r
        .headers()
        .get(UPLOAD_OFFSET)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = r.bytes().await.expect("body").to_vec();
    Reply {
        status,
        upload_offset,
        body,
    }
}

fn req(srv: &TestServer, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    srv.http.request(method, srv.url(path)).bearer_auth(token)
}

fn checksum(data: &[u8]) -> String {
    format!(
        "sha256 {}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(data))
    )
}

async fn patch_chunk(srv: &TestServer, token: &str, id: &str, offset: u64, chunk: &[u8]) -> Reply {
    send(
        req(srv, token, Method::PATCH, &format!("/v1/uploads/{id}"))
            .header("content-type", kvits_protocol::OFFSET_CONTENT_TYPE)
            .header(UPLOAD_OFFSET, offset.to_string())
            .header(UPLOAD_CHECKSUM, checksum(chunk))
            .body(chunk.to_vec()),
    )
    .await
}

async fn post_upload(srv: &TestServer, token: &str, sha: &str, length: usize) -> Reply {
    send(
        req(srv, token, Method::POST, "/v1/uploads")
            .header(UPLOAD_LENGTH, length.to_string())
            .header(UPLOAD_SHA256, sha),
    )
    .await
}

/// Uploads `data` through the real endpoints (one chunk); answers its page.
async fn upload(srv: &TestServer, token: &str, data: &[u8]) -> ReceiptPage {
    let r = post_upload(srv, token, &sha_hex(data), data.len()).await;
    assert_eq!(r.status, 201, "{}", r.show());
    let status: UploadStatus = serde_json::from_slice(&r.body).expect("upload status");
    let r = patch_chunk(srv, token, &status.upload_id.to_string(), 0, data).await;
    assert_eq!(r.status, 204, "{}", r.show());
    page_of(data)
}

/// Starts an upload of `data` and sends its first `n` bytes; answers the upload id.
async fn partial_upload(srv: &TestServer, token: &str, data: &[u8], n: usize) -> String {
    let r = post_upload(srv, token, &sha_hex(data), data.len()).await;
    assert_eq!(r.status, 201, "{}", r.show());
    let id = serde_json::from_slice::<UploadStatus>(&r.body)
        .expect("upload status")
        .upload_id
        .to_string();
    let r = patch_chunk(srv, token, &id, 0, &data[..n]).await;
    assert_eq!(r.status, 204, "{}", r.show());
    id
}

/// Pushes `mutations` as one batch, expecting every one applied.
async fn apply_all(d: &mut Device, mutations: Vec<Mutation>) {
    let batch: Vec<_> = mutations.into_iter().map(|m| d.queue(m)).collect();
    let r = d.push(&batch).await;
    assert!(
        r.halted.is_none() && r.results.iter().all(|r| r.outcome == Outcome::Applied),
        "{r:?}"
    );
}

/// The same user on a new install (a fresh client id, seq from 1), so every phase of a test
/// has a queue of its own.
fn fresh_install(d: &Device) -> Device {
    Device {
        client: ClientId(new_uuid()),
        next_seq: 1,
        cursor: 0,
        ..d.clone()
    }
}

/// A bearer token for `user` as a sign-in would store it (without spending an argon2 hash).
async fn mint_token(srv: &TestServer, user: UserId) -> String {
    let token = format!("kvt_test_{}", new_uuid().simple());
    let hash = auth::hash_token(&token);
    srv.server
        .state()
        .db
        .write(move |c| {
            c.execute(
                "INSERT INTO tokens (token_hash, user_id, client_id, created_at)
                 VALUES (?1, ?2, NULL, ?3)",
                rusqlite::params![hash, user.to_string(), chrono::Utc::now().to_rfc3339()],
            )?;
            Ok(())
        })
        .await
        .expect("mint token");
    token
}

// ---------------------------------------------------------------------------------------------
// The world: the demo firm and a second firm, each with real rows

/// One signed-in person.
#[derive(Clone, Debug)]
struct Person {
    /// e.g. `olga (accountant, Other Books)`.
    label: String,
    email: String,
    device: Device,
    /// A company the person belongs to (for accountants: one of the firm's).
    own_company: CompanyId,
    /// Company admin there, or the firm's accountant.
    manages: bool,
}

/// A firm and the rows of one of its companies that the others aim at.
#[derive(Debug)]
struct Tenant {
    name: &'static str,
    firm: FirmId,
    /// The company whose rows are the targets.
    company: CompanyId,
    accountant: Device,
    people: Vec<Person>,
    employee: UserId,
    employee_email: String,
    approver: UserId,
    submitted: ExpenseId,
    submitted_revision: u32,
    draft: ExpenseId,
    thread: ThreadId,
    message: MessageId,
    reply: MessageId,
    read: uuid::Uuid,
    expense_type: ExpenseTypeId,
    payment_method: PaymentMethodId,
    approval_rule: ApprovalRuleId,
    page: ReceiptPage,
    upload: String,
    upload_sha: String,
    /// A pending invitation into the company: its id, and what the server stores of its
    /// one-time token (the SHA-256).
    invitation: kvits_protocol::InvitationId,
    invitation_hash: String,
    /// A card payment of the company, from an imported statement.
    card_payment: kvits_protocol::CardTransactionId,
}

impl Tenant {
    fn person(&self, email: &str) -> &Person {
        self.people
            .iter()
            .find(|p| p.email == email)
            .unwrap_or_else(|| panic!("{email} in {}", self.name))
    }

    /// Every row id of the victim that an attacker must never meet.
    fn row_ids(&self) -> BTreeSet<uuid::Uuid> {
        [
            self.company.0,
            self.submitted.0,
            self.draft.0,
            self.thread.0,
            self.message.0,
            self.reply.0,
            self.read,
            self.expense_type.0,
            self.payment_method.0,
            self.approval_rule.0,
            self.card_payment.0,
        ]
        .into_iter()
        .collect()
    }
}

const OTHER_FIRM: &str = "Other Books";
/// The second firm's people: e-mail, name, accountant?, roles in its company "Oak Outfitters".
/// Rita is an approver whom no rule names; Sam administers the company and nothing else.
const OTHER_PEOPLE: &[(&str, &str, bool, &[Role])] = &[
    ("olga@other.kvits", "Olga Accountant", true, &[]),
    (
        "oscar@other.kvits",
        "Oscar Employee",
        false,
        &[Role::Employee],
    ),
    (
        "paula@other.kvits",
        "Paula Approver",
        false,
        &[Role::Approver],
    ),
    (
        "rita@other.kvits",
        "Rita Approver",
        false,
        &[Role::Approver],
    ),
    ("quinn@other.kvits", "Quinn Client", false, &[Role::Client]),
    ("sam@other.kvits", "Sam Admin", false, &[Role::CompanyAdmin]),
];

/// (e-mail, label, company name, manages) of the demo people.
const DEMO_PEOPLE: &[(&str, &str, &str, bool)] = &[
    ("anna@demo.kvits", "anna (accountant)", "Birch Bakery", true),
    (
        "emma@demo.kvits",
        "emma (employee, Birch)",
        "Birch Bakery",
        false,
    ),
    (
        "mark@demo.kvits",
        "mark (approver+employee, Birch)",
        "Birch Bakery",
        false,
    ),
    (
        "alice@demo.kvits",
        "alice (approver, Birch)",
        "Birch Bakery",
        false,
    ),
    (
        "clara@demo.kvits",
        "clara (client+admin, Birch)",
        "Birch Bakery",
        true,
    ),
    (
        "otto@demo.kvits",
        "otto (employee, Cedar)",
        "Cedar Logistics",
        false,
    ),
    (
        "vera@demo.kvits",
        "vera (approver+admin+client, Cedar)",
        "Cedar Logistics",
        true,
    ),
];

fn fields(
    expense_type: ExpenseTypeId,
    payment_method: PaymentMethodId,
    cents: i64,
) -> ExpenseFields {
    ExpenseFields {
        expense_type_id: Some(expense_type),
        payment_method_id: Some(payment_method),
        amount: Some(Money {
            amount_minor: cents,
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

/// Captures, attaches and submits a receipt; answers its id.
async fn submit_receipt(
    d: &mut Device,
    company: CompanyId,
    fields: ExpenseFields,
    page: ReceiptPage,
) -> ExpenseId {
    let id = ExpenseId(new_uuid());
    apply_all(
        d,
        vec![
            Mutation::CreateExpense {
                expense_id: id,
                company_id: company,
                document_type: DocumentType::Receipt,
                fields,
            },
            Mutation::AttachReceipt {
                expense_id: id,
                pages: vec![page],
            },
            Mutation::SubmitExpense { expense_id: id },
        ],
    )
    .await;
    id
}

/// A message from the accountant to `company`, read and answered by `client`.
async fn conversation(
    accountant: &mut Device,
    client: &mut Device,
    company: CompanyId,
) -> (ThreadId, MessageId, MessageId) {
    let broadcast = MessageId(new_uuid());
    apply_all(
        accountant,
        vec![Mutation::SendMessage {
            message_id: broadcast,
            company_ids: vec![company],
            subject: "Receipts for November".into(),
            body: "Please send every November receipt by December 5.".into(),
            attachment: None,
        }],
    )
    .await;
    let thread = ThreadId::for_recipient(broadcast, company);
    let message = MessageId::for_recipient(broadcast, company);
    let reply = MessageId(new_uuid());
    apply_all(
        client,
        vec![
            Mutation::MarkRead {
                thread_id: thread,
                up_to: message,
            },
            Mutation::ReplyMessage {
                message_id: reply,
                thread_id: thread,
                body: "Will do.".into(),
                attachment: None,
            },
        ],
    )
    .await;
    (thread, message, reply)
}

/// The second firm, "Other Books" with "Oak Outfitters" and [`OTHER_PEOPLE`] (password `demo`),
/// made the way the CLI makes firms; answers its id, the company's and the people's.
async fn other_firm(srv: &TestServer) -> (FirmId, CompanyId, Vec<UserId>) {
    srv.server
        .state()
        .db
        .write(|c| {
            let hash = auth::hash_password(kvits_sync_server::demo::PASSWORD)?;
            let firm = admin::create_firm(c, OTHER_FIRM)?;
            let oak = admin::create_company(c, firm, &CompanyDetails::named("Oak Outfitters"))?;
            let mut ids = Vec::new();
            for (email, name, accountant, roles) in OTHER_PEOPLE {
                let id = admin::create_user(
                    c,
                    firm,
                    email,
                    name,
                    Some(&hash),
                    accountant.then_some(StaffRole::FirmAdmin),
                )?;
                if !roles.is_empty() {
                    admin::set_roles(c, oak, id, roles)?;
                }
                ids.push(id);
            }
            Ok((firm, oak, ids))
        })
        .await
        .expect("second firm")
}

/// `accountant` imports a card statement into `company` and saves a bank profile named after
/// the firm; answers one of the card payments the import made.
async fn statement_and_profile(
    srv: &TestServer,
    accountant: &mut Device,
    company: CompanyId,
    firm_name: &str,
) -> kvits_protocol::CardTransactionId {
    let file = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/statements/birch-2026-11.camt053.xml"),
    )
    .expect("statement");
    let r = send(
        req(
            srv,
            &accountant.token,
            Method::POST,
            &format!("/v1/companies/{company}/statements"),
        )
        .body(file),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.show());
    let r = send(
        req(srv, &accountant.token, Method::POST, "/v1/bank-profiles")
            .json(&bank_profile(&format!("{firm_name} bank"))),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.show());
    accountant.open(company).await;
    accountant
        .pull_from(0, Some(1000))
        .await
        .changes
        .into_iter()
        .find_map(|c| match c.op {
            ChangeOp::Upsert { entity } => match *entity {
                Entity::CardTransaction(t) if t.company_id == company => Some(t.id),
                _ => None,
            },
            ChangeOp::Delete { .. } => None,
        })
        .expect("a card payment")
}

/// A bank's CSV layout named `name`.
fn bank_profile(name: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name, "delimiter": 59, "encoding": "utf-8", "header_rows": 1,
        "date_format": "%d.%m.%Y", "decimal_mark": ",",
        "columns": {"booking_date": 0, "amount": 1, "description": 2, "default_currency": "EUR"}
    })
}

/// `inviter` invites a new person into `company` (who never accepts); answers the invitation's
/// id and what the server keeps of its token (its SHA-256).
async fn pending_invitation(
    srv: &TestServer,
    inviter: &Device,
    company: CompanyId,
    email: &str,
) -> (kvits_protocol::InvitationId, String) {
    let r = send(
        req(
            srv,
            &inviter.token,
            Method::POST,
            &format!("/v1/companies/{company}/users"),
        )
        .json(&serde_json::json!({"email": email, "name": "Not Yet", "roles": ["employee"]})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.show());
    let invitation: kvits_protocol::Invitation =
        serde_json::from_slice(&r.body).expect("invitation");
    (invitation.id, sha_hex(invitation.token.as_bytes()))
}

/// The demo firm and "Other Books", each with a submitted expense (photo uploaded through the
/// upload endpoints), a draft, a conversation with a read record, catalog rows and an upload
/// in progress.
async fn world() -> (TestServer, Tenant, Tenant) {
    let srv = TestServer::start().await;
    let (firm, oak, ids) = other_firm(&srv).await;

    // Everyone signs in (argon2: in parallel).
    let emails: Vec<&str> = DEMO_PEOPLE
        .iter()
        .map(|p| p.0)
        .chain(OTHER_PEOPLE.iter().map(|p| p.0))
        .collect();
    let devices = futures::future::join_all(emails.iter().map(|e| srv.device(e))).await;
    let mut devices: BTreeMap<&str, Device> = emails.iter().copied().zip(devices).collect();
    let mut take = |email: &str| devices.remove(email).expect("device");

    let demo = srv.demo.clone();
    let birch = demo.company("Birch Bakery");

    // ---- Other Books: catalog, rule, conversation, expenses, upload in progress.
    let mut olga = take("olga@other.kvits");
    let mut oscar = take("oscar@other.kvits");
    let paula = take("paula@other.kvits");
    let rita = take("rita@other.kvits");
    let mut quinn = take("quinn@other.kvits");
    let sam = take("sam@other.kvits");
    let (oscar_id, paula_id) = (ids[1], ids[2]);
    let expense_type = ExpenseTypeId(new_uuid());
    let payment_method = PaymentMethodId(new_uuid());
    let approval_rule = ApprovalRuleId(new_uuid());
    apply_all(
        &mut olga,
        vec![
            Mutation::PutExpenseType(ExpenseType {
                id: expense_type,
                company_id: oak,
                code: "7000".into(),
                name: "Tools".into(),
                active: true,
            }),
            Mutation::PutPaymentMethod(PaymentMethod {
                id: payment_method,
                company_id: oak,
                payment_kind: PaymentKind::CompanyCard,
                label: "Oak Visa".into(),
                last_four: Some("5555".into()),
                holder_id: Some(oscar_id),
                active: true,
                statement_ref: None,
            }),
            Mutation::PutApprovalRule(ApprovalRule {
                id: approval_rule,
                company_id: oak,
                name: "Paula approves everything".into(),
                position: 1,
                active: true,
                document_type: None,
                expense_type_ids: Vec::new(),
                min_amount_minor: None,
                max_amount_minor: None,
                currency: "EUR".into(),
                steps: vec![ApprovalStep {
                    approver_ids: vec![paula_id],
                }],
            }),
        ],
    )
    .await;
    let (thread, message, reply) = conversation(&mut olga, &mut quinn, oak).await;
    let photo = common::receipt(1);
    let page = upload(&srv, &oscar.token, &photo).await;
    let submitted = submit_receipt(
        &mut oscar,
        oak,
        fields(expense_type, payment_method, 4200),
        page.clone(),
    )
    .await;
    let draft = ExpenseId(new_uuid());
    apply_all(
        &mut oscar,
        vec![Mutation::CreateExpense {
            expense_id: draft,
            company_id: oak,
            document_type: DocumentType::Receipt,
            fields: fields(expense_type, payment_method, 990),
        }],
    )
    .await;
    let pending = common::receipt(3);
    let upload_id = partial_upload(&srv, &oscar.token, &pending, 100).await;
    let (invitation, invitation_hash) =
        pending_invitation(&srv, &olga, oak, "nora@other.kvits").await;
    let card_payment = statement_and_profile(&srv, &mut olga, oak, OTHER_FIRM).await;
    let person = |d: Device, i: usize, label: &str, manages: bool| Person {
        label: format!("{label} ({OTHER_FIRM})"),
        email: OTHER_PEOPLE[i].0.into(),
        device: d,
        own_company: oak,
        manages,
    };
    // The victims' accountants hold their clients' documents (the snapshot pulls through them).
    olga.open(oak).await;
    let other = Tenant {
        name: OTHER_FIRM,
        firm,
        company: oak,
        accountant: olga.clone(),
        people: vec![
            person(olga, 0, "olga (firm admin)", true),
            person(oscar, 1, "oscar (employee)", false),
            person(paula, 2, "paula (approver)", false),
            person(rita, 3, "rita (approver, routed nowhere)", false),
            person(quinn, 4, "quinn (client)", false),
            person(sam, 5, "sam (company admin)", true),
        ],
        employee: oscar_id,
        employee_email: OTHER_PEOPLE[1].0.into(),
        approver: paula_id,
        submitted,
        submitted_revision: 3,
        draft,
        thread,
        message,
        reply,
        read: kvits_protocol::message_read_id(message, ids[4]),
        expense_type,
        payment_method,
        approval_rule,
        page,
        upload: upload_id,
        upload_sha: sha_hex(&pending),
        invitation,
        invitation_hash,
        card_payment,
    };

    // ---- The demo firm: Birch Bakery's rows.
    let mut anna = take("anna@demo.kvits");
    let mut emma = take("emma@demo.kvits");
    let mut clara = take("clara@demo.kvits");
    let expense_type = demo.expense_types[&("Birch Bakery", "Meals")];
    let payment_method = demo.payment_methods[&("Birch Bakery", "Visa Business".to_string())];
    let approval_rule = anna
        .pull_from(0, Some(1000))
        .await
        .changes
        .into_iter()
        .find_map(|c| match c.op {
            ChangeOp::Upsert { entity } => match *entity {
                Entity::ApprovalRule(r) if r.company_id == birch => Some(r.id),
                _ => None,
            },
            ChangeOp::Delete { .. } => None,
        })
        .expect("Birch's approval rule");
    let (thread, message, reply) = conversation(&mut anna, &mut clara, birch).await;
    let photo = common::receipt(0);
    let page = upload(&srv, &emma.token, &photo).await;
    let submitted = submit_receipt(
        &mut emma,
        birch,
        fields(expense_type, payment_method, 1240),
        page.clone(),
    )
    .await;
    let draft = ExpenseId(new_uuid());
    apply_all(
        &mut emma,
        vec![Mutation::CreateExpense {
            expense_id: draft,
            company_id: birch,
            document_type: DocumentType::Receipt,
            fields: fields(expense_type, payment_method, 350),
        }],
    )
    .await;
    let pending = common::receipt(2);
    let upload_id = partial_upload(&srv, &emma.token, &pending, 100).await;
    let (invitation, invitation_hash) =
        pending_invitation(&srv, &anna, birch, "nils@demo.kvits").await;
    let card_payment = statement_and_profile(&srv, &mut anna, birch, "Demo Accounting").await;
    let mut people = Vec::new();
    for (email, label, company, manages) in DEMO_PEOPLE {
        let device = match *email {
            "anna@demo.kvits" => anna.clone(),
            "emma@demo.kvits" => emma.clone(),
            "clara@demo.kvits" => clara.clone(),
            other => take(other),
        };
        people.push(Person {
            label: (*label).into(),
            email: (*email).into(),
            device,
            own_company: demo.company(company),
            manages: *manages,
        });
    }
    anna.open(birch).await;
    anna.open(demo.company("Cedar Logistics")).await;
    let demo_tenant = Tenant {
        name: "Demo Accounting",
        firm: demo.firm,
        company: birch,
        accountant: anna,
        people,
        employee: demo.user("emma@demo.kvits"),
        employee_email: "emma@demo.kvits".into(),
        approver: demo.user("alice@demo.kvits"),
        submitted,
        submitted_revision: 3,
        draft,
        thread,
        message,
        reply,
        read: kvits_protocol::message_read_id(message, demo.user("clara@demo.kvits")),
        expense_type,
        payment_method,
        approval_rule,
        page,
        upload: upload_id,
        upload_sha: sha_hex(&pending),
        invitation,
        invitation_hash,
        card_payment,
    };
    (srv, demo_tenant, other)
}

// ---------------------------------------------------------------------------------------------
// "Nothing written": everything the server keeps about a firm

/// Every stored fact about a firm (rows as text, per table), plus what its accountant pulls.
#[derive(Debug, PartialEq)]
struct Snapshot(BTreeMap<&'static str, Vec<String>>);

impl Snapshot {
    /// What differs from `after`, per table.
    fn diff(&self, after: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        for (table, rows) in &self.0 {
            let later = after.0.get(table).cloned().unwrap_or_default();
            if *rows != later {
                let gone: Vec<_> = rows.iter().filter(|r| !later.contains(r)).collect();
                let new: Vec<_> = later.iter().filter(|r| !rows.contains(r)).collect();
                out.push(format!("{table}: gone {gone:?}, new {new:?}"));
            }
        }
        out
    }
}

fn table(c: &rusqlite::Connection, sql: &str, firm: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = c.prepare(sql)?;
    let n = stmt.column_count();
    let rows = stmt.query_map([firm], |r| {
        let mut cols = Vec::with_capacity(n);
        for i in 0..n {
            cols.push(format!("{:?}", r.get::<_, rusqlite::types::Value>(i)?));
        }
        Ok(cols.join("|"))
    })?;
    let mut rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    rows.sort();
    Ok(rows)
}

/// Files under `dir`, with their size and hash.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            let data = std::fs::read(&path).expect("read");
            out.push(format!(
                "{}|{}|{}",
                path.display(),
                data.len(),
                sha_hex(&data)
            ));
        }
    }
    out.sort();
    out
}

/// The firm's state. Users in `except` are attackers of the same firm: their own sessions,
/// installs and mutation results may change (they push and pull), nothing else may.
async fn snapshot(
    srv: &TestServer,
    firm: FirmId,
    accountant: &Device,
    except: &[UserId],
) -> Snapshot {
    let mirror = accountant.pull_from(0, Some(1000)).await;
    assert!(!mirror.has_more, "the victim's accountant pulls one page");
    let except: Vec<String> = except.iter().map(ToString::to_string).collect();
    let f = firm.to_string();
    let mut tables: BTreeMap<&'static str, Vec<String>> = srv
        .server
        .state()
        .db
        .read(move |c| {
            let mut t = BTreeMap::new();
            let users = "(SELECT id FROM users WHERE firm_id = ?1)";
            let companies = "(SELECT id FROM entities WHERE kind = 'company' AND firm_id = ?1)";
            t.insert(
                "firms",
                table(
                    c,
                    "SELECT id, name, change_counter, assigned_clients_only FROM firms WHERE id = ?1",
                    &f,
                )?,
            );
            t.insert(
                "entities",
                table(
                    c,
                    &format!(
                        "SELECT kind, id, firm_id, company_id, parent_id, version, deleted, body
                         FROM entities WHERE firm_id = ?1 OR company_id IN {companies}"
                    ),
                    &f,
                )?,
            );
            t.insert(
                "users",
                table(
                    c,
                    "SELECT id, firm_id, email, name, password_hash, accountant, firm_admin,
                            access_version, disabled_at
                     FROM users WHERE firm_id = ?1",
                    &f,
                )?,
            );
            t.insert(
                "memberships",
                table(
                    c,
                    &format!(
                        "SELECT user_id, company_id, role FROM memberships
                         WHERE user_id IN {users} OR company_id IN {companies}"
                    ),
                    &f,
                )?,
            );
            t.insert(
                "assignments",
                table(
                    c,
                    &format!(
                        "SELECT user_id, company_id FROM assignments
                         WHERE user_id IN {users} OR company_id IN {companies}"
                    ),
                    &f,
                )?,
            );
            t.insert(
                "invitations",
                table(
                    c,
                    &format!(
                        "SELECT token_hash, id, firm_id, email, company_id, roles, staff_role,
                                assigned, created_by, expires_at, used_at
                         FROM invitations
                         WHERE firm_id = ?1 OR created_by IN {users} OR company_id IN {companies}"
                    ),
                    &f,
                )?,
            );
            t.insert(
                "tokens",
                table(
                    c,
                    &format!(
                        "SELECT user_id, token_hash, client_id, revoked_at, session_id FROM tokens
                         WHERE user_id IN {users}"
                    ),
                    &f,
                )?,
            );
            t.insert(
                "clients",
                table(
                    c,
                    &format!(
                        "SELECT user_id, client_id, device_name, last_seq, reset_before
                         FROM clients WHERE user_id IN {users}"
                    ),
                    &f,
                )?,
            );
            t.insert(
                "mutation_results",
                table(
                    c,
                    &format!(
                        "SELECT k.user_id, r.client_id, r.seq, r.result FROM mutation_results r
                         JOIN clients k ON k.client_id = r.client_id WHERE k.user_id IN {users}"
                    ),
                    &f,
                )?,
            );
            t.insert(
                "blobs",
                table(
                    c,
                    "SELECT sha256, size, content_type, width, height, uploaded_by, created_at
                     FROM blobs WHERE firm_id = ?1",
                    &f,
                )?,
            );
            t.insert(
                "blob_owners",
                table(
                    c,
                    "SELECT sha256, user_id FROM blob_owners WHERE firm_id = ?1",
                    &f,
                )?,
            );
            t.insert(
                "blob_refs",
                table(
                    c,
                    "SELECT sha256, kind, entity_id FROM blob_refs WHERE firm_id = ?1",
                    &f,
                )?,
            );
            t.insert(
                "statements",
                table(
                    c,
                    "SELECT id, company_id, format, file_name, sha256, transactions, new,
                            imported_by FROM statements WHERE firm_id = ?1",
                    &f,
                )?,
            );
            t.insert(
                "bank_profiles",
                table(
                    c,
                    "SELECT name, profile, updated_at FROM bank_profiles WHERE firm_id = ?1",
                    &f,
                )?,
            );
            t.insert(
                "uploads",
                table(
                    c,
                    r#"SELECT id, user_id, sha256, length, "offset", created_at, updated_at
                       FROM uploads WHERE firm_id = ?1"#,
                    &f,
                )?,
            );
            Ok(t)
        })
        .await
        .expect("snapshot");
    // Attackers of the same firm change their own sessions, queues and uploads only.
    for name in [
        "tokens",
        "clients",
        "mutation_results",
        "uploads",
        "blob_owners",
    ] {
        if let Some(rows) = tables.get_mut(name) {
            rows.retain(|r| !except.iter().any(|u| r.contains(u.as_str())));
        }
    }
    let upload_ids: Vec<String> = tables["uploads"]
        .iter()
        .filter_map(|r| r.split('|').next())
        .map(|id| {
            id.trim_start_matches("Text(\"")
                .trim_end_matches("\")")
                .to_owned()
        })
        .collect();
    tables.insert(
        "blob files",
        files(&srv.dir.join("blobs").join(firm.to_string())),
    );
    tables.insert(
        "partial files",
        files(&srv.dir.join("uploads"))
            .into_iter()
            .filter(|f| upload_ids.iter().any(|id| f.contains(id.as_str())))
            .collect(),
    );
    tables.insert(
        "accountant's pull",
        mirror
            .changes
            .iter()
            .map(|c| serde_json::to_string(c).expect("json"))
            .chain([format!("cursor {}", mirror.cursor)])
            .collect(),
    );
    Snapshot(tables)
}

async fn companies_of(srv: &TestServer, firm: FirmId) -> BTreeSet<CompanyId> {
    srv.server
        .state()
        .db
        .read(move |c| {
            let mut stmt =
                c.prepare("SELECT id FROM entities WHERE kind = 'company' AND firm_id = ?1")?;
            let ids = stmt.query_map([firm.to_string()], |r| {
                kvits_sync_server::store::uuid_col::<CompanyId>(r, 0)
            })?;
            Ok(ids.collect::<rusqlite::Result<BTreeSet<_>>>()?)
        })
        .await
        .expect("companies")
}

// ---------------------------------------------------------------------------------------------
// The matrix

#[derive(Debug, Default)]
struct Matrix {
    cells: usize,
    failures: Vec<String>,
    /// `(METHOD, path template)` of every route a cell exercised.
    routes: BTreeSet<(String, String)>,
    /// Every mutation name a `push <name>` cell sent.
    mutations: BTreeSet<String>,
}

/// The route a cell's endpoint label names: `"GET /v1/blobs/{sha256} (Range)"` and
/// `"GET /v1/approvals?company_id"` are `GET` of their path template, `"push <mutation>"` is
/// `POST /v1/sync/push`; a summary such as `"every endpoint above"` names none.
fn route_of(endpoint: &str) -> Option<(String, String)> {
    if endpoint.starts_with("push ") {
        return Some(("POST".into(), "/v1/sync/push".into()));
    }
    let (method, rest) = endpoint.split_once(' ')?;
    let path = rest.split([' ', '?']).next()?;
    (method.chars().all(|c| c.is_ascii_uppercase()) && path.starts_with('/'))
        .then(|| (method.to_owned(), path.to_owned()))
}

impl Matrix {
    fn cell(
        &mut self,
        endpoint: &str,
        actor: &str,
        target: &str,
        ok: bool,
        detail: impl FnOnce() -> String,
    ) {
        self.cells += 1;
        self.routes.extend(route_of(endpoint));
        if let Some(name) = endpoint.strip_prefix("push ") {
            self.mutations.insert(name.to_owned());
        }
        if !ok {
            self.failures
                .push(format!("({endpoint}, {actor}, {target}): {}", detail()));
        }
    }

    fn assert_clean(&self, min_cells: usize) {
        assert!(
            self.failures.is_empty(),
            "{} of {} cells failed:\n{}",
            self.failures.len(),
            self.cells,
            self.failures.join("\n")
        );
        assert!(
            self.cells >= min_cells,
            "only {} cells ran (expected at least {min_cells})",
            self.cells
        );
    }
}

/// What a mutation cell expects.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// `rejected` / `not_found`, and (given a twin with unknown ids) the very same outcome.
    NotFound,
    /// Exactly the outcome of the twin with unknown ids, which must not be a success that
    /// wrote something.
    LikeUnknown,
    /// Refused with any code (there is no twin: an unknown id would be applied).
    Refused,
}

struct Probe {
    endpoint: &'static str,
    target: String,
    mutation: Mutation,
    twin: Option<Mutation>,
    expect: Expect,
}

fn probe(
    endpoint: &'static str,
    target: impl Into<String>,
    mutation: Mutation,
    twin: Option<Mutation>,
    expect: Expect,
) -> Probe {
    Probe {
        endpoint,
        target: target.into(),
        mutation,
        twin,
        expect,
    }
}

/// The mutations an attacker tries against the victim's ids (and their twins with ids that
/// do not exist). `own_thread` is a conversation the attacker may see, if any.
fn mutation_probes(
    v: &Tenant,
    a: &Person,
    own_thread: Option<(ThreadId, MessageId)>,
) -> Vec<Probe> {
    use Expect::*;
    let unknown_company = || CompanyId(new_uuid());
    let unknown_expense = || ExpenseId(new_uuid());
    let some_fields = ExpenseFields {
        merchant: Some("Changed by an intruder".into()),
        ..ExpenseFields::default()
    };
    let expense_type = |id, company| ExpenseType {
        id,
        company_id: company,
        code: "9999".into(),
        name: "Intruder's type".into(),
        active: true,
    };
    let cash = |id, company| PaymentMethod {
        id,
        company_id: company,
        payment_kind: PaymentKind::OwnMoney,
        label: "Intruder's cash".into(),
        last_four: None,
        holder_id: None,
        active: true,
        statement_ref: None,
    };
    let card_for = |company, holder| PaymentMethod {
        id: PaymentMethodId(new_uuid()),
        company_id: company,
        payment_kind: PaymentKind::CompanyCard,
        label: "Intruder's card".into(),
        last_four: Some("1234".into()),
        holder_id: Some(holder),
        active: true,
        statement_ref: None,
    };
    let rule = |id, company, approver| ApprovalRule {
        id,
        company_id: company,
        name: "Intruder's rule".into(),
        position: 0,
        active: true,
        document_type: None,
        expense_type_ids: Vec::new(),
        min_amount_minor: None,
        max_amount_minor: None,
        currency: "EUR".into(),
        steps: vec![ApprovalStep {
            approver_ids: vec![approver],
        }],
    };
    let create = |id, company, fields| Mutation::CreateExpense {
        expense_id: id,
        company_id: company,
        document_type: DocumentType::Receipt,
        fields,
    };
    let decide = |id, kind| Mutation::DecideExpense {
        expense_id: id,
        seen_revision: v.submitted_revision,
        decision: kind,
        reason: (kind != DecisionKind::Approve).then(|| "Not a business expense".to_owned()),
    };
    let own = a.own_company;
    let mut probes = vec![
        probe(
            "push create_expense.v1",
            "victim company",
            create(unknown_expense(), v.company, ExpenseFields::default()),
            Some(create(
                unknown_expense(),
                unknown_company(),
                ExpenseFields::default(),
            )),
            NotFound,
        ),
        probe(
            "push create_expense.v1",
            "own company, victim's expense type",
            create(
                unknown_expense(),
                own,
                ExpenseFields {
                    expense_type_id: Some(v.expense_type),
                    ..ExpenseFields::default()
                },
            ),
            Some(create(
                unknown_expense(),
                own,
                ExpenseFields {
                    expense_type_id: Some(ExpenseTypeId(new_uuid())),
                    ..ExpenseFields::default()
                },
            )),
            LikeUnknown,
        ),
        probe(
            "push create_expense.v1",
            "own company, victim's payment method",
            create(
                unknown_expense(),
                own,
                ExpenseFields {
                    payment_method_id: Some(v.payment_method),
                    ..ExpenseFields::default()
                },
            ),
            Some(create(
                unknown_expense(),
                own,
                ExpenseFields {
                    payment_method_id: Some(PaymentMethodId(new_uuid())),
                    ..ExpenseFields::default()
                },
            )),
            LikeUnknown,
        ),
        probe(
            "push create_expense.v1",
            "victim's submitted expense id, own company",
            create(v.submitted, own, ExpenseFields::default()),
            None,
            Refused,
        ),
        probe(
            "push create_expense.v1",
            "victim's draft id, own company",
            create(v.draft, own, ExpenseFields::default()),
            None,
            Refused,
        ),
        probe(
            "push send_message.v1",
            "victim company",
            Mutation::SendMessage {
                message_id: MessageId(new_uuid()),
                company_ids: vec![v.company],
                subject: "Hello".into(),
                body: "From another firm".into(),
                attachment: None,
            },
            Some(Mutation::SendMessage {
                message_id: MessageId(new_uuid()),
                company_ids: vec![unknown_company()],
                subject: "Hello".into(),
                body: "From another firm".into(),
                attachment: None,
            }),
            NotFound,
        ),
        probe(
            "push reply_message.v1",
            "victim thread",
            Mutation::ReplyMessage {
                message_id: MessageId(new_uuid()),
                thread_id: v.thread,
                body: "Hi".into(),
                attachment: None,
            },
            Some(Mutation::ReplyMessage {
                message_id: MessageId(new_uuid()),
                thread_id: ThreadId(new_uuid()),
                body: "Hi".into(),
                attachment: None,
            }),
            NotFound,
        ),
    ];
    for (what, message) in [("victim message", v.message), ("victim reply", v.reply)] {
        probes.push(probe(
            "push mark_read.v1",
            format!("victim thread, {what}"),
            Mutation::MarkRead {
                thread_id: v.thread,
                up_to: message,
            },
            Some(Mutation::MarkRead {
                thread_id: ThreadId(new_uuid()),
                up_to: MessageId(new_uuid()),
            }),
            NotFound,
        ));
    }
    if let Some((thread, _)) = own_thread {
        probes.push(probe(
            "push mark_read.v1",
            "own thread, victim message",
            Mutation::MarkRead {
                thread_id: thread,
                up_to: v.message,
            },
            Some(Mutation::MarkRead {
                thread_id: thread,
                up_to: MessageId(new_uuid()),
            }),
            LikeUnknown,
        ));
        probes.push(probe(
            "push reply_message.v1",
            "own thread, victim reply's id",
            Mutation::ReplyMessage {
                message_id: v.reply,
                thread_id: thread,
                body: "Taking over your id".into(),
                attachment: None,
            },
            None,
            Refused,
        ));
    }
    // The firm's review, aimed at someone else's expense (with a type id of nobody's).
    let correct = |id: ExpenseId| Mutation::CorrectExpense {
        expense_id: id,
        seen_revision: 3,
        expense_type_id: ExpenseTypeId(new_uuid()),
        vat: Vec::new(),
        account_code: Some("7210".into()),
    };
    for (what, id) in [("submitted expense", v.submitted), ("draft", v.draft)] {
        let unknown = unknown_expense();
        let pairs = [
            (
                "push set_expense_fields.v1",
                Mutation::SetExpenseFields {
                    expense_id: id,
                    fields: some_fields.clone(),
                },
                Mutation::SetExpenseFields {
                    expense_id: unknown,
                    fields: some_fields.clone(),
                },
                NotFound,
            ),
            (
                "push set_document_type.v1",
                Mutation::SetDocumentType {
                    expense_id: id,
                    document_type: DocumentType::Invoice,
                },
                Mutation::SetDocumentType {
                    expense_id: unknown,
                    document_type: DocumentType::Invoice,
                },
                NotFound,
            ),
            (
                "push attach_receipt.v1",
                Mutation::AttachReceipt {
                    expense_id: id,
                    pages: vec![v.page.clone()],
                },
                Mutation::AttachReceipt {
                    expense_id: unknown,
                    pages: vec![v.page.clone()],
                },
                NotFound,
            ),
            (
                "push submit_expense.v1",
                Mutation::SubmitExpense { expense_id: id },
                Mutation::SubmitExpense {
                    expense_id: unknown,
                },
                NotFound,
            ),
            (
                "push correct_expense.v1",
                correct(id),
                correct(unknown),
                NotFound,
            ),
            (
                "push return_expense.v1",
                Mutation::ReturnExpense {
                    expense_id: id,
                    seen_revision: 3,
                    question: "Whose is this?".into(),
                },
                Mutation::ReturnExpense {
                    expense_id: unknown,
                    seen_revision: 3,
                    question: "Whose is this?".into(),
                },
                NotFound,
            ),
            (
                "push answer_expense.v1",
                Mutation::AnswerExpense {
                    expense_id: id,
                    answer: "Mine now".into(),
                },
                Mutation::AnswerExpense {
                    expense_id: unknown,
                    answer: "Mine now".into(),
                },
                NotFound,
            ),
            (
                "push mark_reviewed.v1",
                Mutation::MarkReviewed {
                    expense_id: id,
                    seen_revision: 3,
                },
                Mutation::MarkReviewed {
                    expense_id: unknown,
                    seen_revision: 3,
                },
                NotFound,
            ),
            (
                "push unlock_expense.v1",
                Mutation::UnlockExpense {
                    expense_id: id,
                    seen_revision: 3,
                },
                Mutation::UnlockExpense {
                    expense_id: unknown,
                    seen_revision: 3,
                },
                NotFound,
            ),
            // Export batches are the server's own: refused from any app, for any id alike.
            (
                "push start_export.v1",
                Mutation::StartExport {
                    expense_id: id,
                    seen_revision: 3,
                    batch_id: kvits_protocol::ExportBatchId(new_uuid()),
                    batch_number: 1,
                    voucher: "1-001".into(),
                },
                Mutation::StartExport {
                    expense_id: unknown,
                    seen_revision: 3,
                    batch_id: kvits_protocol::ExportBatchId(new_uuid()),
                    batch_number: 1,
                    voucher: "1-001".into(),
                },
                LikeUnknown,
            ),
            (
                "push finish_export.v1",
                Mutation::FinishExport {
                    expense_id: id,
                    batch_id: kvits_protocol::ExportBatchId(new_uuid()),
                },
                Mutation::FinishExport {
                    expense_id: unknown,
                    batch_id: kvits_protocol::ExportBatchId(new_uuid()),
                },
                LikeUnknown,
            ),
            (
                "push cancel_export.v1",
                Mutation::CancelExport {
                    expense_id: id,
                    batch_id: kvits_protocol::ExportBatchId(new_uuid()),
                },
                Mutation::CancelExport {
                    expense_id: unknown,
                    batch_id: kvits_protocol::ExportBatchId(new_uuid()),
                },
                LikeUnknown,
            ),
            // Deleting what one cannot see answers as for an id that never existed.
            (
                "push delete_expense.v1",
                Mutation::DeleteExpense { expense_id: id },
                Mutation::DeleteExpense {
                    expense_id: unknown,
                },
                LikeUnknown,
            ),
        ];
        for (endpoint, m, twin, expect) in pairs {
            probes.push(probe(endpoint, what, m, Some(twin), expect));
        }
    }
    // A card payment of the victim's: every action on it answers as for one that never
    // existed (and matching it to the victim's receipt too).
    let unknown_payment = || kvits_protocol::CardTransactionId(new_uuid());
    let card_actions = |t: kvits_protocol::CardTransactionId| {
        [
            (
                "push match_card_transaction.v1",
                Mutation::MatchCardTransaction {
                    transaction_id: t,
                    expense_id: v.submitted,
                },
            ),
            (
                "push unmatch_card_transaction.v1",
                Mutation::UnmatchCardTransaction { transaction_id: t },
            ),
            (
                "push declare_no_receipt.v1",
                Mutation::DeclareNoReceipt {
                    transaction_id: t,
                    reason: kvits_protocol::NoReceiptReason::Lost,
                    note: None,
                },
            ),
            (
                "push accept_no_receipt.v1",
                Mutation::AcceptNoReceipt { transaction_id: t },
            ),
        ]
    };
    for ((endpoint, m), (_, twin)) in card_actions(v.card_payment)
        .into_iter()
        .zip(card_actions(unknown_payment()))
    {
        probes.push(probe(endpoint, "card payment", m, Some(twin), NotFound));
    }
    for kind in [
        DecisionKind::Approve,
        DecisionKind::Reject,
        DecisionKind::Return,
    ] {
        probes.push(probe(
            "push decide_expense.v1",
            format!("submitted expense ({kind:?})"),
            decide(v.submitted, kind),
            Some(decide(unknown_expense(), kind)),
            NotFound,
        ));
    }
    probes.extend([
        probe(
            "push put_expense_type.v1",
            "victim company, new id",
            Mutation::PutExpenseType(expense_type(ExpenseTypeId(new_uuid()), v.company)),
            Some(Mutation::PutExpenseType(expense_type(
                ExpenseTypeId(new_uuid()),
                unknown_company(),
            ))),
            NotFound,
        ),
        probe(
            "push put_expense_type.v1",
            "victim company, victim's row",
            Mutation::PutExpenseType(expense_type(v.expense_type, v.company)),
            Some(Mutation::PutExpenseType(expense_type(
                ExpenseTypeId(new_uuid()),
                unknown_company(),
            ))),
            NotFound,
        ),
        probe(
            "push put_expense_type.v1",
            "own company, victim's row id",
            Mutation::PutExpenseType(expense_type(v.expense_type, own)),
            None,
            Refused,
        ),
        probe(
            "push put_payment_method.v1",
            "victim company, new id",
            Mutation::PutPaymentMethod(cash(PaymentMethodId(new_uuid()), v.company)),
            Some(Mutation::PutPaymentMethod(cash(
                PaymentMethodId(new_uuid()),
                unknown_company(),
            ))),
            NotFound,
        ),
        probe(
            "push put_payment_method.v1",
            "victim company, victim's row",
            Mutation::PutPaymentMethod(cash(v.payment_method, v.company)),
            Some(Mutation::PutPaymentMethod(cash(
                PaymentMethodId(new_uuid()),
                unknown_company(),
            ))),
            NotFound,
        ),
        probe(
            "push put_payment_method.v1",
            "own company, victim's row id",
            Mutation::PutPaymentMethod(cash(v.payment_method, own)),
            None,
            Refused,
        ),
        probe(
            "push put_payment_method.v1",
            "own company, victim employee as holder",
            Mutation::PutPaymentMethod(card_for(own, v.employee)),
            Some(Mutation::PutPaymentMethod(card_for(
                own,
                UserId(new_uuid()),
            ))),
            LikeUnknown,
        ),
        probe(
            "push put_approval_rule.v1",
            "victim company, new id",
            Mutation::PutApprovalRule(rule(ApprovalRuleId(new_uuid()), v.company, v.approver)),
            Some(Mutation::PutApprovalRule(rule(
                ApprovalRuleId(new_uuid()),
                unknown_company(),
                v.approver,
            ))),
            NotFound,
        ),
        probe(
            "push put_approval_rule.v1",
            "victim company, victim's row",
            Mutation::PutApprovalRule(rule(v.approval_rule, v.company, v.approver)),
            Some(Mutation::PutApprovalRule(rule(
                ApprovalRuleId(new_uuid()),
                unknown_company(),
                v.approver,
            ))),
            NotFound,
        ),
        probe(
            "push put_approval_rule.v1",
            "own company, victim's row id",
            Mutation::PutApprovalRule(rule(v.approval_rule, own, v.approver)),
            None,
            Refused,
        ),
        probe(
            "push put_approval_rule.v1",
            "own company, victim approver in a step",
            Mutation::PutApprovalRule(rule(ApprovalRuleId(new_uuid()), own, v.approver)),
            Some(Mutation::PutApprovalRule(rule(
                ApprovalRuleId(new_uuid()),
                own,
                UserId(new_uuid()),
            ))),
            LikeUnknown,
        ),
    ]);
    probes
}

/// Runs every cell of one attacker against one victim. `cross_firm`: the attacker works for
/// another firm (else for another company of the victim's firm). `off_limits`: the companies
/// whose rows the attacker must never see.
async fn attack(
    srv: &TestServer,
    v: &Tenant,
    a: &Person,
    cross_firm: bool,
    off_limits: &BTreeSet<CompanyId>,
    m: &mut Matrix,
) {
    let who = a.label.as_str();
    let token = a.device.token.clone();
    let mut d = fresh_install(&a.device);
    let victim_ids = v.row_ids();

    // GET /v1/me: the attacker's own firm and companies only.
    let r = send(req(srv, &token, Method::GET, "/v1/me")).await;
    let session: Option<Session> = serde_json::from_slice(&r.body).ok();
    m.cell(
        "GET /v1/me",
        who,
        "victim firm and companies",
        r.status == 200
            && session.as_ref().is_some_and(|s| {
                (!cross_firm || s.firm.id != v.firm)
                    && s.memberships
                        .iter()
                        .all(|ms| !off_limits.contains(&ms.company_id))
            }),
        || r.show(),
    );

    // Sessions: the attacker lists only their own, and a victim's session id (learned from the
    // victim) ends nothing; nor does turning a victim's access off.
    let victim_sessions: Vec<kvits_protocol::SignedInDevice> = serde_json::from_slice(
        &send(req(
            srv,
            &v.accountant.token,
            Method::GET,
            "/v1/auth/sessions",
        ))
        .await
        .body,
    )
    .expect("the victim's sessions");
    let victim_session = victim_sessions
        .iter()
        .find(|s| s.current)
        .map(|s| s.id.clone())
        .expect("the victim's current session");
    let r = send(req(srv, &token, Method::GET, "/v1/auth/sessions")).await;
    let listed: Option<Vec<kvits_protocol::SignedInDevice>> = serde_json::from_slice(&r.body).ok();
    m.cell(
        "GET /v1/auth/sessions",
        who,
        "victim's sessions",
        r.status == 200
            && listed.is_some_and(|l| {
                l.iter()
                    .all(|s| victim_sessions.iter().all(|x| x.id != s.id))
            }),
        || r.show(),
    );
    let r = send(req(
        srv,
        &token,
        Method::DELETE,
        &format!("/v1/auth/sessions/{victim_session}"),
    ))
    .await;
    m.cell(
        "DELETE /v1/auth/sessions/{session_id}",
        who,
        "victim's session",
        r.is_not_found(),
        || r.show(),
    );
    // The victim's open invitation cannot be cancelled: not found (another firm, or a company
    // the person has no role in) or forbidden (a member who does not manage it).
    let r = send(req(
        srv,
        &token,
        Method::DELETE,
        &format!("/v1/invitations/{}", v.invitation),
    ))
    .await;
    m.cell(
        "DELETE /v1/invitations/{invitation_id}",
        who,
        "victim company's invitation",
        r.is_not_found() || r.has_code(403, ErrorCode::Forbidden),
        || r.show(),
    );
    for target in [v.employee, v.accountant.user] {
        let r = send(
            req(
                srv,
                &token,
                Method::PUT,
                &format!("/v1/users/{target}/access"),
            )
            .json(&serde_json::json!({"disabled": true})),
        )
        .await;
        m.cell(
            "PUT /v1/users/{user_id}/access",
            who,
            "victim's access",
            r.has_code(403, ErrorCode::Forbidden) || r.is_not_found(),
            || r.show(),
        );
    }

    // GET /v1/sync/pull: nothing of the victim, not even a tombstone.
    let changes = d.pull_all().await;
    let leaked: Vec<String> = changes
        .iter()
        .filter_map(|c| match &c.op {
            ChangeOp::Upsert { entity }
                if off_limits.contains(&entity.company_id())
                    || victim_ids.contains(&entity.id()) =>
            {
                Some(format!("{} {}", entity.kind().as_str(), entity.id()))
            }
            ChangeOp::Delete { kind, id } if victim_ids.contains(id) => {
                Some(format!("tombstone {} {id}", kind.as_str()))
            }
            _ => None,
        })
        .collect();
    m.cell(
        "GET /v1/sync/pull",
        who,
        "victim rows",
        leaked.is_empty(),
        || format!("leaked {leaked:?}"),
    );
    let own_thread = changes.iter().find_map(|c| match &c.op {
        ChangeOp::Upsert { entity } => match entity.as_ref() {
            Entity::Message(msg) if msg.company_id == a.own_company => {
                Some((msg.thread_id, msg.id))
            }
            _ => None,
        },
        ChangeOp::Delete { .. } => None,
    });

    // Another user's install: 403 (the protocol's answer), and none of its results.
    let victim_client = v.accountant.client;
    let r = send(req(
        srv,
        &token,
        Method::GET,
        &format!("/v1/sync/pull?client_id={victim_client}&cursor=0&results_after=0"),
    ))
    .await;
    m.cell(
        "GET /v1/sync/pull",
        who,
        "victim accountant's client id",
        r.has_code(403, ErrorCode::Forbidden),
        || r.show(),
    );
    let body = serde_json::json!({
        "client_id": victim_client,
        "mutations": [{
            "seq": 1, "created_at": "2026-11-23T10:00:00Z",
            "name": "delete_expense.v1", "args": {"expense_id": v.draft}
        }],
    });
    let r = send(req(srv, &token, Method::POST, "/v1/sync/push").json(&body)).await;
    m.cell(
        "POST /v1/sync/push",
        who,
        "victim accountant's client id",
        r.has_code(403, ErrorCode::Forbidden),
        || r.show(),
    );

    // GET /v1/approvals filtered by the victim's company: what an unknown company gets.
    let path = |c: CompanyId| format!("/v1/approvals?company_id={c}");
    let r = send(req(srv, &token, Method::GET, &path(v.company))).await;
    let twin = send(req(srv, &token, Method::GET, &path(CompanyId(new_uuid())))).await;
    m.cell(
        "GET /v1/approvals?company_id",
        who,
        "victim company",
        r.status == 200 && r.body == b"[]" && r.same_as(&twin),
        || format!("{} / unknown company: {}", r.show(), twin.show()),
    );
    let r = send(req(srv, &token, Method::GET, "/v1/approvals")).await;
    let tasks: Vec<kvits_protocol::Expense> = serde_json::from_slice(&r.body).unwrap_or_default();
    m.cell(
        "GET /v1/approvals",
        who,
        "victim expenses",
        r.status == 200 && tasks.iter().all(|e| !off_limits.contains(&e.company_id)),
        || r.show(),
    );

    // The company endpoints, with the victim's company and people.
    let invite = serde_json::json!({
        "email": format!("intruder-{}@intruder.kvits", new_uuid().simple()),
        "name": "Intruder",
        "roles": ["company_admin"],
    });
    let invite_path = |c: CompanyId| format!("/v1/companies/{c}/users");
    let r = send(req(srv, &token, Method::POST, &invite_path(v.company)).json(&invite)).await;
    let twin = send(
        req(
            srv,
            &token,
            Method::POST,
            &invite_path(CompanyId(new_uuid())),
        )
        .json(&invite),
    )
    .await;
    m.cell(
        "POST /v1/companies/{company_id}/users",
        who,
        "victim company",
        r.is_not_found() && r.same_as(&twin),
        || format!("{} / unknown company: {}", r.show(), twin.show()),
    );
    let roles = serde_json::json!({"roles": ["company_admin", "approver"]});
    let roles_path = |c: CompanyId, u: UserId| format!("/v1/companies/{c}/users/{u}/roles");
    let unknown_pair = roles_path(CompanyId(new_uuid()), UserId(new_uuid()));
    let twin = send(req(srv, &token, Method::PUT, &unknown_pair).json(&roles)).await;
    for (target, company, user) in [
        ("victim company, victim employee", v.company, v.employee),
        ("victim company, the attacker", v.company, a.device.user),
    ] {
        let r = send(req(srv, &token, Method::PUT, &roles_path(company, user)).json(&roles)).await;
        m.cell(
            "PUT /v1/companies/{company_id}/users/{user_id}/roles",
            who,
            target,
            r.is_not_found() && r.same_as(&twin),
            || format!("{} / unknown ids: {}", r.show(), twin.show()),
        );
    }
    if cross_firm {
        // Into one's own company, a person of another firm: as for a person who does not
        // exist (404 for those who manage it, else the protocol's 403 for the role).
        let r = send(
            req(
                srv,
                &token,
                Method::PUT,
                &roles_path(a.own_company, v.employee),
            )
            .json(&roles),
        )
        .await;
        let twin = send(
            req(
                srv,
                &token,
                Method::PUT,
                &roles_path(a.own_company, UserId(new_uuid())),
            )
            .json(&roles),
        )
        .await;
        let expected = if a.manages { 404 } else { 403 };
        m.cell(
            "PUT /v1/companies/{company_id}/users/{user_id}/roles",
            who,
            "own company, victim employee",
            r.status == expected && r.same_as(&twin),
            || format!("{} / unknown user: {}", r.show(), twin.show()),
        );
        // Inviting the victim's e-mail into one's own company never attaches that person, nor
        // says that the e-mail has an account: for those who manage the company the answer is
        // an invitation like a new e-mail's (only its owner learns more, at the link); else 403.
        let invite = |email: String| {
            let body =
                serde_json::json!({"email": email, "name": "Someone", "roles": ["employee"]});
            req(srv, &token, Method::POST, &invite_path(a.own_company)).json(&body)
        };
        let r = send(invite(v.employee_email.clone())).await;
        let twin = send(invite(format!("{}@nobody.test", new_uuid()))).await;
        let shape = |r: &Reply| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
            let mut keys: Vec<String> = body
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            keys.sort_unstable();
            (r.status, keys)
        };
        let ok = if a.manages {
            r.status == 201 && shape(&r) == shape(&twin)
        } else {
            r.has_code(403, ErrorCode::Forbidden) && r.same_as(&twin)
        };
        m.cell(
            "POST /v1/companies/{company_id}/users",
            who,
            "own company, victim employee's e-mail",
            ok,
            || format!("{} / a new e-mail: {}", r.show(), twin.show()),
        );
        // POST /v1/companies lands in the attacker's own firm (accountants) or is refused.
        let r = send(
            req(srv, &token, Method::POST, "/v1/companies")
                .json(&serde_json::json!({"name": format!("Intruder Co {}", new_uuid())})),
        )
        .await;
        let company: Option<kvits_protocol::Company> = serde_json::from_slice(&r.body).ok();
        let firm_admin = a.label.contains("firm admin");
        let ok = if firm_admin {
            r.status == 201 && company.is_some_and(|c| c.firm_id != v.firm)
        } else {
            r.has_code(403, ErrorCode::Forbidden)
        };
        m.cell("POST /v1/companies", who, "victim firm", ok, || r.show());

        // The firm's house: a firm admin of another firm reaches only their own firm; anyone
        // else is refused before any id is looked at.
        let refused = |r: &Reply| r.has_code(403, ErrorCode::Forbidden);
        let r = send(
            req(
                srv,
                &token,
                Method::PUT,
                &format!("/v1/companies/{}", v.company),
            )
            .json(&serde_json::json!({"name": "Taken over", "active": false})),
        )
        .await;
        let ok = if firm_admin {
            r.is_not_found()
        } else {
            refused(&r)
        };
        m.cell(
            "PUT /v1/companies/{company_id}",
            who,
            "victim company",
            ok,
            || r.show(),
        );
        let r = send(
            req(
                srv,
                &token,
                Method::PUT,
                &format!("/v1/firm/staff/{}", v.accountant.user),
            )
            .json(&serde_json::json!({"role": "accountant", "assigned": []})),
        )
        .await;
        let ok = if firm_admin {
            r.is_not_found()
        } else {
            refused(&r)
        };
        m.cell(
            "PUT /v1/firm/staff/{user_id}",
            who,
            "victim accountant",
            ok,
            || r.show(),
        );
        let r = send(
            req(srv, &token, Method::POST, "/v1/firm/staff").json(&serde_json::json!({
                "email": format!("mole-{}@elsewhere.kvits", new_uuid().simple()),
                "name": "A Mole",
                "role": "accountant",
                "assigned": [v.company],
            })),
        )
        .await;
        let ok = if firm_admin {
            r.has_code(400, ErrorCode::BadRequest)
        } else {
            refused(&r)
        };
        m.cell(
            "POST /v1/firm/staff",
            who,
            "assigned to victim company",
            ok,
            || r.show(),
        );
        let r = send(req(srv, &token, Method::GET, "/v1/firm")).await;
        let firm: Option<kvits_protocol::Firm> = serde_json::from_slice(&r.body).ok();
        let ok = if firm_admin {
            r.status == 200
                && firm.is_some_and(|f| {
                    f.id != v.firm && f.staff.iter().all(|s| s.user_id != v.accountant.user)
                })
        } else {
            refused(&r)
        };
        m.cell("GET /v1/firm", who, "victim firm's staff", ok, || r.show());
        let r = send(req(srv, &token, Method::GET, "/v1/clients")).await;
        let overview: Option<kvits_protocol::ClientsOverview> =
            serde_json::from_slice(&r.body).ok();
        let staff = who.contains("accountant") || firm_admin;
        let ok = if staff {
            r.status == 200
                && overview.is_some_and(|o| {
                    o.clients
                        .iter()
                        .all(|c| !off_limits.contains(&c.company_id))
                })
        } else {
            refused(&r)
        };
        m.cell("GET /v1/clients", who, "victim's clients", ok, || r.show());
        // Export: every route of another company's answers as for one that does not exist.
        // (The batch routes get an unknown id here; tests/export.rs tries a real batch of
        // another company's people.)
        let company = v.company;
        let batch = kvits_protocol::ExportBatchId(new_uuid());
        for (method, template, path, body) in [
            (
                Method::GET,
                "GET /v1/companies/{company_id}/export/preview",
                format!("/v1/companies/{company}/export/preview?from=2026-01-01&to=2026-12-31"),
                None,
            ),
            (
                Method::POST,
                "POST /v1/companies/{company_id}/exports",
                format!("/v1/companies/{company}/exports"),
                Some(serde_json::json!({"from": "2026-01-01", "to": "2026-12-31"})),
            ),
            (
                Method::GET,
                "GET /v1/companies/{company_id}/exports",
                format!("/v1/companies/{company}/exports"),
                None,
            ),
            (
                Method::GET,
                "GET /v1/companies/{company_id}/export-settings",
                format!("/v1/companies/{company}/export-settings"),
                None,
            ),
            (
                Method::PUT,
                "PUT /v1/companies/{company_id}/export-settings",
                format!("/v1/companies/{company}/export-settings"),
                Some(serde_json::json!({
                    "sie": true, "vat_account": "2640", "employee_account": "2820",
                    "card_account": "2890"
                })),
            ),
            (
                Method::GET,
                "GET /v1/exports/{batch_id}/file",
                format!("/v1/exports/{batch}/file"),
                None,
            ),
            (
                Method::POST,
                "POST /v1/exports/{batch_id}/cancel",
                format!("/v1/exports/{batch}/cancel"),
                None,
            ),
        ] {
            let mut rb = req(srv, &token, method, &path);
            if let Some(body) = body {
                rb = rb.json(&body);
            }
            let r = send(rb).await;
            let ok = r.is_not_found() || refused(&r);
            m.cell(template, who, "victim company's export", ok, || r.show());
        }
        // Card statements: another company's answer as one that does not exist.
        for (method, template, path) in [
            (
                Method::POST,
                "POST /v1/companies/{company_id}/statements",
                format!("/v1/companies/{company}/statements"),
            ),
            (
                Method::GET,
                "GET /v1/companies/{company_id}/statements",
                format!("/v1/companies/{company}/statements"),
            ),
            (
                Method::GET,
                "GET /v1/companies/{company_id}/card-report",
                format!("/v1/companies/{company}/card-report"),
            ),
        ] {
            let body = (method == Method::POST).then(|| {
                std::fs::read(
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("tests/fixtures/statements/birch-2026-11.camt053.xml"),
                )
                .expect("statement")
            });
            let mut rb = req(srv, &token, method, &path);
            if let Some(body) = body {
                rb = rb.body(body);
            }
            let r = send(rb).await;
            let ok = r.is_not_found() || refused(&r);
            m.cell(
                template,
                who,
                "victim company's card statements",
                ok,
                || r.show(),
            );
        }
        // Bank profiles belong to a firm: another firm's never show, and only the firm's own
        // staff change them (here: a layout the server refuses, so nothing is written).
        let r = send(req(srv, &token, Method::GET, "/v1/bank-profiles")).await;
        let leaks = String::from_utf8_lossy(&r.body).contains(&format!("{} bank", v.name));
        let ok = refused(&r) || (r.status == 200 && !(cross_firm && leaks));
        m.cell(
            "GET /v1/bank-profiles",
            who,
            "victim firm's bank profiles",
            ok,
            || r.show(),
        );
        let mut broken = bank_profile(&format!("{} bank", v.name));
        broken["columns"] = serde_json::json!({"booking_date": 0});
        let r = send(req(srv, &token, Method::POST, "/v1/bank-profiles").json(&broken)).await;
        let ok = refused(&r) || r.has_code(400, ErrorCode::BadRequest);
        m.cell(
            "POST /v1/bank-profiles",
            who,
            "victim firm's bank profile",
            ok,
            || r.show(),
        );
        let r = send(req(
            srv,
            &token,
            Method::DELETE,
            &format!("/v1/bank-profiles/{} bank", v.name),
        ))
        .await;
        let ok = refused(&r) || r.is_not_found();
        m.cell(
            "DELETE /v1/bank-profiles/{name}",
            who,
            "victim firm's bank profile",
            ok,
            || r.show(),
        );
        let r = send(
            req(srv, &token, Method::POST, "/v1/sync/open").json(&serde_json::json!({
                "client_id": a.device.client,
                "company_id": v.company,
            })),
        )
        .await;
        let ok = if staff { r.is_not_found() } else { refused(&r) };
        m.cell("POST /v1/sync/open", who, "victim company", ok, || r.show());
        let r = send(
            req(srv, &token, Method::PUT, "/v1/firm/settings")
                .json(&serde_json::json!({"assigned_clients_only": false})),
        )
        .await;
        let ok = if firm_admin {
            r.status == 204
        } else {
            refused(&r)
        };
        m.cell(
            "PUT /v1/firm/settings",
            who,
            "victim firm's settings",
            ok,
            || r.show(),
        );
    }

    // Blobs: the victim's photo. A photo is readable (HEAD included) only by its uploader and
    // by those who may see a row naming it (docs/internals.md, "Photos"), so inside the firm too.
    let sha = v.page.sha256.clone();
    let unknown_sha = sha_hex(new_uuid().as_bytes());
    let r = send(req(srv, &token, Method::HEAD, &format!("/v1/blobs/{sha}"))).await;
    let twin = send(req(
        srv,
        &token,
        Method::HEAD,
        &format!("/v1/blobs/{unknown_sha}"),
    ))
    .await;
    m.cell(
        "HEAD /v1/blobs/{sha256}",
        who,
        "victim photo",
        r.is_not_found() && r.same_as(&twin),
        || format!("{} / unknown: {}", r.show(), twin.show()),
    );
    for (endpoint, suffix, headers) in [
        ("GET /v1/blobs/{sha256}", "", vec![]),
        ("GET /v1/blobs/{sha256}/thumbnail", "/thumbnail", vec![]),
        (
            "GET /v1/blobs/{sha256} (If-None-Match: *)",
            "",
            vec![("if-none-match", "*")],
        ),
        (
            "GET /v1/blobs/{sha256} (Range)",
            "",
            vec![("range", "bytes=0-9")],
        ),
    ] {
        let get = |s: &str| {
            let mut rb = req(srv, &token, Method::GET, &format!("/v1/blobs/{s}{suffix}"));
            for (name, value) in &headers {
                rb = rb.header(*name, *value);
            }
            rb
        };
        let r = send(get(&sha)).await;
        let twin = send(get(&unknown_sha)).await;
        m.cell(
            endpoint,
            who,
            "victim photo",
            r.is_not_found() && r.same_as(&twin),
            || format!("{} / unknown: {}", r.show(), twin.show()),
        );
    }

    // An upload in progress is its uploader's own (a restarted app resumes it by hash), so
    // nobody else reaches it, in the firm or not.
    let unknown = new_uuid().to_string();
    let path = |id: &str| format!("/v1/uploads/{id}");
    let r = send(req(srv, &token, Method::HEAD, &path(&v.upload))).await;
    let twin = send(req(srv, &token, Method::HEAD, &path(&unknown))).await;
    m.cell(
        "HEAD /v1/uploads/{id}",
        who,
        "victim upload in progress",
        r.is_not_found() && r.upload_offset.is_none() && r.same_as(&twin),
        || format!("{} / unknown: {}", r.show(), twin.show()),
    );
    for offset in [0, 100] {
        let chunk = b"sixteen bytes!!!";
        let r = patch_chunk(srv, &token, &v.upload, offset, chunk).await;
        let twin = patch_chunk(srv, &token, &unknown, offset, chunk).await;
        m.cell(
            "PATCH /v1/uploads/{id}",
            who,
            &format!("victim upload in progress, offset {offset}"),
            r.is_not_found() && r.upload_offset.is_none() && r.same_as(&twin),
            || format!("{} / unknown: {}", r.show(), twin.show()),
        );
    }
    // Starting an upload of the victim's bytes starts one of the attacker's own: the
    // victim's blob or upload is never offered as "complete" or resumed.
    for (target, sha, len) in [
        (
            "victim photo's sha",
            v.page.sha256.clone(),
            v.page.size as usize,
        ),
        ("victim upload's sha", v.upload_sha.clone(), 1000),
    ] {
        let r = post_upload(srv, &token, &sha, len).await;
        let status: Option<UploadStatus> = serde_json::from_slice(&r.body).ok();
        m.cell(
            "POST /v1/uploads",
            who,
            target,
            matches!(r.status, 200 | 201)
                && status.is_some_and(|s| {
                    !s.complete && s.offset == 0 && s.upload_id.to_string() != v.upload
                }),
            || r.show(),
        );
    }

    // Sync mutations naming the victim's ids, each beside its twin with unknown ids.
    let probes = mutation_probes(v, a, own_thread);
    let mut batch = Vec::new();
    for p in &probes {
        batch.push(d.queue(p.mutation.clone()));
        if let Some(t) = &p.twin {
            batch.push(d.queue(t.clone()));
        }
    }
    let (status, body) = d.push_raw(&batch).await;
    let response: Option<PushResponse> = serde_json::from_str(&body).ok();
    let outcomes: BTreeMap<u64, Outcome> = response
        .iter()
        .flat_map(|r| r.results.iter().map(|x| (x.seq, x.outcome.clone())))
        .collect();
    let halted = response.as_ref().and_then(|r| r.halted.clone());
    let mut seq = batch.first().map_or(1, |p| p.seq);
    for p in &probes {
        let outcome = outcomes.get(&seq).cloned();
        seq += 1;
        let twin = if p.twin.is_some() {
            seq += 1;
            outcomes.get(&(seq - 1)).cloned()
        } else {
            None
        };
        let refused = matches!(
            outcome,
            Some(Outcome::Rejected { .. } | Outcome::Conflict { .. })
        );
        let like_twin = p.twin.is_none() || (outcome.is_some() && outcome == twin);
        let ok = status == 200
            && halted.is_none()
            && match p.expect {
                Expect::NotFound => {
                    like_twin
                        && matches!(
                            outcome,
                            Some(Outcome::Rejected {
                                code: RejectCode::NotFound,
                                ..
                            })
                        )
                }
                Expect::LikeUnknown => {
                    like_twin && !matches!(outcome, Some(Outcome::Applied) | None)
                }
                Expect::Refused => refused,
            };
        m.cell(p.endpoint, who, &p.target, ok, || {
            format!("{status} {outcome:?} / unknown ids: {twin:?} / halted: {halted:?}")
        });
    }
}

/// One direction of the matrix: every attacker against `victim`, then nothing of the victim
/// may have changed.
async fn direction(
    srv: &TestServer,
    victim: &Tenant,
    attackers: &[Person],
    cross_firm: bool,
    m: &mut Matrix,
) {
    let off_limits = if cross_firm {
        companies_of(srv, victim.firm).await
    } else {
        BTreeSet::from([victim.company])
    };
    let except: Vec<UserId> = if cross_firm {
        Vec::new()
    } else {
        attackers.iter().map(|a| a.device.user).collect()
    };
    let before = snapshot(srv, victim.firm, &victim.accountant, &except).await;
    for table in [
        "entities",
        "memberships",
        "tokens",
        "invitations",
        "blobs",
        "blob_owners",
        "blob_refs",
        "uploads",
        "statements",
        "bank_profiles",
        "blob files",
        "partial files",
        "accountant's pull",
    ] {
        assert!(
            !before.0[table].is_empty(),
            "{}: no {table} to guard",
            victim.name
        );
    }
    for a in attackers {
        attack(srv, victim, a, cross_firm, &off_limits, m).await;
    }
    // Accepting an invitation takes no id, only its one-time secret (and needs no sign-in):
    // what the server stores of the victim's pending invitation is not that secret.
    let accept = |token: String| {
        srv.http
            .post(srv.url("/v1/auth/accept-invitation"))
            .json(&serde_json::json!({"token": token, "password": "a password of my own"}))
    };
    let r = send(accept(victim.invitation_hash.clone())).await;
    let twin = send(accept(sha_hex(new_uuid().as_bytes()))).await;
    m.cell(
        "POST /v1/auth/accept-invitation",
        "anyone",
        &format!("{}: a pending invitation, by its stored hash", victim.name),
        r.is_not_found() && r.same_as(&twin),
        || format!("{} / unknown: {}", r.show(), twin.show()),
    );
    let after = snapshot(srv, victim.firm, &victim.accountant, &except).await;
    let who = if cross_firm {
        "everyone of the other firm"
    } else {
        "the firm's other company"
    };
    m.cell(
        "every endpoint above",
        who,
        &format!("{}: nothing written", victim.name),
        before == after,
        || before.diff(&after).join("; "),
    );
}

/// The auth endpoints, last (they end sessions): one user's logout or revoke-all ends only
/// that user's sessions.
async fn sessions_end_only_their_own(srv: &TestServer, people: &[&Person], m: &mut Matrix) {
    let me_status =
        |token: String| async move { send(req(srv, &token, Method::GET, "/v1/me")).await.status };
    for p in people {
        let extra = mint_token(srv, p.device.user).await;
        let r = send(req(srv, &extra, Method::POST, "/v1/auth/logout")).await;
        let mut ok = r.status == 204 && me_status(extra.clone()).await == 401;
        let mut broken = Vec::new();
        for q in people {
            if me_status(q.device.token.clone()).await != 200 {
                ok = false;
                broken.push(q.label.clone());
            }
        }
        m.cell(
            "POST /v1/auth/logout",
            &p.label,
            "everyone's sessions",
            ok,
            || format!("{}; sessions ended: {broken:?}", r.show()),
        );
    }
    for (i, p) in people.iter().enumerate() {
        let r = send(req(
            srv,
            &p.device.token,
            Method::POST,
            "/v1/auth/revoke-all",
        ))
        .await;
        let mut ok = r.status == 204 && me_status(p.device.token.clone()).await == 401;
        let mut broken = Vec::new();
        for q in &people[i + 1..] {
            if me_status(q.device.token.clone()).await != 200 {
                ok = false;
                broken.push(q.label.clone());
            }
        }
        m.cell(
            "POST /v1/auth/revoke-all",
            &p.label,
            "everyone else's sessions",
            ok,
            || format!("{}; sessions ended: {broken:?}", r.show()),
        );
    }
}

/// Routes the matrix leaves out: they take no id of anyone's, so there is nothing of another
/// tenant to aim them at. Every other route of the OpenAPI document — which `tests/openapi.rs`
/// holds equal to the router's `.route(…)` calls — must have cells.
const TAKES_NO_IDS: &[(&str, &str)] = &[
    // Liveness: no sign-in, no input, the same answer for everyone.
    ("GET", "/healthz"),
    // The API's description: no sign-in, no input, the same document for everyone.
    ("GET", "/v1/openapi.json"),
    // An e-mail and a password in, a token out: no field takes an id.
    ("POST", "/v1/auth/login"),
];

/// Mutation names (`create_expense.v1`, …) anywhere in `schema`, following `$ref`s into
/// `components.schemas`.
fn mutation_names(
    doc: &serde_json::Value,
    schema: &serde_json::Value,
    seen: &mut BTreeSet<String>,
    out: &mut BTreeSet<String>,
) {
    use serde_json::Value;
    let is_name = |s: &str| {
        s.split_once(".v").is_some_and(|(name, v)| {
            !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                && !v.is_empty()
                && v.bytes().all(|b| b.is_ascii_digit())
        })
    };
    match schema {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix("#/components/schemas/")
                            && seen.insert(name.to_owned())
                        {
                            mutation_names(doc, &doc["components"]["schemas"][name], seen, out);
                        }
                    }
                    ("const", Value::String(c)) if is_name(c) => {
                        out.insert(c.clone());
                    }
                    _ => mutation_names(doc, v, seen, out),
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                mutation_names(doc, v, seen, out);
            }
        }
        Value::String(c) if is_name(c) => {
            out.insert(c.clone());
        }
        _ => {}
    }
}

/// The matrix reached every route the API has (but [`TAKES_NO_IDS`]) and every mutation a
/// push may carry; and it named none that does not exist.
async fn assert_covers_the_whole_api(srv: &TestServer, m: &Matrix) {
    let doc: serde_json::Value = srv
        .http
        .get(srv.url("/v1/openapi.json"))
        .send()
        .await
        .expect("openapi request")
        .json()
        .await
        .expect("openapi JSON");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    assert!(documented.len() >= 19, "{documented:?}");
    let exempt: BTreeSet<(String, String)> = TAKES_NO_IDS
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    let stale: Vec<_> = exempt.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "TAKES_NO_IDS names routes the API does not have: {stale:?}"
    );
    let unknown: Vec<_> = m.routes.difference(&documented).collect();
    assert!(
        unknown.is_empty(),
        "cells name routes the API does not have: {unknown:?}"
    );
    let uncovered: Vec<_> = documented
        .iter()
        .filter(|r| !exempt.contains(*r) && !m.routes.contains(*r))
        .collect();
    assert!(
        uncovered.is_empty(),
        "no cell of the isolation matrix tries these routes: {uncovered:?} (add cells that aim \
         them at another tenant's ids; only a route that takes no id may go to TAKES_NO_IDS)"
    );

    let mut names = BTreeSet::new();
    mutation_names(
        &doc,
        &serde_json::json!({"$ref": "#/components/schemas/Mutation"}),
        &mut BTreeSet::new(),
        &mut names,
    );
    assert!(names.contains("create_expense.v1"), "{names:?}");
    let untried: Vec<_> = names.difference(&m.mutations).collect();
    assert!(
        untried.is_empty(),
        "no cell pushes these mutations: {untried:?}"
    );
    let unknown: Vec<_> = m.mutations.difference(&names).collect();
    assert!(
        unknown.is_empty(),
        "cells push mutations the API does not have: {unknown:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_denies_every_foreign_role_and_writes_nothing() {
    let (srv, demo, other) = world().await;
    let mut m = Matrix::default();

    // Everyone of Other Books against the demo firm's Birch Bakery, and back.
    direction(&srv, &demo, &other.people, true, &mut m).await;
    direction(&srv, &other, &demo.people, true, &mut m).await;
    // Cedar Logistics' people against Birch Bakery, in the same firm.
    let cedar: Vec<Person> = demo
        .people
        .iter()
        .filter(|p| p.own_company == srv.demo.company("Cedar Logistics"))
        .cloned()
        .collect();
    assert_eq!(cedar.len(), 2);
    direction(&srv, &demo, &cedar, false, &mut m).await;

    let everyone: Vec<&Person> = demo.people.iter().chain(&other.people).collect();
    sessions_end_only_their_own(&srv, &everyone, &mut m).await;
    m.assert_clean(750);
    assert_covers_the_whole_api(&srv, &m).await;
}

/// One role-half cell: `actor` does `mutation`, expecting `expected` (a reject code), or —
/// for `None` — exactly what the same mutation on an unknown expense answers.
struct RoleCase {
    actor: &'static str,
    endpoint: &'static str,
    target: &'static str,
    mutation: Mutation,
    expected: Option<RejectCode>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn within_a_company_no_role_does_more_than_it_allows() {
    let (srv, demo, other) = world().await;
    let mut m = Matrix::default();
    let birch = demo.company;
    let oak = other.company;

    // Mark's own receipt: the rule names Mark and Alice, so only Alice decides it.
    let mut mark = fresh_install(&demo.person("mark@demo.kvits").device);
    let photo = common::receipt(4);
    let page = upload(&srv, &mark.token, &photo).await;
    let marks = submit_receipt(
        &mut mark,
        birch,
        fields(demo.expense_type, demo.payment_method, 800),
        page,
    )
    .await;

    let before_demo = snapshot(&srv, demo.firm, &demo.accountant, &[]).await;
    let before_other = snapshot(&srv, other.firm, &other.accountant, &[]).await;

    // ---- The company endpoints.
    let everyone: Vec<&Person> = demo.people.iter().chain(&other.people).collect();
    for p in &everyone {
        if p.label.contains("firm admin") {
            continue;
        }
        let r = send(
            req(&srv, &p.device.token, Method::POST, "/v1/companies")
                .json(&serde_json::json!({"name": "My own firm's company"})),
        )
        .await;
        m.cell(
            "POST /v1/companies",
            &p.label,
            "a new company",
            r.has_code(403, ErrorCode::Forbidden),
            || r.show(),
        );
    }
    for p in &everyone {
        if p.manages {
            continue;
        }
        let company = p.own_company;
        let token = &p.device.token;
        let invite = serde_json::json!({
            "email": format!("friend-{}@demo.kvits", new_uuid().simple()),
            "name": "A Friend",
            "roles": ["employee"],
        });
        let r = send(
            req(
                &srv,
                token,
                Method::POST,
                &format!("/v1/companies/{company}/users"),
            )
            .json(&invite),
        )
        .await;
        m.cell(
            "POST /v1/companies/{company_id}/users",
            &p.label,
            "own company",
            r.has_code(403, ErrorCode::Forbidden),
            || r.show(),
        );
        let colleague = if company == birch {
            srv.demo.user("alice@demo.kvits")
        } else if company == oak {
            other.employee
        } else {
            srv.demo.user("vera@demo.kvits")
        };
        for (target, user) in [("self", p.device.user), ("a colleague", colleague)] {
            let r = send(
                req(
                    &srv,
                    token,
                    Method::PUT,
                    &format!("/v1/companies/{company}/users/{user}/roles"),
                )
                .json(&serde_json::json!({"roles": ["company_admin"]})),
            )
            .await;
            m.cell(
                "PUT /v1/companies/{company_id}/users/{user_id}/roles",
                &p.label,
                target,
                r.has_code(403, ErrorCode::Forbidden),
                || r.show(),
            );
        }
    }

    // ---- Mutations.
    use RejectCode::{Forbidden, NotFound};
    let mut cases: Vec<RoleCase> = Vec::new();
    let catalog = |company: CompanyId, existing: ExpenseTypeId| {
        vec![
            (
                "push put_expense_type.v1",
                "own company, new row",
                Mutation::PutExpenseType(ExpenseType {
                    id: ExpenseTypeId(new_uuid()),
                    company_id: company,
                    code: "8888".into(),
                    name: "Snacks".into(),
                    active: true,
                }),
            ),
            (
                "push put_expense_type.v1",
                "own company, existing row",
                Mutation::PutExpenseType(ExpenseType {
                    id: existing,
                    company_id: company,
                    code: "8889".into(),
                    name: "Renamed".into(),
                    active: false,
                }),
            ),
            (
                "push put_payment_method.v1",
                "own company, new row",
                Mutation::PutPaymentMethod(PaymentMethod {
                    id: PaymentMethodId(new_uuid()),
                    company_id: company,
                    payment_kind: PaymentKind::OwnMoney,
                    label: "Petty cash".into(),
                    last_four: None,
                    holder_id: None,
                    active: true,
                    statement_ref: None,
                }),
            ),
            (
                "push put_approval_rule.v1",
                "own company, new row",
                Mutation::PutApprovalRule(ApprovalRule {
                    id: ApprovalRuleId(new_uuid()),
                    company_id: company,
                    name: "Nobody approves".into(),
                    position: 0,
                    active: false,
                    document_type: None,
                    expense_type_ids: Vec::new(),
                    min_amount_minor: None,
                    max_amount_minor: None,
                    currency: "EUR".into(),
                    steps: vec![ApprovalStep {
                        approver_ids: vec![UserId(new_uuid())],
                    }],
                }),
            ),
            (
                "push send_message.v1",
                "own company",
                Mutation::SendMessage {
                    message_id: MessageId(new_uuid()),
                    company_ids: vec![company],
                    subject: "Hello".into(),
                    body: "Hello everyone".into(),
                    attachment: None,
                },
            ),
        ]
    };
    for actor in [
        "emma@demo.kvits",
        "mark@demo.kvits",
        "alice@demo.kvits",
        "oscar@other.kvits",
        "paula@other.kvits",
        "rita@other.kvits",
        "quinn@other.kvits",
    ] {
        let (company, existing) = if actor.ends_with("demo.kvits") {
            (birch, demo.expense_type)
        } else {
            (oak, other.expense_type)
        };
        for (endpoint, target, mutation) in catalog(company, existing) {
            cases.push(RoleCase {
                actor,
                endpoint,
                target,
                mutation,
                expected: Some(Forbidden),
            });
        }
    }
    // Client contacts and company admins do not broadcast: that is the firm's job.
    for (actor, company) in [
        ("clara@demo.kvits", birch),
        ("vera@demo.kvits", srv.demo.company("Cedar Logistics")),
        ("sam@other.kvits", oak),
    ] {
        cases.push(RoleCase {
            actor,
            endpoint: "push send_message.v1",
            target: "own company",
            mutation: Mutation::SendMessage {
                message_id: MessageId(new_uuid()),
                company_ids: vec![company],
                subject: "Hello".into(),
                body: "Hello everyone".into(),
                attachment: None,
            },
            expected: Some(Forbidden),
        });
    }
    // A client contact captures nothing.
    cases.push(RoleCase {
        actor: "quinn@other.kvits",
        endpoint: "push create_expense.v1",
        target: "own company",
        mutation: Mutation::CreateExpense {
            expense_id: ExpenseId(new_uuid()),
            company_id: oak,
            document_type: DocumentType::Receipt,
            fields: ExpenseFields::default(),
        },
        expected: Some(Forbidden),
    });
    // Decisions: only an approver of the current step, and not on one's own expense while
    // someone else can decide.
    // Every expense here was created, given its photo and submitted: revision 3.
    let decide = |id: ExpenseId| Mutation::DecideExpense {
        expense_id: id,
        seen_revision: 3,
        decision: DecisionKind::Approve,
        reason: None,
    };
    for (actor, target, id, expected) in [
        (
            "emma@demo.kvits",
            "own submitted expense",
            demo.submitted,
            Forbidden,
        ),
        (
            "mark@demo.kvits",
            "own expense, Alice decides",
            marks,
            Forbidden,
        ),
        (
            "clara@demo.kvits",
            "Emma's expense (admin, not routed)",
            demo.submitted,
            Forbidden,
        ),
        (
            "anna@demo.kvits",
            "Emma's expense (accountant, not routed)",
            demo.submitted,
            Forbidden,
        ),
        (
            "oscar@other.kvits",
            "own submitted expense",
            other.submitted,
            Forbidden,
        ),
        (
            "quinn@other.kvits",
            "Oscar's expense (client, not routed)",
            other.submitted,
            Forbidden,
        ),
        (
            "olga@other.kvits",
            "Oscar's expense (accountant, not routed)",
            other.submitted,
            Forbidden,
        ),
        (
            "sam@other.kvits",
            "Oscar's expense (admin, not routed)",
            other.submitted,
            Forbidden,
        ),
        // An approver no rule names cannot even see the expense.
        (
            "rita@other.kvits",
            "Oscar's expense (approver, not routed)",
            other.submitted,
            NotFound,
        ),
    ] {
        cases.push(RoleCase {
            actor,
            endpoint: "push decide_expense.v1",
            target,
            mutation: decide(id),
            expected: Some(expected),
        });
    }
    // The firm's review: only accountants correct, return or mark an expense reviewed; only
    // its employee answers a question.
    for (actor, target, id) in [
        ("emma@demo.kvits", "own submitted expense", demo.submitted),
        ("clara@demo.kvits", "Emma's expense (admin)", demo.submitted),
        (
            "mark@demo.kvits",
            "Emma's expense (approver)",
            demo.submitted,
        ),
        (
            "oscar@other.kvits",
            "own submitted expense",
            other.submitted,
        ),
        (
            "sam@other.kvits",
            "Oscar's expense (admin)",
            other.submitted,
        ),
    ] {
        for (endpoint, mutation) in [
            (
                "push return_expense.v1",
                Mutation::ReturnExpense {
                    expense_id: id,
                    seen_revision: 3,
                    question: "Which project?".into(),
                },
            ),
            (
                "push mark_reviewed.v1",
                Mutation::MarkReviewed {
                    expense_id: id,
                    seen_revision: 3,
                },
            ),
        ] {
            cases.push(RoleCase {
                actor,
                endpoint,
                target,
                mutation,
                expected: Some(Forbidden),
            });
        }
    }
    cases.push(RoleCase {
        actor: "anna@demo.kvits",
        endpoint: "push answer_expense.v1",
        target: "Emma's expense (accountant)",
        mutation: Mutation::AnswerExpense {
            expense_id: demo.submitted,
            answer: "I answer for Emma".into(),
        },
        expected: Some(Forbidden),
    });
    // Someone else's expense: a draft is private (not found; deleting it answers as for an
    // unknown id), a submitted one is the author's to change (forbidden).
    let changes = |id: ExpenseId, page: &ReceiptPage| {
        vec![
            (
                "push set_expense_fields.v1",
                Mutation::SetExpenseFields {
                    expense_id: id,
                    fields: ExpenseFields {
                        note: Some("edited by someone else".into()),
                        ..ExpenseFields::default()
                    },
                },
            ),
            (
                "push set_document_type.v1",
                Mutation::SetDocumentType {
                    expense_id: id,
                    document_type: DocumentType::Other,
                },
            ),
            (
                "push attach_receipt.v1",
                Mutation::AttachReceipt {
                    expense_id: id,
                    pages: vec![page.clone()],
                },
            ),
            (
                "push submit_expense.v1",
                Mutation::SubmitExpense { expense_id: id },
            ),
            (
                "push delete_expense.v1",
                Mutation::DeleteExpense { expense_id: id },
            ),
        ]
    };
    let birch_others = [
        "mark@demo.kvits",
        "alice@demo.kvits",
        "clara@demo.kvits",
        "anna@demo.kvits",
    ];
    let oak_others = [
        "paula@other.kvits",
        "quinn@other.kvits",
        "olga@other.kvits",
        "sam@other.kvits",
    ];
    for (actors, draft, submitted, page) in [
        (&birch_others[..], demo.draft, demo.submitted, &demo.page),
        (&oak_others[..], other.draft, other.submitted, &other.page),
    ] {
        for &actor in actors {
            for (endpoint, mutation) in changes(draft, page) {
                let expected = (endpoint != "push delete_expense.v1").then_some(NotFound);
                cases.push(RoleCase {
                    actor,
                    endpoint,
                    target: "someone's draft",
                    mutation,
                    expected,
                });
            }
            for (endpoint, mutation) in changes(submitted, page) {
                cases.push(RoleCase {
                    actor,
                    endpoint,
                    target: "someone's submitted expense",
                    mutation,
                    expected: Some(Forbidden),
                });
            }
        }
    }
    // Conversations are for the firm, the client contacts and the admins.
    for (actor, thread, message) in [
        ("emma@demo.kvits", demo.thread, demo.message),
        ("mark@demo.kvits", demo.thread, demo.message),
        ("alice@demo.kvits", demo.thread, demo.message),
        ("oscar@other.kvits", other.thread, other.message),
        ("paula@other.kvits", other.thread, other.message),
        ("rita@other.kvits", other.thread, other.message),
    ] {
        cases.push(RoleCase {
            actor,
            endpoint: "push reply_message.v1",
            target: "own company's thread",
            mutation: Mutation::ReplyMessage {
                message_id: MessageId(new_uuid()),
                thread_id: thread,
                body: "Me too".into(),
                attachment: None,
            },
            expected: Some(NotFound),
        });
        cases.push(RoleCase {
            actor,
            endpoint: "push mark_read.v1",
            target: "own company's thread",
            mutation: Mutation::MarkRead {
                thread_id: thread,
                up_to: message,
            },
            expected: Some(NotFound),
        });
    }

    // One push per actor, each case followed by its twin on an unknown expense where needed.
    let mut installs: BTreeMap<String, Device> = everyone
        .iter()
        .map(|p| (p.email.clone(), fresh_install(&p.device)))
        .collect();
    // Per actor: (index of the case, its seq, its twin's seq).
    type Sent = (usize, u64, Option<u64>);
    let mut batches: BTreeMap<&str, Vec<Sent>> = BTreeMap::new();
    let mut queued: BTreeMap<&str, Vec<kvits_protocol::PendingMutation>> = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        let d = installs.get_mut(case.actor).expect("actor");
        let p = d.queue(case.mutation.clone());
        let seq = p.seq;
        queued.entry(case.actor).or_default().push(p);
        let twin = if case.expected.is_none() {
            let t = d.queue(Mutation::DeleteExpense {
                expense_id: ExpenseId(new_uuid()),
            });
            let s = t.seq;
            queued.entry(case.actor).or_default().push(t);
            Some(s)
        } else {
            None
        };
        batches.entry(case.actor).or_default().push((i, seq, twin));
    }
    for (actor, batch) in &queued {
        let d = &installs[*actor];
        let (status, body) = d.push_raw(batch).await;
        let response: Option<PushResponse> = serde_json::from_str(&body).ok();
        let outcomes: BTreeMap<u64, Outcome> = response
            .iter()
            .flat_map(|r| r.results.iter().map(|x| (x.seq, x.outcome.clone())))
            .collect();
        for (i, seq, twin) in &batches[actor] {
            let case = &cases[*i];
            let outcome = outcomes.get(seq).cloned();
            let twin = twin.and_then(|s| outcomes.get(&s).cloned());
            let ok = status == 200
                && match case.expected {
                    Some(code) => matches!(
                        &outcome,
                        Some(Outcome::Rejected { code: c, .. }) if *c == code
                    ),
                    None => outcome.is_some() && outcome == twin,
                };
            let label = everyone
                .iter()
                .find(|p| p.email == case.actor)
                .map_or(case.actor, |p| p.label.as_str());
            m.cell(case.endpoint, label, case.target, ok, || {
                format!(
                    "expected {:?}, got {status} {outcome:?} (unknown id: {twin:?})",
                    case.expected
                )
            });
        }
    }

    // The rows are as they were (the drafts that were "deleted" too).
    let after_demo = snapshot(&srv, demo.firm, &demo.accountant, &[]).await;
    let after_other = snapshot(&srv, other.firm, &other.accountant, &[]).await;
    let strip = |s: &Snapshot| {
        // Only the actors' own queues and results moved.
        let mut s = Snapshot(s.0.clone());
        s.0.remove("clients");
        s.0.remove("mutation_results");
        s
    };
    for (name, before, after) in [
        ("Demo Accounting", &before_demo, &after_demo),
        ("Other Books", &before_other, &after_other),
    ] {
        let (b, a) = (strip(before), strip(after));
        m.cell(
            "every mutation above",
            "every role",
            &format!("{name}: nothing written"),
            b == a,
            || b.diff(&a).join("; "),
        );
    }
    m.assert_clean(150);
}

/// Across firms, naming another firm's photo in one's own expense reaches nothing: the photo
/// is not the firm's, so a submit waits for an upload and a download is not found.
#[tokio::test]
async fn naming_another_firms_photo_in_ones_own_expense_reaches_nothing() {
    let (srv, demo, other) = world().await;
    let mut oscar = fresh_install(&other.person("oscar@other.kvits").device);
    let id = ExpenseId(new_uuid());
    let batch: Vec<_> = [
        Mutation::CreateExpense {
            expense_id: id,
            company_id: other.company,
            document_type: DocumentType::Receipt,
            fields: fields(other.expense_type, other.payment_method, 100),
        },
        Mutation::AttachReceipt {
            expense_id: id,
            pages: vec![demo.page.clone()],
        },
        Mutation::SubmitExpense { expense_id: id },
    ]
    .into_iter()
    .map(|m| oscar.queue(m))
    .collect();
    let r = oscar.push(&batch).await;
    let halt = r.halted.expect("the submit waits for the photo");
    assert_eq!(halt.code, ErrorCode::BlobMissing);
    assert_eq!(halt.missing_blobs, vec![demo.page.sha256.clone()]);
    for suffix in ["", "/thumbnail"] {
        let r = send(req(
            &srv,
            &oscar.token,
            Method::GET,
            &format!("/v1/blobs/{}{suffix}", demo.page.sha256),
        ))
        .await;
        assert!(r.is_not_found(), "{suffix}: {}", r.show());
    }
}

/// Within a firm, a photo is readable by its uploader and by whoever may see a row naming it —
/// but anyone may name any sha of the firm in their own draft or reply, which makes the photo of
/// another company readable to them.
#[tokio::test]
async fn naming_another_companys_photo_in_ones_own_rows_does_not_reveal_it() {
    let srv = TestServer::start().await;
    let mut emma = srv.device("emma@demo.kvits").await;
    let mut otto = srv.device("otto@demo.kvits").await;
    let birch = srv.demo.company("Birch Bakery");
    let cedar = srv.demo.company("Cedar Logistics");
    let page = upload(&srv, &emma.token, &common::receipt(5)).await;
    submit_receipt(
        &mut emma,
        birch,
        fields(
            srv.demo.expense_types[&("Birch Bakery", "Meals")],
            srv.demo.payment_methods[&("Birch Bakery", "Visa Business".to_string())],
            1500,
        ),
        page.clone(),
    )
    .await;
    let path = format!("/v1/blobs/{}", page.sha256);
    let before = send(req(&srv, &otto.token, Method::GET, &path)).await;
    assert!(before.is_not_found(), "{}", before.show());

    // Otto, in Cedar Logistics, names the sha in a draft of his own.
    let draft = ExpenseId(new_uuid());
    let batch: Vec<_> = [
        Mutation::CreateExpense {
            expense_id: draft,
            company_id: cedar,
            document_type: DocumentType::Receipt,
            fields: ExpenseFields::default(),
        },
        Mutation::AttachReceipt {
            expense_id: draft,
            pages: vec![page.clone()],
        },
    ]
    .into_iter()
    .map(|m| otto.queue(m))
    .collect();
    otto.push(&batch).await;

    // Clara, in Birch Bakery, names Vera's (Cedar) photo as the attachment of a reply.
    let vera = srv.device("vera@demo.kvits").await;
    let mut clara = srv.device("clara@demo.kvits").await;
    let veras = upload(&srv, &vera.token, &common::receipt(6)).await;
    let thread = clara
        .pull_all()
        .await
        .into_iter()
        .find_map(|c| match c.op {
            ChangeOp::Upsert { entity } => match *entity {
                Entity::Thread(t) if t.company_id == birch => Some(t.id),
                _ => None,
            },
            ChangeOp::Delete { .. } => None,
        })
        .expect("Birch's welcome thread");
    // Knowing the hash is not holding the bytes: the reply waits for Clara's own upload of
    // them (halted, not consumed) and so never names Vera's photo.
    let reply_mutation = clara.queue(Mutation::ReplyMessage {
        message_id: MessageId(new_uuid()),
        thread_id: thread,
        body: "See attached".into(),
        attachment: Some(kvits_protocol::Attachment {
            sha256: veras.sha256.clone(),
            size: veras.size,
            content_type: "image/jpeg".into(),
            file_name: "receipt.jpg".into(),
        }),
    });
    let reply = clara.push(&[reply_mutation]).await;
    let halt = reply
        .halted
        .as_ref()
        .expect("the reply waits for Clara's upload");
    assert_eq!(halt.missing_blobs, vec![veras.sha256.clone()]);
    assert!(reply.results.is_empty());

    let mut leaks = Vec::new();
    for (who, token, sha) in [
        (
            "Otto (Cedar) gets Emma's (Birch) photo",
            &otto.token,
            &page.sha256,
        ),
        (
            "Clara (Birch) gets Vera's (Cedar) photo",
            &clara.token,
            &veras.sha256,
        ),
    ] {
        for suffix in ["", "/thumbnail"] {
            let r = send(req(
                &srv,
                token,
                Method::GET,
                &format!("/v1/blobs/{sha}{suffix}"),
            ))
            .await;
            if !r.is_not_found() {
                leaks.push(format!("{who}{suffix}: {} bytes", r.body.len()));
            }
        }
    }
    assert!(leaks.is_empty(), "{leaks:?} (reply: {reply:?})");
}

/// A draft is its author's business; its deletion should not announce it to the company.
#[tokio::test]
async fn a_deleted_draft_leaves_no_trace_for_those_who_never_saw_it() {
    let srv = TestServer::start().await;
    let mut emma = srv.device("emma@demo.kvits").await;
    let mut mark = srv.device("mark@demo.kvits").await;
    let draft = ExpenseId(new_uuid());
    apply_all(
        &mut emma,
        vec![
            Mutation::CreateExpense {
                expense_id: draft,
                company_id: srv.demo.company("Birch Bakery"),
                document_type: DocumentType::Receipt,
                fields: ExpenseFields::default(),
            },
            Mutation::DeleteExpense { expense_id: draft },
        ],
    )
    .await;
    let changes = mark.pull_all().await;
    let traces: Vec<_> = changes
        .iter()
        .filter(|c| match &c.op {
            ChangeOp::Delete { id, .. } => *id == draft.0,
            ChangeOp::Upsert { entity } => entity.id() == draft.0,
        })
        .collect();
    assert!(traces.is_empty(), "Mark learns of Emma's draft: {traces:?}");
}

/// Removing someone from a company they are not in changes nothing for them.
#[tokio::test]
async fn an_admin_cannot_touch_people_outside_their_company() {
    let srv = TestServer::start().await;
    let vera = srv.device("vera@demo.kvits").await;
    let mut emma = srv.device("emma@demo.kvits").await;
    emma.pull_all().await;
    let cursor = emma.cursor;
    let (cedar, emma_id) = (
        srv.demo.company("Cedar Logistics"),
        srv.demo.user("emma@demo.kvits"),
    );
    let r = send(
        req(
            &srv,
            &vera.token,
            Method::PUT,
            &format!("/v1/companies/{cedar}/users/{emma_id}/roles"),
        )
        .json(&serde_json::json!({"roles": []})),
    )
    .await;
    assert!(r.status < 500, "{}", r.show());
    let page = emma.pull_from(cursor, None).await;
    assert!(
        !page.reset,
        "Vera (Cedar admin) made Emma (Birch only) start over: {}",
        r.show()
    );
}

/// An accountant's message with a photo attached goes to both demo companies at once: each
/// company's client contact pulls it with the attachment and downloads the very bytes. People
/// who may not see the message — an employee of either company, anyone of another firm — get
/// the answer of a blob that does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_attachment_reaches_both_companies_and_nobody_else() {
    let srv = TestServer::start().await;
    other_firm(&srv).await;
    let emails = [
        "anna@demo.kvits",
        "clara@demo.kvits",
        "vera@demo.kvits",
        "emma@demo.kvits",
        "otto@demo.kvits",
        "olga@other.kvits",
    ];
    let mut devices = futures::future::join_all(emails.iter().map(|e| srv.device(e))).await;
    let [mut anna, clara, vera, emma, otto, olga] = std::array::from_fn(|_| devices.remove(0));
    let birch = srv.demo.company("Birch Bakery");
    let cedar = srv.demo.company("Cedar Logistics");

    // Anna uploads the photo through the resumable API, in two chunks with a look at the
    // offset in between, as an app resuming after a cut would.
    let photo = common::receipt(4);
    let sha = sha_hex(&photo);
    let r = post_upload(&srv, &anna.token, &sha, photo.len()).await;
    assert_eq!(r.status, 201, "{}", r.show());
    let id = serde_json::from_slice::<UploadStatus>(&r.body)
        .expect("upload status")
        .upload_id
        .to_string();
    let cut = photo.len() / 3;
    let r = patch_chunk(&srv, &anna.token, &id, 0, &photo[..cut]).await;
    assert_eq!(
        (r.status, r.upload_offset.as_deref()),
        (204, Some(cut.to_string().as_str()))
    );
    let r = send(req(
        &srv,
        &anna.token,
        Method::HEAD,
        &format!("/v1/uploads/{id}"),
    ))
    .await;
    let offset: usize = r.upload_offset.expect("offset").parse().expect("number");
    assert_eq!(offset, cut);
    let r = patch_chunk(&srv, &anna.token, &id, offset as u64, &photo[offset..]).await;
    assert_eq!(r.status, 204, "{}", r.show());
    let r = post_upload(&srv, &anna.token, &sha, photo.len()).await;
    let status: UploadStatus = serde_json::from_slice(&r.body).expect("upload status");
    assert!(r.status == 200 && status.complete, "{}", r.show());

    // One message to both companies, the photo attached (the shape the domain checks: the
    // blob's hash and size, a content type and a file name).
    let attachment = kvits_protocol::Attachment {
        sha256: sha.clone(),
        size: photo.len() as u64,
        content_type: "image/jpeg".into(),
        file_name: "receipt-checklist.jpg".into(),
    };
    let broadcast = MessageId(new_uuid());
    apply_all(
        &mut anna,
        vec![Mutation::SendMessage {
            message_id: broadcast,
            company_ids: vec![birch, cedar],
            subject: "How to photograph a receipt".into(),
            body: "Like the one attached: flat, whole, readable.".into(),
            attachment: Some(attachment.clone()),
        }],
    )
    .await;

    // Each company's client contact pulls the message with its attachment and downloads it.
    let anna_id = srv.demo.user("anna@demo.kvits");
    for (mut reader, company, name) in [
        (clara, birch, "Clara (Birch)"),
        (vera, cedar, "Vera (Cedar)"),
    ] {
        let message = reader
            .pull_all()
            .await
            .into_iter()
            .find_map(|c| match c.op {
                ChangeOp::Upsert { entity } => match *entity {
                    Entity::Message(m) if m.id == MessageId::for_recipient(broadcast, company) => {
                        Some(m)
                    }
                    _ => None,
                },
                ChangeOp::Delete { .. } => None,
            })
            .unwrap_or_else(|| panic!("{name} pulls no copy of the message"));
        assert_eq!(message.company_id, company, "{name}");
        assert_eq!(message.author_id, anna_id, "{name}");
        assert_eq!(message.attachment.as_ref(), Some(&attachment), "{name}");

        let r = reader.get(&format!("/v1/blobs/{sha}")).await;
        assert_eq!(r.status(), 200, "{name} downloads the attachment");
        assert_eq!(sha_hex(&r.bytes().await.expect("body")), sha, "{name}");
        let r = send(req(
            &srv,
            &reader.token,
            Method::HEAD,
            &format!("/v1/blobs/{sha}"),
        ))
        .await;
        assert_eq!(r.status, 200, "{name}: HEAD {}", r.show());
        let r = reader.get(&format!("/v1/blobs/{sha}/thumbnail")).await;
        assert_eq!(r.status(), 200, "{name} gets the thumbnail");
        let thumbnail = r.bytes().await.expect("thumbnail");
        assert!(
            kvits_imaging::probe(&thumbnail).is_ok(),
            "{name}: thumbnail"
        );
    }

    // Employees see no messages, and another firm nothing at all: as for an unknown blob.
    let unknown = sha_hex(new_uuid().as_bytes());
    let mut leaks = Vec::new();
    for (who, d) in [
        ("Emma (employee, Birch)", &emma),
        ("Otto (employee, Cedar)", &otto),
        ("Olga (accountant, Other Books)", &olga),
    ] {
        for (method, suffix) in [
            (Method::GET, ""),
            (Method::GET, "/thumbnail"),
            (Method::HEAD, ""),
        ] {
            let ask = |s: &str| {
                req(
                    &srv,
                    &d.token,
                    method.clone(),
                    &format!("/v1/blobs/{s}{suffix}"),
                )
            };
            let r = send(ask(&sha)).await;
            let twin = send(ask(&unknown)).await;
            if !(r.is_not_found() && r.same_as(&twin)) {
                leaks.push(format!(
                    "{who}: {method} {suffix}: {} / unknown: {}",
                    r.show(),
                    twin.show()
                ));
            }
        }
    }
    assert!(leaks.is_empty(), "{leaks:#?}");
}
