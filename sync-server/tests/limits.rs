//! Every connection and request is bounded: a connection that sends no request head is closed,
//! the server holds a capped number of connections, a request whose body never finishes is
//! answered `408`, and one person's devices get a request budget and a few long polls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::TestServer;
use kvits_protocol::{ErrorBody, ErrorCode};
use kvits_sync_server::limits::RequestRate;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection (or `limit` passes): what it sent.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut got = Vec::new();
    let closed = tokio::time::timeout(limit, stream.read_to_end(&mut got)).await;
    closed
        .ok()
        .map(|_| String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test]
async fn a_connection_that_sends_no_request_is_closed() {
    let srv = TestServer::start_with(|c| c.header_read_timeout = Duration::from_millis(300)).await;
    // Nothing at all, and a request head that never ends.
    let mut silent = TcpStream::connect(srv.addr()).await.unwrap();
    let mut trickle = TcpStream::connect(srv.addr()).await.unwrap();
    trickle
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    for stream in [&mut silent, &mut trickle] {
        let sent = read_to_close(stream, Duration::from_secs(10)).await;
        let sent = sent.expect("the server closes a connection without a request head");
        assert!(!sent.contains("200 OK"), "{sent}");
    }
    // A whole request is still answered.
    let r = srv.http.get(srv.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn past_the_connection_cap_a_new_connection_waits_for_a_free_one() {
    let srv = TestServer::start_with(|c| {
        c.max_connections = 2;
        c.header_read_timeout = Duration::from_secs(30);
    })
    .await;
    let first = TcpStream::connect(srv.addr()).await.unwrap();
    let _second = TcpStream::connect(srv.addr()).await.unwrap();
    // Both idle connections are accepted before the third arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = srv.url("/healthz");
    let waiting = tokio::spawn(async move { http.get(url).send().await.map(|r| r.status()) });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a third connection is not served while two are open"
    );
    drop(first);
    let status = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("served once a connection closed")
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_body_that_never_finishes_is_answered_408() {
    let srv = TestServer::start_with(|c| c.request_timeout = Duration::from_millis(500)).await;
    let token = srv.login("emma@demo.kvits").await;
    let mut stream = TcpStream::connect(srv.addr()).await.unwrap();
    let head = format!(
        "POST /v1/sync/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"client_id\""
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("answered while the body is still missing")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"timed_out\""), "{answer}");
}

#[tokio::test]
async fn one_person_s_requests_are_limited_and_others_are_not() {
    let srv = TestServer::start_with(|c| {
        c.user_rate = Some(RequestRate {
            per_second: 1,
            burst: 5,
        })
    })
    .await;
    let emma = srv.login("emma@demo.kvits").await;
    let anna = srv.login("anna@demo.kvits").await;
    let me = |token: &str| srv.http.get(srv.url("/v1/me")).bearer_auth(token).send();
    let mut answers = Vec::new();
    for _ in 0..8 {
        answers.push(me(&emma).await.unwrap());
    }
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses[..5].iter().all(|s| *s == 200), "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    let refused = answers.pop().unwrap();
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    let body: ErrorBody = refused.json().await.unwrap();
    assert_eq!(body.code, ErrorCode::RateLimited);
    assert_eq!(
        me(&anna).await.unwrap().status(),
        200,
        "Anna has her own budget"
    );
    // The budget refills.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(me(&emma).await.unwrap().status(), 200);
}

#[tokio::test]
async fn one_person_holds_only_a_few_long_polls() {
    let srv = TestServer::start_with(|c| c.long_polls_per_user = 2).await;
    let phone = srv.device("emma@demo.kvits").await;
    let laptop = srv.device("emma@demo.kvits").await;
    let tablet = srv.device("emma@demo.kvits").await;
    let cursor = phone.pull_from(0, None).await.cursor;
    let waiting = [phone.long_poll(cursor, 3), laptop.long_poll(cursor, 3)];
    // Both are waiting before the third asks (within their 3 s).
    let srv_limits = srv.server.state().limits.clone();
    let user = phone.user;
    let started = std::time::Instant::now();
    while srv_limits.long_polls_of(user) < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the polls never arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let third = tablet
        .get(&format!(
            "/v1/sync/pull?client_id={}&cursor={cursor}&wait=30",
            tablet.client
        ))
        .await;
    assert_eq!(third.status(), 429);
    assert!(third.headers().contains_key("retry-after"));
    // A pull that does not wait is still answered.
    let now = tablet
        .get(&format!(
            "/v1/sync/pull?client_id={}&cursor={cursor}",
            tablet.client
        ))
        .await;
    assert_eq!(now.status(), 200);
    for poll in waiting {
        tokio::time::timeout(Duration::from_secs(10), poll)
            .await
            .expect("the long poll ends at its deadline")
            .unwrap();
    }
    assert_eq!(
        srv_limits.long_polls_of(user),
        0,
        "their places are given back"
    );
    let again = tablet
        .get(&format!(
            "/v1/sync/pull?client_id={}&cursor={cursor}&wait=1",
            tablet.client
        ))
        .await;
    assert_eq!(again.status(), 200);
}
