//! Access that can be taken away: a person sees their signed-in devices and ends any of them;
//! a session ends after a time without use and after its longest lifetime, and is renewed by
//! use; a company's admin or the firm's admin turns a person's access off (every session ends,
//! signing in is refused with a clear answer) and on again; so does the operator's CLI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::TestServer;
use kvits_protocol::{ClientId, ErrorBody, ErrorCode, LoginResponse, SignedInDevice};
use reqwest::{Method, StatusCode};

async fn call(
    srv: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut rb = srv.http.request(method, srv.url(path)).bearer_auth(token);
    if let Some(body) = body {
        rb = rb.json(&body);
    }
    rb.send().await.unwrap()
}

async fn sign_in(srv: &TestServer, email: &str, device: &str) -> reqwest::Response {
    srv.http
        .post(srv.url("/v1/auth/login"))
        .json(&serde_json::json!({
            "email": email,
            "password": kvits_sync_server::demo::PASSWORD,
            "client_id": ClientId(uuid::Uuid::now_v7()),
            "device_name": device,
        }))
        .send()
        .await
        .unwrap()
}

async fn token(srv: &TestServer, email: &str, device: &str) -> String {
    let r = sign_in(srv, email, device).await;
    assert_eq!(r.status(), 200, "{email}");
    r.json::<LoginResponse>().await.unwrap().token
}

async fn sessions(srv: &TestServer, token: &str) -> Vec<SignedInDevice> {
    let r = call(srv, token, Method::GET, "/v1/auth/sessions", None).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The answer to a request with `token`: its status and error code.
async fn me(srv: &TestServer, token: &str) -> (StatusCode, Option<ErrorBody>) {
    let r = call(srv, token, Method::GET, "/v1/me", None).await;
    let status = r.status();
    (status, r.json::<ErrorBody>().await.ok())
}

fn sql(srv: &TestServer, statement: &str, params: impl rusqlite::Params) {
    rusqlite::Connection::open(srv.db_path())
        .unwrap()
        .execute(statement, params)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_sees_their_devices_and_ends_one() {
    let srv = TestServer::start().await;
    let phone = token(&srv, "emma@demo.kvits", "Pixel 8").await;
    let laptop = token(&srv, "emma@demo.kvits", "Chrome on Linux").await;
    let listed = sessions(&srv, &laptop).await;
    let names: Vec<Option<&str>> = listed.iter().map(|s| s.device_name.as_deref()).collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(names.contains(&Some("Pixel 8")) && names.contains(&Some("Chrome on Linux")));
    let current: Vec<_> = listed.iter().filter(|s| s.current).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].device_name.as_deref(), Some("Chrome on Linux"));
    let limit = chrono::TimeDelta::days(30);
    assert!(
        listed
            .iter()
            .all(|s| s.expires_at - s.last_used_at <= limit)
    );
    assert!(
        !serde_json::to_string(&listed).unwrap().contains(&phone),
        "no token in the list"
    );

    // Someone else cannot end it, nor see it.
    let phone_id = listed.iter().find(|s| !s.current).unwrap().id.clone();
    let mark = token(&srv, "mark@demo.kvits", "Mark's phone").await;
    let path = format!("/v1/auth/sessions/{phone_id}");
    assert_eq!(
        call(&srv, &mark, Method::DELETE, &path, None)
            .await
            .status(),
        404
    );
    assert!(sessions(&srv, &mark).await.iter().all(|s| s.id != phone_id));
    assert_eq!(me(&srv, &phone).await.0, 200);

    // Emma ends the phone's session from the laptop: the phone is told at its next request.
    assert_eq!(
        call(&srv, &laptop, Method::DELETE, &path, None)
            .await
            .status(),
        204
    );
    let (status, body) = me(&srv, &phone).await;
    assert_eq!(status, 401);
    assert_eq!(body.unwrap().code, ErrorCode::Unauthenticated);
    assert_eq!(me(&srv, &laptop).await.0, 200);
    assert_eq!(sessions(&srv, &laptop).await.len(), 1);
    // Again: there is no such live session any more.
    assert_eq!(
        call(&srv, &laptop, Method::DELETE, &path, None)
            .await
            .status(),
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_expires_unused_or_too_old_and_use_renews_it() {
    let srv = TestServer::start().await;
    let idle = token(&srv, "emma@demo.kvits", "idle").await;
    let old = token(&srv, "emma@demo.kvits", "old").await;
    let used = token(&srv, "emma@demo.kvits", "used").await;
    let hash = |t: &str| kvits_sync_server::auth::hash_token(t);
    let ago = |days: i64, hours: i64| {
        (chrono::Utc::now() - chrono::TimeDelta::days(days) - chrono::TimeDelta::hours(hours))
            .to_rfc3339()
    };
    // Unused for 31 days.
    sql(
        &srv,
        "UPDATE tokens SET created_at = ?2, last_used_at = ?2 WHERE token_hash = ?1",
        (hash(&idle), ago(31, 0)),
    );
    // Used yesterday, but signed in 91 days ago.
    sql(
        &srv,
        "UPDATE tokens SET created_at = ?2, last_used_at = ?3 WHERE token_hash = ?1",
        (hash(&old), ago(91, 0), ago(1, 0)),
    );
    // Used 29 days ago: still live, and this request renews it.
    let before = ago(29, 0);
    sql(
        &srv,
        "UPDATE tokens SET created_at = ?2, last_used_at = ?2 WHERE token_hash = ?1",
        (hash(&used), &before),
    );
    for t in [&idle, &old] {
        let (status, body) = me(&srv, t).await;
        assert_eq!(status, 401);
        assert!(body.unwrap().message.contains("expired"));
    }
    assert_eq!(me(&srv, &used).await.0, 200);
    let renewed: String = rusqlite::Connection::open(srv.db_path())
        .unwrap()
        .query_row(
            "SELECT last_used_at FROM tokens WHERE token_hash = ?1",
            [hash(&used)],
            |r| r.get(0),
        )
        .unwrap();
    let renewed = chrono::DateTime::parse_from_rfc3339(&renewed).unwrap();
    assert!(chrono::Utc::now() - renewed.to_utc() < chrono::TimeDelta::minutes(5));
    let listed = sessions(&srv, &used).await;
    assert_eq!(
        listed.len(),
        1,
        "expired sessions are not listed: {listed:?}"
    );

    // The limits are the server's configuration.
    let strict =
        TestServer::start_with(|c| c.session_idle = std::time::Duration::from_secs(3600)).await;
    let t = token(&strict, "emma@demo.kvits", "strict").await;
    sql(
        &strict,
        "UPDATE tokens SET last_used_at = ?2 WHERE token_hash = ?1",
        (hash(&t), ago(0, 2)),
    );
    assert_eq!(me(&strict, &t).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_company_admin_turns_a_member_s_access_off_and_on() {
    let srv = TestServer::start().await;
    let emma_id = srv.demo.user("emma@demo.kvits");
    let emma = token(&srv, "emma@demo.kvits", "Emma's phone").await;
    let clara = token(&srv, "clara@demo.kvits", "Clara's laptop").await;
    let access = |who: String, user: kvits_protocol::UserId, disabled: bool| {
        let srv = &srv;
        async move {
            call(
                srv,
                &who,
                Method::PUT,
                &format!("/v1/users/{user}/access"),
                Some(serde_json::json!({ "disabled": disabled })),
            )
            .await
            .status()
        }
    };
    // An employee cannot; nobody turns themselves off; a company admin cannot turn off the
    // firm's staff.
    assert_eq!(
        access(emma.clone(), srv.demo.user("mark@demo.kvits"), true).await,
        403
    );
    assert_eq!(
        access(clara.clone(), srv.demo.user("clara@demo.kvits"), true).await,
        403
    );
    assert_eq!(
        access(clara.clone(), srv.demo.user("anna@demo.kvits"), true).await,
        403
    );
    assert_eq!(me(&srv, &emma).await.0, 200);

    // Clara, Birch's admin, turns Emma off: Emma's session ends at once, and her sign-in is
    // refused clearly — but only with the right password (a wrong one is just wrong).
    assert_eq!(access(clara.clone(), emma_id, true).await, 204);
    let (status, body) = me(&srv, &emma).await;
    assert_eq!(status, 401);
    assert!(body.unwrap().message.contains("turned off"));
    let r = sign_in(&srv, "emma@demo.kvits", "again").await;
    assert_eq!(r.status(), 403);
    let body: ErrorBody = r.json().await.unwrap();
    assert_eq!(body.code, ErrorCode::AccountDisabled);
    let wrong = srv
        .http
        .post(srv.url("/v1/auth/login"))
        .json(&serde_json::json!({"email": "emma@demo.kvits", "password": "not hers at all"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    // Birch's member list says so on every device that shows it.
    let mut clara_device = srv.device("clara@demo.kvits").await;
    let emma_shown = |changes: Vec<kvits_protocol::Change>| {
        changes.into_iter().rev().find_map(|c| match c.op {
            kvits_protocol::ChangeOp::Upsert { entity } => match *entity {
                kvits_protocol::Entity::Company(company) => company
                    .members
                    .into_iter()
                    .find(|m| m.user_id == emma_id)
                    .map(|m| m.disabled),
                _ => None,
            },
            kvits_protocol::ChangeOp::Delete { .. } => None,
        })
    };
    assert_eq!(emma_shown(clara_device.pull_all().await), Some(true));

    // On again: she signs in as before.
    assert_eq!(access(clara.clone(), emma_id, false).await, 204);
    assert_eq!(emma_shown(clara_device.pull_all().await), Some(false));
    assert_eq!(
        sign_in(&srv, "emma@demo.kvits", "again").await.status(),
        200
    );

    // The firm's admin may turn off anyone of the firm, staff included.
    let paula = token(&srv, "paula@demo.kvits", "Paula's laptop").await;
    let anna = srv.demo.user("anna@demo.kvits");
    let anna_token = token(&srv, "anna@demo.kvits", "Anna's laptop").await;
    assert_eq!(access(paula.clone(), anna, true).await, 204);
    assert_eq!(me(&srv, &anna_token).await.0, 401);
    assert_eq!(access(paula, anna, false).await, 204);
}

fn cli(srv: &TestServer, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kvits-server"))
        .arg("admin")
        .arg("--data-dir")
        .arg(&srv.dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_turns_access_off_and_on_from_the_cli() {
    let srv = TestServer::start().await;
    let mark = token(&srv, "mark@demo.kvits", "Mark's phone").await;
    let (ok, out) = cli(&srv, &["disable-user", "--email", "mark@demo.kvits"]);
    assert!(ok, "{out}");
    assert_eq!(me(&srv, &mark).await.0, 401);
    assert_eq!(
        sign_in(&srv, "mark@demo.kvits", "again").await.status(),
        403
    );
    let (ok, out) = cli(&srv, &["enable-user", "--email", "mark@demo.kvits"]);
    assert!(ok, "{out}");
    assert_eq!(
        sign_in(&srv, "mark@demo.kvits", "again").await.status(),
        200
    );
    let (ok, out) = cli(&srv, &["disable-user", "--email", "nobody@demo.kvits"]);
    assert!(!ok);
    assert!(out.contains("no user with e-mail"), "{out}");
}

/// Password checks beyond the server's slots are answered at once with 503 and `Retry-After`
/// instead of piling up 19 MiB hashes; the sign-ins that got a slot are answered as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_beyond_the_hashing_slots_are_turned_away_not_queued() {
    let srv = TestServer::start_with(|c| {
        c.hashing_slots = 1;
        c.hashing_wait = std::time::Duration::ZERO;
    })
    .await;
    let attempts = (0..16).map(|i| {
        srv.http
            .post(srv.url("/v1/auth/login"))
            .json(&serde_json::json!({
                "email": format!("nobody{i}@example.com"),
                "password": "a wrong password",
            }))
            .send()
    });
    let answers = futures::future::join_all(attempts).await;
    let mut busy = 0;
    for r in answers {
        let r = r.unwrap();
        match r.status().as_u16() {
            401 => {}
            503 => {
                busy += 1;
                assert!(r.headers().contains_key("retry-after"));
                let body: ErrorBody = r.json().await.unwrap();
                assert_eq!(body.code, ErrorCode::Unavailable);
            }
            other => panic!("unexpected answer {other}"),
        }
    }
    assert!(
        busy > 0,
        "sixteen at once on one slot: some are turned away"
    );
    assert_eq!(
        sign_in(&srv, "emma@demo.kvits", "after").await.status(),
        200
    );
}

async fn wrong_password(srv: &TestServer, email: &str, from: Option<&str>) -> u16 {
    let mut rb = srv
        .http
        .post(srv.url("/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": "not the password"}));
    if let Some(address) = from {
        rb = rb.header("x-forwarded-for", address);
    }
    rb.send().await.unwrap().status().as_u16()
}

/// Wrong passwords sent at once are counted before any is checked, and the count survives a
/// restart of the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_attempts_are_counted_before_checking_and_kept_across_restarts() {
    let srv = TestServer::start_with(|c| c.hashing_slots = 64).await;
    let attempts = (0..12).map(|_| wrong_password(&srv, "emma@demo.kvits", None));
    let statuses = futures::future::join_all(attempts).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (checked, limited),
        (kvits_sync_server::auth::MAX_FAILED_LOGINS as usize, 12 - 5),
        "{statuses:?}"
    );
    let srv = srv.restart().await;
    assert_eq!(
        sign_in(&srv, "emma@demo.kvits", "after the restart")
            .await
            .status(),
        429,
        "still counted"
    );
}

/// The limit holds the guesser's address, not the account: Emma, elsewhere, still signs in.
/// A forwarded address counts only when the server is told the proxy it comes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guesser_slows_down_themselves_not_the_person_they_aim_at() {
    let localhost: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let behind = TestServer::start_with(|c| c.trusted_proxies = vec![localhost]).await;
    let guesser = Some("203.0.113.9");
    for _ in 0..kvits_sync_server::auth::MAX_FAILED_LOGINS {
        assert_eq!(
            wrong_password(&behind, "emma@demo.kvits", guesser).await,
            401
        );
    }
    assert_eq!(
        wrong_password(&behind, "emma@demo.kvits", guesser).await,
        429
    );
    let emma = behind
        .http
        .post(behind.url("/v1/auth/login"))
        .header("x-forwarded-for", "198.51.100.7")
        .json(&serde_json::json!({
            "email": "emma@demo.kvits",
            "password": kvits_sync_server::demo::PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(emma.status(), 200, "Emma from her own address");

    // Without a trusted proxy, the header is the client's own claim: ignored.
    let direct = TestServer::start().await;
    for i in 0..kvits_sync_server::auth::MAX_FAILED_LOGINS {
        let claimed = format!("192.0.2.{i}");
        assert_eq!(
            wrong_password(&direct, "mark@demo.kvits", Some(&claimed)).await,
            401
        );
    }
    assert_eq!(
        wrong_password(&direct, "mark@demo.kvits", Some("192.0.2.200")).await,
        429
    );
}
