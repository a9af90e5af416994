//! The `kvits-server` CLI: an operator sets up a firm from nothing, then its people sign in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

fn admin(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kvits-server"))
        .arg("admin")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run kvits-server");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn admin_fails(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kvits-server"))
        .arg("admin")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run kvits-server");
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn an_operator_sets_up_a_firm_and_its_people_use_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let firm = admin(dir, &["create-firm", "--name", "Linden Ledgers"]);
    let company = admin(
        dir,
        &["create-company", "--firm", &firm, "--name", "Maple Mills"],
    );
    admin(
        dir,
        &[
            "create-user",
            "--firm",
            &firm,
            "--email",
            "lena@linden.test",
            "--name",
            "Lena",
            "--password",
            "a good password",
            "--accountant",
        ],
    );
    admin(
        dir,
        &[
            "create-user",
            "--firm",
            &firm,
            "--email",
            "max@maple.test",
            "--name",
            "Max",
            "--password",
            "another password",
            "--company",
            &company,
            "--roles",
            "approver,employee",
        ],
    );
    let invited = admin(
        dir,
        &[
            "create-user",
            "--firm",
            &firm,
            "--email",
            "mia@maple.test",
            "--name",
            "Mia",
            "--company",
            &company,
            "--roles",
            "employee",
        ],
    );
    assert!(invited.contains(" invitation kvi_"), "{invited}");
    admin(
        dir,
        &[
            "add-expense-type",
            "--company",
            &company,
            "--code",
            "6110",
            "--name",
            "Fuel",
        ],
    );
    admin(
        dir,
        &[
            "add-card",
            "--company",
            &company,
            "--label",
            "Visa",
            "--last-four",
            "1234",
            "--holder",
            "max@maple.test",
        ],
    );
    admin(
        dir,
        &[
            "add-approval-rule",
            "--company",
            &company,
            "--name",
            "Fuel over 50",
            "--step",
            "max@maple.test",
            "--expense-types",
            "6110",
            "--min-amount-minor",
            "5000",
        ],
    );
    admin(
        dir,
        &[
            "send-message",
            "--from",
            "lena@linden.test",
            "--companies",
            &company,
            "--subject",
            "Hello",
            "--body",
            "Welcome to Kvits",
        ],
    );
    // Clear refusals, nothing half-done.
    assert!(
        admin_fails(
            dir,
            &[
                "add-card",
                "--company",
                &company,
                "--label",
                "X",
                "--last-four",
                "12"
            ]
        )
        .contains("last four digits")
    );
    assert!(
        admin_fails(dir, &["create-company", "--firm", &firm, "--name", ""])
            .contains("company name")
    );
    assert!(
        admin_fails(
            dir,
            &[
                "send-message",
                "--from",
                "max@maple.test",
                "--companies",
                &company,
                "--subject",
                "x",
                "--body",
                "y",
            ]
        )
        .contains("role")
    );

    // The server on that data dir: Max signs in and sees the catalog, the rule and the message.
    let server = kvits_sync_server::Server::open(kvits_sync_server::Config::new(dir)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { server.serve(listener, std::future::pending()).await });
    let http = reqwest::Client::new();
    let login: kvits_protocol::LoginResponse = http
        .post(format!("{base}/v1/auth/login"))
        .json(&serde_json::json!({"email": "max@maple.test", "password": "another password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(login.session.memberships.len(), 1);
    assert_eq!(login.session.memberships[0].company_name, "Maple Mills");
    let page: kvits_protocol::PullResponse = http
        .get(format!("{base}/v1/sync/pull"))
        .bearer_auth(&login.token)
        .query(&[("client_id", uuid::Uuid::now_v7().to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: std::collections::BTreeSet<&str> = page
        .changes
        .iter()
        .filter_map(|c| match &c.op {
            kvits_protocol::ChangeOp::Upsert { entity } => Some(entity.kind().as_str()),
            kvits_protocol::ChangeOp::Delete { .. } => None,
        })
        .collect();
    for kind in ["company", "expense_type", "payment_method", "approval_rule"] {
        assert!(kinds.contains(kind), "{kind} missing: {kinds:?}");
    }
    // Max is an approver, not a client: the firm's messages are not his.
    assert!(!kinds.contains("message"));
    task.abort();
}
