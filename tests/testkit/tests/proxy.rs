//! The fault proxy against a small axum server and a reqwest client (the stack the phones use).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use kvits_testkit::proxy::{Exchange, FaultProxy, Match, Outcome};

/// What the test server saw: `METHOD /path` per request that reached a handler.
#[derive(Debug, Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn count(&self, request: &str) -> usize {
        self.0
            .lock()
            .expect("seen")
            .iter()
            .filter(|r| *r == request)
            .count()
    }

    fn total(&self) -> usize {
        self.0.lock().expect("seen").len()
    }
}

/// Records its message in `Seen` if dropped while still armed (a handler cancelled half-way).
struct Cancelled(Option<(Seen, String)>);

impl Drop for Cancelled {
    fn drop(&mut self) {
        if let Some((seen, message)) = self.0.take() {
            seen.0.lock().expect("seen").push(message);
        }
    }
}

/// Deterministic bytes that differ along the whole length.
fn payload(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

async fn handle(State(seen): State<Seen>, method: Method, uri: Uri, body: Bytes) -> Response {
    seen.0
        .lock()
        .expect("seen")
        .push(format!("{method} {}", uri.path()));
    match uri.path() {
        "/hello" => "hello".into_response(),
        "/echo" => body.into_response(),
        "/slow" => {
            let mut cancelled =
                Cancelled(Some((seen.clone(), format!("{method} /slow cancelled"))));
            tokio::time::sleep(Duration::from_secs(2)).await;
            cancelled.0 = None;
            "slow".into_response()
        }
        // How many times the server has seen this request, this one included.
        "/next" => seen
            .count(&format!("{method} /next"))
            .to_string()
            .into_response(),
        "/big" => payload(3 << 20, 7).into_response(),
        "/chunked" => {
            let data = payload(2 << 20, 9);
            let chunks: Vec<Result<Bytes, std::io::Error>> = data
                .chunks(50_000)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            Body::from_stream(futures::stream::iter(chunks)).into_response()
        }
        _ => (axum::http::StatusCode::NOT_FOUND, "no").into_response(),
    }
}

/// Starts the test server on the current tokio runtime.
async fn server() -> (SocketAddr, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::disable())
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

async fn get(client: &reqwest::Client, url: String) -> reqwest::Result<Vec<u8>> {
    let response = client.get(url).send().await?.error_for_status()?;
    Ok(response.bytes().await?.to_vec())
}

fn exchange(method: &str, path: &str, status: Option<u16>, outcome: Outcome) -> Exchange {
    Exchange {
        method: method.into(),
        path: path.into(),
        status,
        outcome,
    }
}

#[tokio::test]
async fn forwards_get_and_post_over_one_kept_alive_connection() {
    let (addr, seen) = server().await;
    let proxy = FaultProxy::start(addr).expect("proxy");
    let client = client();
    let url = proxy.url();

    assert_eq!(
        get(&client, format!("{url}/hello")).await.expect("get"),
        b"hello"
    );
    let echoed = client
        .post(format!("{url}/echo?x=1"))
        .body("a body")
        .send()
        .await
        .expect("post")
        .bytes()
        .await
        .expect("body");
    assert_eq!(&echoed[..], b"a body");
    let missing = client.get(format!("{url}/nope")).send().await.expect("get");
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.text().await.expect("text"), "no");
    assert_eq!(
        get(&client, format!("{url}/hello")).await.expect("get"),
        b"hello"
    );

    assert_eq!(proxy.connections(), 1, "reqwest kept its connection alive");
    assert_eq!(proxy.forwarded(), 4);
    assert_eq!(seen.total(), 4);
    assert_eq!(
        proxy.log_of(4, Duration::from_secs(5)),
        vec![
            exchange("GET", "/hello", Some(200), Outcome::Forwarded),
            exchange("POST", "/echo?x=1", Some(200), Outcome::Forwarded),
            exchange("GET", "/nope", Some(404), Outcome::Forwarded),
            exchange("GET", "/hello", Some(200), Outcome::Forwarded),
        ]
    );
}

#[tokio::test]
async fn offline_fails_requests_and_online_again_works() {
    let (addr, seen) = server().await;
    let proxy = FaultProxy::start(addr).expect("proxy");
    let client = client();
    let url = proxy.url();

    get(&client, format!("{url}/hello")).await.expect("online");
    proxy.set_online(false);
    assert!(!proxy.is_online());
    for _ in 0..2 {
        let err = get(&client, format!("{url}/hello")).await;
        assert!(err.is_err(), "offline request went through");
    }
    assert_eq!(seen.total(), 1);
    proxy.set_online(true);
    assert_eq!(
        get(&client, format!("{url}/hello")).await.expect("online"),
        b"hello"
    );
    assert_eq!(seen.total(), 2);
}

#[tokio::test]
async fn going_offline_cuts_a_request_in_flight() {
    let (addr, seen) = server().await;
    let proxy = FaultProxy::start(addr).expect("proxy");
    let client = client();
    let url = proxy.url();

    let started = Instant::now();
    let slow = {
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move { get(&client, format!("{url}/slow")).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.set_online(false);
    let result = slow.await.expect("task");
    assert!(result.is_err(), "the cut request succeeded");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "not cut at once"
    );
    assert_eq!(
        seen.count("GET /slow"),
        1,
        "the server saw it before the cut"
    );
    assert_eq!(
        proxy.log_of(1, Duration::from_secs(5)),
        vec![exchange("GET", "/slow", None, Outcome::Cut)]
    );
}

#[tokio::test]
async fn drop_next_request_never_reaches_the_server() {
    let (addr, seen) = server().await;
    let proxy = FaultProxy::start(addr).expect("proxy");
    let client = client();
    let url = proxy.url();

    proxy.drop_next_request(Match::path_prefix("/echo").method("POST"));
    assert_eq!(proxy.pending_faults(), 1);
    // A request that does not match passes.
    get(&client, format!("{url}/echo"))
        .await
        .expect("GET does not match");
    let dropped = client.post(format!("{url}/echo")).body("lost").send().await;
    assert!(dropped.is_err(), "the dropped request got an answer");
    assert_eq!(seen.count("POST /echo"), 0);
    assert_eq!(proxy.pending_faults(), 0);
    assert_eq!(proxy.dropped_requests(), 1);

    // The fault fired once: the retry goes through.
    let retried = client
        .post(format!("{url}/echo"))
        .body("again")
        .send()
        .await
        .expect("retry")
        .bytes()
        .await
        .expect("body");
    assert_eq!(&retried[..], b"again");
    assert_eq!(seen.count("POST /echo"), 1);
    assert_eq!(
        proxy.log_of(3, Duration::from_secs(5)),
        vec![
            exchange("GET", "/echo", Some(200), Outcome::Forwarded),
            exchange("POST", "/echo", None, Outcome::DroppedRequest),
            exchange("POST", "/echo", Some(200), Outcome::Forwarded),
        ]
    );
}

#[tokio::test]
async fn drop_next_response_loses_the_answer_after_the_server_saw_it() {
    let (addr, seen) = server().await;
    let proxy = FaultProxy::start(addr).expect("proxy");
    let client = client();
    let url = proxy.url();

    proxy.drop_next_response(Match::path_prefix("/echo"));
    let lost = client
        .post(format!("{url}/echo"))
        .body("committed")
        .send()
        .await;
    assert!(lost.is_err(), "the dropped response arrived");
    assert_eq!(seen.count("POST /echo"), 1, "the server handled it");
    assert_eq!(proxy.dropped_responses(), 1);
    assert_eq!(proxy.forwarded(), 1);

    let retried = client
        .post(format!("{url}/echo"))
        .body("again")
        .send()
        .await
        .expect("retry");
    assert_eq!(&retried.bytes().await.expect("body")[..], b"again");
    assert_eq!(seen.count("POST /echo"), 2);
    assert_eq!(
        proxy.log_of(2, Duration::from_secs(5)),
        vec![
            exchange("POST", "/echo", Some(200), Outcome::DroppedResponse),
            exchange("POST", "/echo", Some(200), Outcome::Forwarded),
        ]
    );
}

#[tokio::test]
async fn bodies_of_a_few_megabytes_pass_intact() {
    let (addr, _) = server().await;
    let proxy = FaultProxy::start(addr).expect("proxy");
    let client = client();
    let url = proxy.url();

    let upload = payload(4 << 20, 3);
    let echoed = client
        .post(format!("{url}/echo"))
        .body(upload.clone())
        .send()
        .await
        .expect("post")
        .bytes()
        .await
        .expect("body");
    assert!(echoed[..] == upload[..], "4 MB upload changed on the way");
    let big = get(&client, format!("{url}/big")).await.expect("big");
    assert!(
        big == payload(3 << 20, 7),
        "3 MB download changed on the way"
    );
    let chunked = get(&client, format!("{url}/chunked"))
        .await
        .expect("chunked");
    assert!(
        chunked == payload(2 << 20, 9),
        "chunked download changed on the way"
    );
    assert_eq!(proxy.connections(), 1);
}

#[tokio::test]
async fn a_slow_response_passes() {
    let (addr, _) = server().await;
    let proxy = FaultProxy::start(addr).expect("proxy");
    let started = Instant::now();
    let body = get(&client(), format!("{}/slow", proxy.url()))
        .await
        .expect("slow");
    assert_eq!(body, b"slow");
    assert!(started.elapsed() >= Duration::from_secs(2));
}

/// Raw bytes, from a test without an async runtime of its own: chunked request bodies,
/// `Connection: close`, and garbage.
#[test]
fn chunked_requests_and_garbage_from_a_sync_test() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (addr, seen) = runtime.block_on(server());
    let proxy = FaultProxy::start(addr).expect("proxy");

    let exchange_raw = |request: &[u8]| -> Vec<u8> {
        let mut stream = std::net::TcpStream::connect(proxy.addr()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        stream.write_all(request).expect("write");
        let mut response = Vec::new();
        // A reset proxy connection reads as an error or as the end: both mean "no answer".
        let _ = stream.read_to_end(&mut response);
        response
    };

    let response = exchange_raw(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
          5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
    );
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{response}"
    );
    assert!(response.ends_with("\r\n\r\nhello world"), "{response}");

    // Garbage never reaches the server. hyper answers a malformed head itself with an error
    // status (400 or the like) and a malformed body gets a reset: never a success.
    for garbage in [
        &b"NOT HTTP AT ALL\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nContent-Length: banana\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ] {
        let response = exchange_raw(garbage);
        assert!(
            response.is_empty()
                || response.starts_with(b"HTTP/1.1 4")
                || response.starts_with(b"HTTP/1.1 5"),
            "{garbage:?} answered {:?}",
            String::from_utf8_lossy(&response)
        );
    }
    assert_eq!(seen.total(), 1, "garbage reached the server");

    // `Expect: 100-continue`: the proxy says go on, and the server gets the body.
    let mut stream = std::net::TcpStream::connect(proxy.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\
              Connection: close\r\n\r\n",
        )
        .expect("write");
    let mut interim = [0; 25];
    stream.read_exact(&mut interim).expect("100 Continue");
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"later").expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("\r\n\r\nlater"), "{response}");
    assert_eq!(seen.count("POST /echo"), 2);

    let response = exchange_raw(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(String::from_utf8_lossy(&response).ends_with("hello"));
    drop(proxy);
    drop(runtime);
}

#[tokio::test]
async fn a_client_that_hangs_up_takes_its_upstream_request_along() {
    let (addr, seen) = server().await;
    let proxy = FaultProxy::start(addr).expect("proxy");

    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(proxy.addr())
        .await
        .expect("connect");
    tokio::io::AsyncWriteExt::write_all(&mut stream, b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stream);

    assert_eq!(
        proxy.log_of(1, Duration::from_secs(5)),
        vec![exchange("GET", "/slow", None, Outcome::ClientGone)]
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.count("GET /slow cancelled") == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        seen.count("GET /slow cancelled"),
        1,
        "the server's handler ran on"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the upstream request was not closed at once"
    );
}

/// A bare upstream that reads each connection to its end and hands over every byte it got.
fn recording_upstream() -> (SocketAddr, std::sync::mpsc::Receiver<Vec<u8>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut got = Vec::new();
            let _ = stream.read_to_end(&mut got);
            if tx.send(got).is_err() {
                return;
            }
        }
    });
    (addr, rx)
}

fn split_head(raw: &[u8]) -> (String, &[u8]) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole head")
        + 4;
    (
        String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase(),
        &raw[end..],
    )
}

#[tokio::test]
async fn cut_next_request_forwards_part_of_the_body_then_closes() {
    let (addr, upstream) = recording_upstream();
    let proxy = FaultProxy::start(addr).expect("proxy");
    let client = client();
    let url = proxy.url();

    proxy.cut_next_request(Match::path_prefix("/up").method("PUT"), 1000);
    let upload = payload(100_000, 5);
    let started = Instant::now();
    // The bare upstream never answers: a request forwarded whole would wait forever.
    let cut = tokio::time::timeout(
        Duration::from_secs(5),
        client
            .put(format!("{url}/up/1"))
            .body(upload.clone())
            .send(),
    )
    .await
    .expect("the request was not cut");
    assert!(cut.is_err(), "the cut request got an answer");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "not cut at once"
    );

    let got = upstream
        .recv_timeout(Duration::from_secs(5))
        .expect("the server got a connection");
    let (head, body) = split_head(&got);
    assert!(head.starts_with("put /up/1 http/1.1\r\n"), "{head}");
    assert!(head.contains("\r\ncontent-length: 100000\r\n"), "{head}");
    assert_eq!(body.len(), 1000, "the server got more or less than the cut");
    assert!(body == &upload[..1000], "the part forwarded changed");

    assert_eq!(proxy.pending_faults(), 0);
    assert_eq!(proxy.cut_requests(), 1);
    assert_eq!(
        proxy.forwarded(),
        0,
        "a cut request is not forwarded in full"
    );
    assert_eq!(
        proxy.log_of(1, Duration::from_secs(5)),
        vec![exchange("PUT", "/up/1", None, Outcome::CutRequest)]
    );
}

#[tokio::test]
async fn cut_next_request_waits_for_a_body_longer_than_the_cut() {
    let (addr, seen) = server().await;
    let proxy = FaultProxy::start(addr).expect("proxy");
    let client = client();
    let url = proxy.url();

    proxy.cut_next_request(Match::path_prefix("/echo"), 10);
    let echoed = |body: &'static [u8]| {
        let client = client.clone();
        let url = format!("{url}/echo");
        async move {
            client
                .post(url)
                .body(body)
                .send()
                .await?
                .bytes()
                .await
                .map(|b| b.to_vec())
        }
    };
    // Ten bytes or fewer cannot be cut after ten: they pass, the fault waits.
    assert_eq!(echoed(b"0123456789").await.expect("short"), b"0123456789");
    assert_eq!(proxy.pending_faults(), 1);
    assert!(echoed(b"0123456789A").await.is_err(), "not cut");
    assert_eq!(proxy.pending_faults(), 0);
    assert_eq!(echoed(b"0123456789A").await.expect("again"), b"0123456789A");
    // The server never handled the cut one: its body ended early.
    assert_eq!(seen.count("POST /echo"), 2);
    assert_eq!(
        proxy.log_of(3, Duration::from_secs(5)),
        vec![
            exchange("POST", "/echo", Some(200), Outcome::Forwarded),
            exchange("POST", "/echo", None, Outcome::CutRequest),
            exchange("POST", "/echo", Some(200), Outcome::Forwarded),
        ]
    );
}

#[tokio::test]
async fn damage_next_request_flips_one_byte_of_the_body() {
    let (addr, seen) = server().await;
    let proxy = FaultProxy::start(addr).expect("proxy");
    let client = client();
    let url = proxy.url();

    proxy.damage_next_request(Match::path_prefix("/echo"));
    // No body, nothing to damage: it passes and the fault waits.
    assert_eq!(get(&client, format!("{url}/echo")).await.expect("get"), b"");
    assert_eq!(proxy.pending_faults(), 1);

    let upload = payload(64 * 1024 + 1, 11);
    let post = |body: Vec<u8>| {
        let client = client.clone();
        let url = format!("{url}/echo");
        async move {
            client
                .post(url)
                .body(body)
                .send()
                .await
                .expect("post")
                .bytes()
                .await
                .expect("body")
                .to_vec()
        }
    };
    let echoed = post(upload.clone()).await;
    assert_eq!(echoed.len(), upload.len());
    let changed: Vec<usize> = (0..upload.len())
        .filter(|&i| echoed[i] != upload[i])
        .collect();
    assert_eq!(changed, [upload.len() / 2], "not exactly the middle byte");
    assert_eq!(echoed[upload.len() / 2], !upload[upload.len() / 2]);

    assert_eq!(proxy.pending_faults(), 0);
    assert_eq!(proxy.damaged_requests(), 1);
    assert!(post(upload.clone()).await == upload, "damaged twice");
    assert_eq!(seen.count("POST /echo"), 2);
    assert_eq!(proxy.forwarded(), 3);
    assert_eq!(
        proxy.log_of(3, Duration::from_secs(5)),
        vec![
            exchange("GET", "/echo", Some(200), Outcome::Forwarded),
            exchange("POST", "/echo", Some(200), Outcome::DamagedRequest),
            exchange("POST", "/echo", Some(200), Outcome::Forwarded),
        ]
    );
}

#[tokio::test]
async fn duplicate_next_request_sends_it_twice_and_answers_with_the_second() {
    let (addr, seen) = server().await;
    let proxy = FaultProxy::start(addr).expect("proxy");
    let client = client();
    let url = proxy.url();

    let post = || {
        let client = client.clone();
        let url = format!("{url}/next");
        async move {
            client
                .post(url)
                .body("once")
                .send()
                .await
                .expect("post")
                .text()
                .await
                .expect("text")
        }
    };
    proxy.duplicate_next_request(Match::path_prefix("/next").method("POST"));
    assert_eq!(post().await, "2", "the client got the first answer");
    assert_eq!(seen.count("POST /next"), 2, "the server saw it twice");
    assert_eq!(proxy.duplicated_requests(), 1);
    assert_eq!(proxy.pending_faults(), 0);
    assert_eq!(post().await, "3");
    assert_eq!(seen.count("POST /next"), 3);
    assert_eq!(proxy.forwarded(), 3);
    assert_eq!(proxy.connections(), 1);
    assert_eq!(
        proxy.log_of(2, Duration::from_secs(5)),
        vec![
            exchange("POST", "/next", Some(200), Outcome::DuplicatedRequest),
            exchange("POST", "/next", Some(200), Outcome::Forwarded),
        ]
    );
}
