//! The firm's house through the HTTP API, as its firm admin runs it: client companies with
//! their details, staff invited and assigned, "assigned clients only", and paused companies.
//! Each test checks what the people concerned then see, not only the answer codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{Device, TestServer};
use kvits_protocol::{
    AcceptInvitationRequest, ChangeOp, ClientId, ClientsOverview, Company, CompanyId, DocumentType,
    Entity, ErrorBody, ErrorCode, Expense, ExpenseFields, ExpenseId, ExpenseStatus, Firm,
    Invitation, LoginResponse, Mutation, Outcome, RejectCode, Role, StaffRole,
};
use serde_json::json;

const PASSWORD: &str = "winter ledger 2026 spruce";

async fn send(rb: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let r = rb.send().await.expect("request");
    let status = r.status().as_u16();
    let bytes = r.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, body)
}

fn code(body: &serde_json::Value) -> ErrorCode {
    serde_json::from_value::<ErrorBody>(body.clone())
        .map(|e| e.code)
        .unwrap_or(ErrorCode::Unknown)
}

/// Accepts an invitation on a new install with a new password ([`PASSWORD`]).
async fn accept(srv: &TestServer, invitation: &Invitation) -> Result<Device, (u16, ErrorBody)> {
    accept_with(srv, invitation, PASSWORD).await
}

/// Accepts an invitation on a new install with `password`.
async fn accept_with(
    srv: &TestServer,
    invitation: &Invitation,
    password: &str,
) -> Result<Device, (u16, ErrorBody)> {
    let client = ClientId(uuid::Uuid::now_v7());
    let r = srv
        .http
        .post(srv.url("/v1/auth/accept-invitation"))
        .json(&AcceptInvitationRequest {
            token: invitation.token.clone(),
            password: password.into(),
            client_id: Some(client),
            device_name: None,
        })
        .send()
        .await
        .expect("accept");
    let status = r.status().as_u16();
    if status != 200 {
        return Err((status, r.json().await.expect("error body")));
    }
    let login: LoginResponse = r.json().await.expect("login");
    Ok(Device {
        base: srv.url(""),
        http: srv.http.clone(),
        token: login.token,
        client,
        next_seq: 1,
        cursor: 0,
        user: login.session.user.id,
    })
}

/// Signs in with [`PASSWORD`]: the answer's status and body.
async fn sign_in(srv: &TestServer, email: &str) -> (u16, serde_json::Value) {
    send(
        srv.http
            .post(srv.url("/v1/auth/login"))
            .json(&json!({"email": email, "password": PASSWORD})),
    )
    .await
}

async fn create_company(srv: &TestServer, admin: &Device, details: serde_json::Value) -> Company {
    let (status, body) = send(
        srv.http
            .post(srv.url("/v1/companies"))
            .bearer_auth(&admin.token)
            .json(&details),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    serde_json::from_value(body).unwrap()
}

async fn invite_staff(
    srv: &TestServer,
    admin: &Device,
    email: &str,
    role: &str,
    assigned: &[CompanyId],
) -> Invitation {
    let (status, body) = send(
        srv.http
            .post(srv.url("/v1/firm/staff"))
            .bearer_auth(&admin.token)
            .json(
                &json!({"email": email, "name": "Sven Senior", "role": role, "assigned": assigned}),
            ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    serde_json::from_value(body).unwrap()
}

async fn set_staff(
    srv: &TestServer,
    admin: &Device,
    user: kvits_protocol::UserId,
    role: &str,
    assigned: &[CompanyId],
) -> (u16, serde_json::Value) {
    send(
        srv.http
            .put(srv.url(&format!("/v1/firm/staff/{user}")))
            .bearer_auth(&admin.token)
            .json(&json!({"role": role, "assigned": assigned})),
    )
    .await
}

async fn get_firm(srv: &TestServer, admin: &Device) -> Firm {
    let (status, body) = send(srv.http.get(srv.url("/v1/firm")).bearer_auth(&admin.token)).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

/// The companies a device's session lists.
async fn session_companies(d: &Device) -> BTreeSet<CompanyId> {
    let r = d.get("/v1/me").await;
    assert_eq!(r.status(), 200);
    let session: kvits_protocol::Session = r.json().await.unwrap();
    session.memberships.iter().map(|m| m.company_id).collect()
}

/// The companies whose rows a pull from the start brings.
async fn pulled_companies(d: &Device) -> BTreeSet<CompanyId> {
    let page = d.pull_from(0, Some(1000)).await;
    assert!(!page.has_more);
    page.changes
        .iter()
        .filter_map(|c| match &c.op {
            ChangeOp::Upsert { entity } => Some(entity.company_id()),
            ChangeOp::Delete { .. } => None,
        })
        .collect()
}

fn set<const N: usize>(ids: [CompanyId; N]) -> BTreeSet<CompanyId> {
    ids.into_iter().collect()
}

#[tokio::test]
async fn a_firm_admin_adds_a_client_and_a_colleague_who_then_sees_only_that_client() {
    let srv = TestServer::start().await;
    let paula = srv.device("paula@demo.kvits").await;
    let anna = srv.device("anna@demo.kvits").await;
    let all: BTreeSet<CompanyId> = srv.demo.companies.values().copied().collect();
    let (birch, cedar) = (
        srv.demo.company("Birch Bakery"),
        srv.demo.company("Cedar Logistics"),
    );
    // The demo keeps accountants to their clients: Anna has Birch and Cedar, Paula all five.
    assert_eq!(session_companies(&anna).await, set([birch, cedar]));
    assert_eq!(pulled_companies(&anna).await, set([birch, cedar]));
    assert_eq!(session_companies(&paula).await, all);

    let gale = create_company(
        &srv,
        &paula,
        json!({
            "name": "  Gale Garden ",
            "base_currency": "sek",
            "registration_number": "556123-4567",
            "vat_number": "se556123456701",
            "country": "se",
            "time_zone": "Europe/Stockholm",
        }),
    )
    .await;
    assert_eq!(gale.name, "Gale Garden");
    assert_eq!(gale.base_currency, "SEK");
    assert_eq!(gale.vat_number.as_deref(), Some("SE556123456701"));
    assert_eq!(gale.country.as_deref(), Some("SE"));
    assert!(gale.active);

    let invitation = invite_staff(&srv, &paula, "sven@demo.kvits", "accountant", &[gale.id]).await;
    let firm = get_firm(&srv, &paula).await;
    // Listed as an open invitation, not yet on the staff.
    assert!(!firm.staff.iter().any(|s| s.email == "sven@demo.kvits"));
    let open = &firm.invitations[..];
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        (
            open[0].id,
            open[0].email.as_str(),
            open[0].staff_role,
            &open[0].assigned[..]
        ),
        (
            invitation.id,
            "sven@demo.kvits",
            Some(StaffRole::Accountant),
            &[gale.id][..]
        )
    );
    assert_eq!(open[0].expires_at, invitation.expires_at);

    let sven = accept(&srv, &invitation).await.unwrap();
    assert_eq!(session_companies(&sven).await, set([gale.id]));
    assert_eq!(pulled_companies(&sven).await, set([gale.id]));
    // Nobody else's rows: not even a row of Birch by id.
    let mut sven = sven;
    let r = sven
        .run(Mutation::SetExpenseFields {
            expense_id: ExpenseId(uuid::Uuid::now_v7()),
            fields: ExpenseFields::default(),
        })
        .await;
    assert!(matches!(r.outcome, Outcome::Rejected { .. }), "{r:?}");
    // Anna does not see the new client; the firm endpoints are not hers.
    assert!(!session_companies(&anna).await.contains(&gale.id));
    let (status, body) = send(srv.http.get(srv.url("/v1/firm")).bearer_auth(&anna.token)).await;
    assert_eq!((status, code(&body)), (403, ErrorCode::Forbidden));
    let firm = get_firm(&srv, &paula).await;
    assert!(firm.invitations.is_empty());
    let sven_row = firm
        .staff
        .iter()
        .find(|s| s.email == "sven@demo.kvits")
        .unwrap();
    assert_eq!(
        (sven_row.role, &sven_row.assigned[..], sven_row.invited),
        (StaffRole::Accountant, &[gale.id][..], false)
    );

    // The firm lets everyone see every client: Anna sees Gale too; and back.
    let settings = |on: bool| {
        srv.http
            .put(srv.url("/v1/firm/settings"))
            .bearer_auth(&paula.token)
            .json(&json!({"assigned_clients_only": on}))
    };
    assert_eq!(send(settings(false)).await.0, 204);
    assert!(session_companies(&anna).await.contains(&gale.id));
    assert!(pulled_companies(&anna).await.contains(&gale.id));
    assert_eq!(send(settings(true)).await.0, 204);
    assert_eq!(pulled_companies(&anna).await, set([birch, cedar]));
}

/// The company row `d` pulls for `company`.
async fn company_row(d: &Device, company: CompanyId) -> Company {
    let page = d.pull_from(0, Some(1000)).await;
    page.changes
        .into_iter()
        .find_map(|c| match c.op {
            ChangeOp::Upsert { entity } => match *entity {
                Entity::Company(row) if row.id == company => Some(row),
                _ => None,
            },
            ChangeOp::Delete { .. } => None,
        })
        .expect("the company's row")
}

#[tokio::test]
async fn an_invitation_tells_the_inviter_nothing_of_the_email_and_its_owner_accepts() {
    let srv = TestServer::start().await;
    let clara = srv.device("clara@demo.kvits").await; // Birch's admin
    let paula = srv.device("paula@demo.kvits").await;
    let birch = srv.demo.company("Birch Bakery");
    let cedar = srv.demo.company("Cedar Logistics");
    // Another firm, with an account of its own.
    srv.server
        .state()
        .db
        .write(|c| {
            let hash = kvits_sync_server::auth::hash_password(kvits_sync_server::demo::PASSWORD)?;
            let firm = kvits_sync_server::admin::create_firm(c, "Other Books")?;
            kvits_sync_server::admin::create_user(
                c,
                firm,
                "olga@other.test",
                "Olga Other",
                Some(&hash),
                None,
            )?;
            Ok(())
        })
        .await
        .unwrap();

    // Nobody's e-mail, an account of this firm (Otto, of Cedar), another firm's: the same
    // answer, field for field but the values.
    let invite = |email: &str| {
        srv.http
            .post(srv.url(&format!("/v1/companies/{birch}/users")))
            .bearer_auth(&clara.token)
            .json(&json!({"email": email, "name": "Someone", "roles": ["approver"]}))
    };
    let mut invitations = Vec::new();
    for email in ["nina@new.test", "otto@demo.kvits", "olga@other.test"] {
        let (status, body) = send(invite(email)).await;
        let mut keys: Vec<&str> = body
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(
            (status, keys),
            (201, vec!["expires_at", "id", "link", "token"]),
            "{email}: {body}"
        );
        invitations.push((email, serde_json::from_value::<Invitation>(body).unwrap()));
    }
    // The same for the firm's staff: an e-mail that has an account is not refused.
    let mut staff_invitations = Vec::new();
    for email in ["emma@demo.kvits", "olga@other.test", "sven@new.test"] {
        let (status, body) = send(
            srv.http
                .post(srv.url("/v1/firm/staff"))
                .bearer_auth(&paula.token)
                .json(&json!({"email": email, "name": "Someone", "role": "accountant"})),
        )
        .await;
        assert_eq!(status, 201, "{email}: {body}");
        staff_invitations.push(serde_json::from_value::<Invitation>(body).unwrap());
    }
    // Nobody became a member: the company's row lists three open invitations, as typed.
    let row = company_row(&clara, birch).await;
    let members: Vec<&str> = row.members.iter().map(|m| m.email.as_str()).collect();
    assert!(
        !members
            .iter()
            .any(|m| ["nina@new.test", "otto@demo.kvits", "olga@other.test"].contains(m)),
        "{members:?}"
    );
    let mut open: Vec<(&str, &[Role])> = row
        .invitations
        .iter()
        .map(|i| (i.email.as_str(), &i.roles[..]))
        .collect();
    open.sort_unstable();
    assert_eq!(
        open,
        [
            ("nina@new.test", &[Role::Approver][..]),
            ("olga@other.test", &[Role::Approver][..]),
            ("otto@demo.kvits", &[Role::Approver][..]),
        ]
    );

    // Only at the link: Olga learns her account is another firm's, and the invitation stays.
    let olga = &invitations[2].1;
    let (status, err) = accept_with(&srv, olga, kvits_sync_server::demo::PASSWORD)
        .await
        .err()
        .unwrap();
    assert_eq!((status, err.code), (409, ErrorCode::AlreadyExists));
    assert!(
        err.message.contains("another accounting firm"),
        "{}",
        err.message
    );
    assert_eq!(company_row(&clara, birch).await.invitations.len(), 3);

    // Otto accepts with his own password (a new one is refused) and keeps Cedar.
    let otto = &invitations[1].1;
    let (status, err) = accept_with(&srv, otto, PASSWORD).await.err().unwrap();
    assert_eq!(
        (status, err.code),
        (401, ErrorCode::BadCredentials),
        "{}",
        err.message
    );
    let otto = accept_with(&srv, otto, kvits_sync_server::demo::PASSWORD)
        .await
        .unwrap();
    assert_eq!(otto.user, srv.demo.user("otto@demo.kvits"));
    assert_eq!(session_companies(&otto).await, set([birch, cedar]));
    let row = company_row(&clara, birch).await;
    let otto_member = row
        .members
        .iter()
        .find(|m| m.email == "otto@demo.kvits")
        .unwrap();
    assert_eq!(otto_member.roles, [Role::Approver]);
    assert_eq!(row.invitations.len(), 2);

    // Nina is new: she chooses her password.
    let nina = accept(&srv, &invitations[0].1).await.unwrap();
    assert_eq!(session_companies(&nina).await, set([birch]));

    // Emma accepts the staff invitation with her password: an accountant now, still Birch's
    // employee.
    let emma = accept_with(
        &srv,
        &staff_invitations[0],
        kvits_sync_server::demo::PASSWORD,
    )
    .await
    .unwrap();
    let firm = get_firm(&srv, &paula).await;
    let emma_row = firm.staff.iter().find(|s| s.user_id == emma.user).unwrap();
    assert_eq!(
        (emma_row.role, emma_row.invited),
        (StaffRole::Accountant, false)
    );
    assert_eq!(session_companies(&emma).await, set([birch]));

    // Olga's staff invitation is cancelled by a firm admin (not by a company admin): its link
    // stops working.
    let olga_staff = staff_invitations[1].id;
    assert_eq!(firm.invitations.len(), 2);
    let cancel = |who: &Device| {
        srv.http
            .delete(srv.url(&format!("/v1/invitations/{olga_staff}")))
            .bearer_auth(&who.token)
    };
    let (status, body) = send(cancel(&clara)).await;
    assert_eq!((status, code(&body)), (403, ErrorCode::Forbidden), "{body}");
    assert_eq!(send(cancel(&paula)).await.0, 204);
    let firm = get_firm(&srv, &paula).await;
    assert_eq!(firm.invitations.len(), 1);
    let (status, body) = send(cancel(&paula)).await;
    assert_eq!((status, code(&body)), (404, ErrorCode::NotFound), "{body}");
    let (status, err) = accept_with(&srv, &staff_invitations[1], "a password of twelve")
        .await
        .err()
        .unwrap();
    assert_eq!((status, err.code), (404, ErrorCode::NotFound));
}

#[tokio::test]
async fn an_accountant_unassigned_mid_sync_loses_the_companys_rows() {
    let srv = TestServer::start().await;
    let paula = srv.device("paula@demo.kvits").await;
    let mut anna = srv.device("anna@demo.kvits").await;
    let (birch, cedar) = (
        srv.demo.company("Birch Bakery"),
        srv.demo.company("Cedar Logistics"),
    );
    let anna_id = anna.user;
    let first = anna.pull_all().await;
    assert!(first.iter().any(|c| matches!(&c.op,
        ChangeOp::Upsert { entity } if entity.company_id() == cedar)));

    let (status, body) = set_staff(&srv, &paula, anna_id, "accountant", &[birch]).await;
    assert_eq!(status, 204, "{body}");
    // Her next pull from where she was starts her over, and brings nothing of Cedar.
    let page = anna.pull_from(anna.cursor, None).await;
    assert!(page.reset, "the device is told to start over");
    assert_eq!(pulled_companies(&anna).await, set([birch]));
    assert_eq!(session_companies(&anna).await, set([birch]));
    // A change to Cedar's catalog is now an unknown row to her.
    let cedar_type = srv.demo.expense_types[&("Cedar Logistics", "Fuel")];
    let r = anna
        .run(Mutation::PutExpenseType(kvits_protocol::ExpenseType {
            id: cedar_type,
            company_id: cedar,
            code: "6110".into(),
            name: "Diesel".into(),
            active: true,
        }))
        .await;
    assert!(
        matches!(
            r.outcome,
            Outcome::Rejected {
                code: RejectCode::NotFound,
                ..
            }
        ),
        "{r:?}"
    );
    // Reassigned: the rows come back with a fresh start.
    assert_eq!(
        set_staff(&srv, &paula, anna_id, "accountant", &[birch, cedar])
            .await
            .0,
        204
    );
    assert!(anna.pull_from(anna.cursor, None).await.reset);
    assert_eq!(pulled_companies(&anna).await, set([birch, cedar]));
}

#[tokio::test]
async fn a_paused_company_keeps_its_data_for_the_firm_and_shuts_out_its_people() {
    let srv = TestServer::start().await;
    let paula = srv.device("paula@demo.kvits").await;
    let gale = create_company(&srv, &paula, json!({"name": "Gale Garden"})).await;
    // Gina joins Gale as its employee and saves a receipt.
    let (status, body) = send(
        srv.http
            .post(srv.url(&format!("/v1/companies/{}/users", gale.id)))
            .bearer_auth(&paula.token)
            .json(&json!({"email": "gina@gale.test", "name": "Gina", "roles": ["employee"]})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let mut gina = accept(&srv, &serde_json::from_value(body).unwrap())
        .await
        .unwrap();
    let receipt = ExpenseId(uuid::Uuid::now_v7());
    let r = gina
        .run(Mutation::CreateExpense {
            expense_id: receipt,
            company_id: gale.id,
            document_type: DocumentType::Receipt,
            fields: ExpenseFields::default(),
        })
        .await;
    assert_eq!(r.outcome, Outcome::Applied);
    gina.pull_all().await;

    let pause = |active: bool| {
        srv.http
            .put(srv.url(&format!("/v1/companies/{}", gale.id)))
            .bearer_auth(&paula.token)
            .json(&json!({"name": "Gale Garden", "active": active}))
    };
    let (status, body) = send(pause(false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], false);

    // Gina: pull, push and sign-in are refused, saying why; signing out still works.
    let r = gina
        .get(&format!("/v1/sync/pull?client_id={}&cursor=0", gina.client))
        .await;
    assert_eq!(r.status(), 403);
    let err: ErrorBody = r.json().await.unwrap();
    assert_eq!(err.code, ErrorCode::CompanyInactive);
    assert!(
        err.message.contains("Gale Garden") && err.message.contains("Demo Accounting"),
        "{}",
        err.message
    );
    let (status, body) = gina
        .push_raw(&[gina.clone().queue(Mutation::DeleteExpense {
            expense_id: receipt,
        })])
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = sign_in(&srv, "gina@gale.test").await;
    assert_eq!((status, code(&body)), (403, ErrorCode::CompanyInactive));
    // The firm still has the company and its data.
    let firm_rows = paula.pull_from(0, Some(1000)).await;
    assert!(firm_rows.changes.iter().any(|c| matches!(&c.op,
        ChangeOp::Upsert { entity } if matches!(&**entity,
            Entity::Company(co) if co.id == gale.id && !co.active))));
    let r = paula.get("/v1/me").await;
    let session: kvits_protocol::Session = r.json().await.unwrap();
    let gale_membership = session
        .memberships
        .iter()
        .find(|m| m.company_id == gale.id)
        .unwrap();
    assert!(!gale_membership.active);
    assert_eq!(gale_membership.roles, vec![Role::Accountant]);

    // Reactivated: Gina signs in again, her device starts over and finds her receipt.
    assert_eq!(send(pause(true)).await.0, 200);
    let (status, _) = sign_in(&srv, "gina@gale.test").await;
    assert_eq!(status, 200);
    assert!(gina.pull_from(gina.cursor, None).await.reset);
    let rows = gina.pull_from(0, Some(1000)).await;
    assert!(rows.changes.iter().any(|c| matches!(&c.op,
        ChangeOp::Upsert { entity } if entity.id() == receipt.0)));
    let r = gina
        .http
        .post(gina.url("/v1/auth/logout"))
        .bearer_auth(&gina.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn the_firm_keeps_a_firm_admin_and_a_company_keeps_its_currency_once_it_has_documents() {
    let srv = TestServer::start().await;
    let paula = srv.device("paula@demo.kvits").await;
    let invitation = invite_staff(&srv, &paula, "sven@demo.kvits", "accountant", &[]).await;
    let sven = accept(&srv, &invitation).await.unwrap();
    // Paula cannot step down while she is the only firm admin.
    let (status, body) = set_staff(&srv, &paula, paula.user, "accountant", &[]).await;
    assert_eq!(
        (status, code(&body)),
        (409, ErrorCode::AlreadyExists),
        "{body}"
    );
    assert_eq!(
        set_staff(&srv, &paula, sven.user, "firm_admin", &[])
            .await
            .0,
        204
    );
    assert_eq!(get_firm(&srv, &sven).await.staff.len(), 3);
    assert_eq!(
        set_staff(&srv, &sven, paula.user, "accountant", &[])
            .await
            .0,
        204
    );
    let (status, body) = send(srv.http.get(srv.url("/v1/firm")).bearer_auth(&paula.token)).await;
    assert_eq!((status, code(&body)), (403, ErrorCode::Forbidden));

    // Birch has documents in EUR (none yet: Emma saves one).
    let birch = srv.demo.company("Birch Bakery");
    let mut emma = srv.device("emma@demo.kvits").await;
    let r = emma
        .run(Mutation::CreateExpense {
            expense_id: ExpenseId(uuid::Uuid::now_v7()),
            company_id: birch,
            document_type: DocumentType::Receipt,
            fields: ExpenseFields::default(),
        })
        .await;
    assert_eq!(r.outcome, Outcome::Applied);
    let (status, body) = send(
        srv.http
            .put(srv.url(&format!("/v1/companies/{birch}")))
            .bearer_auth(&sven.token)
            .json(&json!({"name": "Birch Bakery", "base_currency": "SEK"})),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (409, ErrorCode::AlreadyExists),
        "{body}"
    );
    let (status, body) = send(
        srv.http
            .put(srv.url(&format!("/v1/companies/{birch}")))
            .bearer_auth(&sven.token)
            .json(&json!({"name": "Birch Bakery SIA", "base_currency": "EUR", "country": "LV"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Birch Bakery SIA");
    // Its people are unchanged by an edit of its details.
    assert!(body["members"].as_array().is_some_and(|m| !m.is_empty()));
}

/// Writes a document of `company` with `status` straight into the store (the overview counts
/// what is stored; the workflows that lead to each status have their own tests).
async fn stored_document(srv: &TestServer, company: CompanyId, status: ExpenseStatus) {
    let firm = srv.demo.firm;
    let emma = srv.demo.user("emma@demo.kvits");
    srv.server
        .state()
        .db
        .write(move |c| {
            let now = kvits_sync_server::now();
            kvits_sync_server::store::put(
                c,
                firm,
                &Entity::Expense(Expense {
                    id: ExpenseId(uuid::Uuid::now_v7()),
                    company_id: company,
                    created_by: emma,
                    created_by_name: "Emma Employee".into(),
                    document_type: DocumentType::Receipt,
                    fields: ExpenseFields::default(),
                    pages: Vec::new(),
                    status,
                    revision: 1,
                    approval: None,
                    decisions: Vec::new(),
                    created_at: now,
                    updated_at: now,
                    submitted_at: (status != ExpenseStatus::Draft).then_some(now),
                    history: Vec::new(),
                    export: None,
                }),
            )?;
            Ok(())
        })
        .await
        .unwrap();
}

async fn overview(d: &Device) -> (u16, Option<ClientsOverview>) {
    let r = d.get("/v1/clients").await;
    let status = r.status().as_u16();
    (status, r.json().await.ok())
}

#[tokio::test]
async fn the_clients_overview_counts_the_work_waiting_in_each_client() {
    let srv = TestServer::start().await;
    let (birch, cedar) = (
        srv.demo.company("Birch Bakery"),
        srv.demo.company("Cedar Logistics"),
    );
    for status in [
        ExpenseStatus::Draft,
        ExpenseStatus::Submitted,
        ExpenseStatus::Approved,
        ExpenseStatus::Approved,
        ExpenseStatus::Returned,
        ExpenseStatus::Reviewed,
        ExpenseStatus::Rejected,
    ] {
        stored_document(&srv, birch, status).await;
    }
    stored_document(&srv, cedar, ExpenseStatus::Submitted).await;

    // Clara answers the firm's welcome message in Birch.
    let mut anna = srv.device("anna@demo.kvits").await;
    let mut clara = srv.device("clara@demo.kvits").await;
    let thread = kvits_protocol::ThreadId::for_recipient(kvits_demo::WELCOME, birch);
    let r = clara
        .run(Mutation::ReplyMessage {
            message_id: kvits_protocol::MessageId(uuid::Uuid::now_v7()),
            thread_id: thread,
            body: "Thank you, we will.".into(),
            attachment: None,
        })
        .await;
    assert_eq!(r.outcome, Outcome::Applied);

    let (status, view) = overview(&anna).await;
    assert_eq!(status, 200);
    let view = view.unwrap();
    let names: Vec<&str> = view.clients.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Birch Bakery", "Cedar Logistics"]);
    let b = &view.clients[0];
    assert_eq!(
        (
            b.to_review,
            b.waiting_for_approval,
            b.returned,
            b.ready_for_export,
            b.unread_replies
        ),
        (2, 1, 1, 1, 1),
        "{b:?}"
    );
    assert!(b.assigned_to_me);
    assert_eq!(view.clients[1].waiting_for_approval, 1);
    assert_eq!(view.clients[1].unread_replies, 0);

    // Anna reads the reply: it no longer counts for her.
    assert!(anna.open(birch).await);
    let page = anna.pull_all().await;
    let reply = page
        .iter()
        .filter_map(|c| match &c.op {
            ChangeOp::Upsert { entity } => match &**entity {
                Entity::Message(m) if m.thread_id == thread && m.author_id == clara.user => {
                    Some(m.id)
                }
                _ => None,
            },
            ChangeOp::Delete { .. } => None,
        })
        .next()
        .unwrap();
    let r = anna
        .run(Mutation::MarkRead {
            thread_id: thread,
            up_to: reply,
        })
        .await;
    assert_eq!(r.outcome, Outcome::Applied);
    assert_eq!(
        overview(&anna).await.1.unwrap().clients[0].unread_replies,
        0
    );

    // Paula sees every client, none assigned to her; the client's own people have no overview.
    let paula = srv.device("paula@demo.kvits").await;
    let all = overview(&paula).await.1.unwrap();
    assert_eq!(all.clients.len(), 5);
    assert!(all.clients.iter().all(|c| !c.assigned_to_me));
    assert!(
        all.clients
            .iter()
            .any(|c| c.name == "Fir Foods" && !c.active)
    );
    assert_eq!(all.clients[0].unread_replies, 1, "Paula has not read it");
    let (status, _) = overview(&clara).await;
    assert_eq!(status, 403);
}

/// The kinds and companies of the rows a pull from the start brings.
async fn pulled_documents(d: &Device) -> BTreeSet<(String, CompanyId)> {
    let page = d.pull_from(0, Some(1000)).await;
    assert!(!page.has_more);
    page.changes
        .iter()
        .filter_map(|c| match &c.op {
            ChangeOp::Upsert { entity } => {
                Some((entity.kind().as_str().to_owned(), entity.company_id()))
            }
            ChangeOp::Delete { .. } => None,
        })
        .filter(|(kind, _)| kind == "expense")
        .collect()
}

#[tokio::test]
async fn a_staff_install_holds_a_clients_documents_once_it_opens_the_client() {
    let srv = TestServer::start().await;
    let (birch, cedar) = (
        srv.demo.company("Birch Bakery"),
        srv.demo.company("Cedar Logistics"),
    );
    stored_document(&srv, birch, ExpenseStatus::Approved).await;
    stored_document(&srv, cedar, ExpenseStatus::Submitted).await;
    // A new install of Anna's: every client's company, catalog and conversations (the firm's
    // welcome thread in both), nobody's documents.
    let mut anna = srv.device("anna@demo.kvits").await;
    assert_eq!(pulled_companies(&anna).await, set([birch, cedar]));
    assert!(pulled_documents(&anna).await.is_empty());
    let threads: BTreeSet<CompanyId> = anna
        .pull_from(0, Some(1000))
        .await
        .changes
        .iter()
        .filter_map(|c| match &c.op {
            ChangeOp::Upsert { entity } => match &**entity {
                Entity::Thread(t) => Some(t.company_id),
                _ => None,
            },
            ChangeOp::Delete { .. } => None,
        })
        .collect();
    assert_eq!(threads, set([birch, cedar]));
    anna.pull_all().await;

    // She opens Birch: her next pull starts over and brings Birch's documents, and still none
    // of Cedar's.
    assert!(anna.open(birch).await);
    assert!(anna.pull_from(anna.cursor, None).await.reset);
    let docs = pulled_documents(&anna).await;
    assert!(docs.contains(&("expense".to_owned(), birch)), "{docs:?}");
    assert!(docs.iter().all(|(_, c)| *c == birch), "{docs:?}");
    // Opening it again changes nothing; another install of hers starts empty.
    anna.pull_all().await;
    assert!(!anna.open(birch).await);
    assert!(!anna.pull_from(anna.cursor, None).await.reset);
    let other = srv.device("anna@demo.kvits").await;
    assert!(pulled_documents(&other).await.is_empty());

    // A company's own people are not scoped: Emma holds her receipts without opening anything.
    let emma = srv.device("emma@demo.kvits").await;
    assert!(!pulled_documents(&emma).await.is_empty());
    // ... and cannot open clients.
    assert_eq!(emma.try_open(birch).await.status(), 403);
}
