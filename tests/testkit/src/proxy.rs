//! A fault-injecting HTTP/1.1 proxy for end-to-end tests: simulated phones talk to the real sync
//! server through it, and a test can take the network away ([`FaultProxy::set_online`]), lose one
//! request ([`FaultProxy::drop_next_request`]) or one answer ([`FaultProxy::drop_next_response`]),
//! cut a request body half-way ([`FaultProxy::cut_next_request`]), flip a byte of one
//! ([`FaultProxy::damage_next_request`]) or deliver one twice
//! ([`FaultProxy::duplicate_next_request`]) at the moment the product must survive it.
//!
//! # Threading model
//!
//! [`FaultProxy::start`] is a plain (synchronous) function: the proxy binds `127.0.0.1:0` and
//! runs on **its own thread with its own current-thread tokio runtime**. It therefore works the
//! same from a `#[test]` without any runtime, from a current-thread `#[tokio::test]` and from a
//! multi-thread runtime, and it never needs the caller's runtime to be polled (a test that blocks
//! its runtime thread cannot stall the proxy). All the control methods take `&self`, are
//! synchronous and cheap; share the proxy with an `Arc` if several tasks need it. Dropping the
//! proxy stops its runtime, closes every connection and joins the thread.
//!
//! # How requests travel
//!
//! Both sides speak HTTP/1.1 through [hyper]; the proxy has no HTTP parser of its own. Each client
//! connection is served by hyper's HTTP/1 server with keep-alive (reqwest sends several requests
//! per connection; hyper answers `Expect: 100-continue` when the proxy starts reading the body).
//! For each request the proxy reads the whole body into memory, then sends the request on a
//! **fresh upstream connection** (hyper's HTTP/1 client) with `Connection: close`, the body framed
//! by `Content-Length` and the hop-by-hop headers (`Connection` and the headers it names,
//! `Keep-Alive`, `Transfer-Encoding`, `TE`, `Trailer`, `Upgrade`, `Expect`) left out. It reads the
//! server's complete response, body included, and hands it back on the client connection, which
//! stays open for the next request. Nothing on the upstream side times out, so ~30 s long polls
//! pass. If the client goes away while the server is still working, hyper notices the end of
//! stream, the request's handling is dropped and the upstream connection with it, as it would be
//! without the proxy.
//!
//! # Faults
//!
//! Every fault is queued by one call, is matched against requests with a [`Match`], fires once,
//! counts in [`FaultProxy::pending_faults`] until it fires, and shows in the [log](FaultProxy::log)
//! as the [`Outcome`] of the request it hit. A request suffers **at most one fault**: the first
//! pending request fault (drop, cut, damage, duplicate, in the order they were queued) that
//! matches and applies to it, or, if none did, a pending [`drop_next_response`]. So a request
//! matching both a `drop_next_request` and a `drop_next_response` is dropped, and the response
//! fault stays pending.
//!
//! * Offline ([`FaultProxy::set_online`]): open connections are reset at once, new ones are
//!   accepted and reset at once.
//! * [`drop_next_request`]: the body is read, nothing is forwarded, the client connection is
//!   reset.
//! * [`drop_next_response`]: forwarded, the complete answer is read, then thrown away and the
//!   client connection reset.
//! * [`cut_next_request`]: only the head and the first N body bytes reach the server, then both
//!   connections are closed (the client's with a reset). Applies only to a request whose body is
//!   longer than N bytes, so the server always sees a body that ends early.
//! * [`damage_next_request`]: one byte of the body (the middle one) is flipped on the way; the
//!   answer reaches the client. Applies only to a request with a body.
//! * [`duplicate_next_request`]: the request is sent twice, one after the other, each time on a
//!   fresh connection; the client gets the second answer, as a client whose first attempt landed
//!   and then retried would.
//!
//! "Reset" means `SO_LINGER` 0 on close: the client sees an error at once rather than a clean end
//! of stream.
//!
//! # Limitations
//!
//! * HTTP/1.x only, no TLS, no `Upgrade` (WebSockets) and no `CONNECT`: the upgrade headers are
//!   not forwarded, so an upgrade is never granted.
//! * Requests and responses are buffered whole before they are passed on (fine for the few MB a
//!   receipt upload carries; not a streaming proxy, so a client sees a response only once the
//!   server has finished it). Response trailers are not passed on.
//! * "Refusing" a connection while offline means accepting it and resetting it at once (the
//!   port stays bound so the URL stays valid): clients see a reset, not `ECONNREFUSED`.
//! * Garbage on the wire is hyper's to handle: a malformed head gets an error status from hyper
//!   (`400 Bad Request` and the like) and the connection is closed; a malformed request body gets
//!   a reset. Either is reported on stderr; nothing malformed reaches the server, and the proxy
//!   keeps serving other connections.
//!
//! [`drop_next_request`]: FaultProxy::drop_next_request
//! [`drop_next_response`]: FaultProxy::drop_next_response
//! [`cut_next_request`]: FaultProxy::cut_next_request
//! [`damage_next_request`]: FaultProxy::damage_next_request
//! [`duplicate_next_request`]: FaultProxy::duplicate_next_request

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;

use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::http::request;
use hyper::{Method, Request, Response, Uri, Version};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

/// Which requests a fault applies to: a method (any if unset) and a prefix of the request target
/// (path and query, as the client sent it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Match {
    method: Option<String>,
    prefix: String,
}

impl Match {
    /// Every request.
    pub fn any() -> Self {
        Self::default()
    }

    /// Requests whose target starts with `prefix`, e.g. `Match::path_prefix("/v1/sync/push")`.
    pub fn path_prefix(prefix: impl Into<String>) -> Self {
        Self {
            method: None,
            prefix: prefix.into(),
        }
    }

    /// Only requests with this method (compared case-insensitively).
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Whether a request with this method and target matches.
    pub fn matches(&self, method: &str, target: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && target.starts_with(&self.prefix)
    }
}

/// What became of one request, in [`Exchange::outcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered and the answer was handed back to the client.
    Forwarded,
    /// Not forwarded because of [`FaultProxy::drop_next_request`]; the client connection was
    /// reset.
    DroppedRequest,
    /// The server answered (its status is in the log) but the answer was thrown away because of
    /// [`FaultProxy::drop_next_response`]; the client connection was reset.
    DroppedResponse,
    /// Only part of the body was forwarded because of [`FaultProxy::cut_next_request`], then the
    /// upstream connection was closed and the client connection reset.
    CutRequest,
    /// Forwarded with one body byte flipped because of [`FaultProxy::damage_next_request`]; the
    /// server's answer (its status is in the log) was handed back to the client.
    DamagedRequest,
    /// Forwarded twice because of [`FaultProxy::duplicate_next_request`]; the second answer (its
    /// status is in the log) was handed back to the client.
    DuplicatedRequest,
    /// The upstream could not be reached or sent no complete, well-formed response; the client
    /// connection was reset.
    UpstreamFailed,
    /// The client went away before its request arrived in full or before the answer was ready.
    ClientGone,
    /// Cut half-way because the proxy went offline.
    Cut,
}

/// One request seen by the proxy, logged when its handling ended (so the log is in completion
/// order, not arrival order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub method: String,
    /// The request target as sent: path and query.
    pub path: String,
    /// The server's status, when a response was read from it.
    pub status: Option<u16>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    DropRequest,
    /// Forward this many body bytes, then close.
    CutRequest(usize),
    DamageRequest,
    DuplicateRequest,
    DropResponse,
}

impl Fault {
    /// Whether this fault acts on a request with a body of `len` bytes (before it is forwarded).
    fn applies_to_request(self, len: usize) -> bool {
        match self {
            Fault::DropRequest | Fault::DuplicateRequest => true,
            Fault::CutRequest(after) => len > after,
            Fault::DamageRequest => len > 0,
            Fault::DropResponse => false,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    faults: VecDeque<(Fault, Match)>,
    log: Vec<Exchange>,
    connections: u64,
    forwarded: u64,
    dropped_requests: u64,
    dropped_responses: u64,
    cut_requests: u64,
    damaged_requests: u64,
    duplicated_requests: u64,
}

impl State {
    /// Removes the first pending fault that `pick` accepts for a request matching `method` and
    /// `target`, and counts it as fired.
    fn take(&mut self, method: &str, target: &str, pick: impl Fn(Fault) -> bool) -> Option<Fault> {
        let i = self
            .faults
            .iter()
            .position(|(fault, m)| pick(*fault) && m.matches(method, target))?;
        let (fault, _) = self.faults.remove(i)?;
        let counter = match fault {
            Fault::DropRequest => &mut self.dropped_requests,
            Fault::CutRequest(_) => &mut self.cut_requests,
            Fault::DamageRequest => &mut self.damaged_requests,
            Fault::DuplicateRequest => &mut self.duplicated_requests,
            Fault::DropResponse => &mut self.dropped_responses,
        };
        *counter += 1;
        Some(fault)
    }
}

#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    online: watch::Sender<bool>,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_online(&self) -> bool {
        *self.online.borrow()
    }

    fn queue(&self, fault: Fault, matcher: Match) {
        self.state().faults.push_back((fault, matcher));
    }
}

/// The proxy; see the [module documentation](self). Stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .field("online", &self.is_online())
            .finish_non_exhaustive()
    }
}

impl FaultProxy {
    /// Listens on `127.0.0.1:0` and forwards to `upstream`, online and without faults, on a
    /// background thread of its own (no tokio runtime needed by the caller).
    pub fn start(upstream: SocketAddr) -> io::Result<FaultProxy> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (online, _) = watch::channel(true);
        let shared = Arc::new(Shared {
            upstream,
            online,
            state: Mutex::new(State::default()),
        });
        let (shutdown, stop) = oneshot::channel::<()>();
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("fault-proxy-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            eprintln!("fault-proxy: cannot register the listener: {e}");
                            return;
                        }
                    };
                    tokio::select! {
                        () = accept_loop(listener, for_thread) => {}
                        _ = stop => {}
                    }
                });
                // Dropping the runtime here cancels every connection task and closes its sockets.
            })?;
        Ok(FaultProxy {
            addr,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server requests are forwarded to.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream
    }

    /// Offline: every open connection (with any request in flight) is reset at once, and new
    /// connections are reset as soon as they are accepted — a phone without network. Online
    /// again: normal forwarding. Pending faults stay pending.
    pub fn set_online(&self, online: bool) {
        self.shared.online.send_replace(online);
    }

    pub fn is_online(&self) -> bool {
        self.shared.is_online()
    }

    /// The next request matching `matcher` is read in full but not forwarded, and the client's
    /// connection is reset: the network failed before the server saw it. Each call queues one
    /// fault; each fault fires once.
    pub fn drop_next_request(&self, matcher: Match) {
        self.shared.queue(Fault::DropRequest, matcher);
    }

    /// The next request matching `matcher` is forwarded and the server's complete response is
    /// read, then the client's connection is reset without it: the server committed, the answer
    /// was lost. Each call queues one fault; each fault fires once. A request that also matches a
    /// pending request fault ([`drop_next_request`](Self::drop_next_request) and the like) gets
    /// that one instead, and this one stays pending.
    pub fn drop_next_response(&self, matcher: Match) {
        self.shared.queue(Fault::DropResponse, matcher);
    }

    /// The next request matching `matcher` whose body is longer than `after_bytes` reaches the
    /// server with its head (announcing the whole body) and only the first `after_bytes` bytes of
    /// its body; then the upstream connection is closed and the client's reset, without waiting
    /// for an answer: the network failed mid-upload. Requests with shorter bodies pass and leave
    /// the fault pending. Each call queues one fault; each fault fires once.
    pub fn cut_next_request(&self, matcher: Match, after_bytes: usize) {
        self.shared.queue(Fault::CutRequest(after_bytes), matcher);
    }

    /// The next request matching `matcher` that has a body is forwarded with its middle byte
    /// (index `len / 2`) flipped (XOR `0xff`), and the server's answer reaches the client:
    /// corruption a transport checksum did not catch. Requests without a body pass unchanged and
    /// leave the fault pending. Each call queues one fault; each fault fires once.
    pub fn damage_next_request(&self, matcher: Match) {
        self.shared.queue(Fault::DamageRequest, matcher);
    }

    /// The next request matching `matcher` is sent to the server twice, one after the other,
    /// each time on a fresh connection, and the client gets the answer to the second: what a
    /// client sees when it retried a request whose first attempt had already landed. The first
    /// answer is read in full and thrown away. Each call queues one fault; each fault fires once.
    pub fn duplicate_next_request(&self, matcher: Match) {
        self.shared.queue(Fault::DuplicateRequest, matcher);
    }

    /// Faults queued that have not fired yet.
    pub fn pending_faults(&self) -> usize {
        self.shared.state().faults.len()
    }

    /// Forgets the faults that have not fired yet.
    pub fn clear_faults(&self) {
        self.shared.state().faults.clear();
    }

    /// Client connections accepted while online (to check that clients keep connections alive).
    pub fn connections(&self) -> u64 {
        self.shared.state().connections
    }

    /// Requests written to the upstream in full, whether or not their answer then reached the
    /// client (dropped responses count here too, a duplicated request counts twice, a cut one
    /// not at all).
    pub fn forwarded(&self) -> u64 {
        self.shared.state().forwarded
    }

    /// Requests thrown away by [`drop_next_request`](Self::drop_next_request).
    pub fn dropped_requests(&self) -> u64 {
        self.shared.state().dropped_requests
    }

    /// Responses thrown away by [`drop_next_response`](Self::drop_next_response).
    pub fn dropped_responses(&self) -> u64 {
        self.shared.state().dropped_responses
    }

    /// Requests cut by [`cut_next_request`](Self::cut_next_request).
    pub fn cut_requests(&self) -> u64 {
        self.shared.state().cut_requests
    }

    /// Requests damaged by [`damage_next_request`](Self::damage_next_request).
    pub fn damaged_requests(&self) -> u64 {
        self.shared.state().damaged_requests
    }

    /// Requests sent twice by [`duplicate_next_request`](Self::duplicate_next_request).
    pub fn duplicated_requests(&self) -> u64 {
        self.shared.state().duplicated_requests
    }

    /// Every request handled so far, in the order their handling ended. An exchange is logged
    /// when the proxy is done with it: for an answered request, just *before* the answer is
    /// written to the client; for a reset or cut one, as the reset happens. To wait for entries
    /// that may still be on their way, use [`FaultProxy::log_of`].
    pub fn log(&self) -> Vec<Exchange> {
        self.shared.state().log.clone()
    }

    /// The log once it holds at least `entries` exchanges, or as it is after `timeout`.
    pub fn log_of(&self, entries: usize, timeout: std::time::Duration) -> Vec<Exchange> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let log = self.log();
            if log.len() >= entries || std::time::Instant::now() >= deadline {
                return log;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Usually EMFILE or a connection reset before accept; don't spin.
                eprintln!("fault-proxy: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        if !shared.is_online() {
            let _ = stream.set_zero_linger();
            continue;
        }
        shared.state().connections += 1;
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, Arc::clone(&shared)));
    }
}

/// What the handling of one client connection decided about how it ends.
#[derive(Debug, Default)]
struct ClientConn {
    /// Close with a reset rather than politely.
    reset: AtomicBool,
    /// Torn down because the proxy went offline.
    offline: AtomicBool,
}

impl ClientConn {
    /// Asks for a reset; the returned error makes hyper drop the connection without an answer.
    fn reset(&self) -> Reset {
        self.reset.store(true, Ordering::Relaxed);
        Reset
    }
}

/// A request's handling gave up on the client connection (see [`ClientConn::reset`]).
#[derive(Debug)]
struct Reset;

impl fmt::Display for Reset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the proxy resets this connection")
    }
}

impl std::error::Error for Reset {}

/// Serves the requests of one client connection until it closes, must be reset, or the proxy
/// goes offline.
async fn connection(stream: TcpStream, shared: Arc<Shared>) {
    let conn = Arc::new(ClientConn::default());
    let io = TokioIo::new(ClientIo {
        stream,
        conn: Arc::clone(&conn),
    });
    let service = {
        let (shared, conn) = (Arc::clone(&shared), Arc::clone(&conn));
        hyper::service::service_fn(move |request| {
            handle(request, Arc::clone(&shared), Arc::clone(&conn))
        })
    };
    let serving = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    let mut online = shared.online.subscribe();
    let offline = async {
        // An error means the sender is gone, which `shared` prevents; treat it as offline too.
        let _ = online.wait_for(|online| !online).await;
        // Before anything is dropped: a request in flight logs `Cut`, the socket is reset.
        conn.offline.store(true, Ordering::Relaxed);
        conn.reset.store(true, Ordering::Relaxed);
    };
    tokio::select! {
        served = serving => match served {
            Err(e) if e.is_parse() || e.is_parse_too_large() => {
                eprintln!("fault-proxy: bad request from a client: {e}");
            }
            _ => {}
        },
        () = offline => {}
    }
    // `serving` is dropped by now, and with it the socket (reset if asked for) and any request
    // in flight with its upstream connection.
}

/// The client side of a connection: a TCP stream that is reset on close when asked to.
struct ClientIo {
    stream: TcpStream,
    conn: Arc<ClientConn>,
}

impl Drop for ClientIo {
    fn drop(&mut self) {
        if self.conn.reset.load(Ordering::Relaxed) {
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ClientIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ClientIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Logs a request when its handling ends, however it ends: a handling dropped before it decided
/// logs `Cut` if the proxy went offline, else `ClientGone` (hyper drops it when the client hangs
/// up).
struct InFlight {
    shared: Arc<Shared>,
    conn: Arc<ClientConn>,
    method: String,
    path: String,
    status: Option<u16>,
    outcome: Option<Outcome>,
}

impl InFlight {
    fn finish(&mut self, outcome: Outcome, status: Option<u16>) {
        self.outcome = Some(outcome);
        self.status = status;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let outcome = self
            .outcome
            .unwrap_or(if self.conn.offline.load(Ordering::Relaxed) {
                Outcome::Cut
            } else {
                Outcome::ClientGone
            });
        let entry = Exchange {
            method: std::mem::take(&mut self.method),
            path: std::mem::take(&mut self.path),
            status: self.status,
            outcome,
        };
        self.shared.state().log.push(entry);
    }
}

/// Handles one request from a client: read it, apply the fault it matches, forward it, answer.
async fn handle(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    conn: Arc<ClientConn>,
) -> Result<Response<Full<Bytes>>, Reset> {
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_owned();
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let mut flight = InFlight {
        shared: Arc::clone(&shared),
        conn: Arc::clone(&conn),
        method: method.clone(),
        path: target.clone(),
        status: None,
        outcome: None,
    };
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            eprintln!("fault-proxy: {method} {target}: reading the request body: {e}");
            flight.finish(Outcome::ClientGone, None);
            return Err(conn.reset());
        }
    };
    let head = Head::upstream(&parts);
    let fault = shared
        .state()
        .take(&method, &target, |f| f.applies_to_request(body.len()));
    let answered = match fault {
        Some(Fault::DropRequest) => {
            flight.finish(Outcome::DroppedRequest, None);
            return Err(conn.reset());
        }
        Some(Fault::CutRequest(after)) => {
            let outcome = match cut(&shared, &head, &body, after).await {
                Ok(()) => Outcome::CutRequest,
                Err(e) => {
                    eprintln!("fault-proxy: {method} {target}: upstream failed: {e}");
                    Outcome::UpstreamFailed
                }
            };
            flight.finish(outcome, None);
            return Err(conn.reset());
        }
        Some(Fault::DamageRequest) => exchange(&shared, &head, damaged(&body))
            .await
            .map(|answer| (answer, Outcome::DamagedRequest)),
        Some(Fault::DuplicateRequest) => match exchange(&shared, &head, body.clone()).await {
            Ok(_first) => exchange(&shared, &head, body)
                .await
                .map(|answer| (answer, Outcome::DuplicatedRequest)),
            Err(e) => Err(e),
        },
        Some(Fault::DropResponse) | None => exchange(&shared, &head, body)
            .await
            .map(|answer| (answer, Outcome::Forwarded)),
    };
    let (answer, outcome) = match answered {
        Ok(answered) => answered,
        Err(e) => {
            eprintln!("fault-proxy: {method} {target}: upstream failed: {e}");
            flight.finish(Outcome::UpstreamFailed, None);
            return Err(conn.reset());
        }
    };
    let status = Some(answer.status().as_u16());
    if outcome == Outcome::Forwarded
        && shared
            .state()
            .take(&method, &target, |f| f == Fault::DropResponse)
            .is_some()
    {
        flight.finish(Outcome::DroppedResponse, status);
        return Err(conn.reset());
    }
    flight.finish(outcome, status);
    let (mut parts, body) = answer.into_parts();
    parts.headers = without_hop_by_hop(&parts.headers, &[]);
    parts.version = Version::HTTP_11;
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// The body with its middle byte flipped.
fn damaged(body: &Bytes) -> Bytes {
    let mut damaged = body.to_vec();
    if let Some(byte) = damaged.get_mut(body.len() / 2) {
        *byte ^= 0xff;
    }
    Bytes::from(damaged)
}

/// Headers that describe one connection, not the message, and are not passed on.
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// `headers` without the hop-by-hop ones, the ones `Connection` names, and those in `also`.
fn without_hop_by_hop(headers: &HeaderMap, also: &[&str]) -> HeaderMap {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    let mut kept = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name_str = name.as_str(); // always lower case
        if HOP_BY_HOP.contains(&name_str)
            || also.contains(&name_str)
            || named.iter().any(|n| n == name_str)
        {
            continue;
        }
        kept.append(name.clone(), value.clone());
    }
    kept
}

/// The head of a request as it is sent upstream.
#[derive(Debug)]
struct Head {
    method: Method,
    /// Origin form: path and query.
    uri: Uri,
    headers: HeaderMap,
}

impl Head {
    /// The client's request head, made fit for a fresh upstream connection: origin-form target,
    /// no hop-by-hop headers, no `Expect` (the body is already here), no framing headers (the
    /// body's length frames it), `Connection: close`.
    fn upstream(parts: &request::Parts) -> Head {
        let uri = parts
            .uri
            .path_and_query()
            .map_or_else(|| Uri::from_static("/"), |pq| Uri::from(pq.clone()));
        let mut headers = without_hop_by_hop(&parts.headers, &["expect", "content-length"]);
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        Head {
            method: parts.method.clone(),
            uri,
            headers,
        }
    }

    fn request(&self, body: Outgoing) -> Request<Outgoing> {
        let mut request = Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.version_mut() = Version::HTTP_11;
        *request.headers_mut() = self.headers.clone();
        request
    }
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Sends one request on a fresh upstream connection and reads the complete final response.
async fn exchange(
    shared: &Arc<Shared>,
    head: &Head,
    body: Bytes,
) -> Result<Response<Bytes>, Failure> {
    let progress = Arc::new(Progress::new(body.is_empty(), Some(Arc::clone(shared))));
    let length = body.len();
    let request = head.request(Outgoing {
        data: Some(body),
        remaining: length as u64,
        cut: false,
        progress: Arc::clone(&progress),
    });
    let (mut sender, connection) = connect(shared, progress).await?;
    let answer = async move {
        let response = sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok::<_, hyper::Error>(Response::from_parts(parts, body))
        // `sender` is dropped here, which lets `connection` finish.
    };
    // The connection is driven here rather than spawned, so that dropping this future (the
    // client went away, the proxy went offline) closes the upstream connection at once.
    let (answer, _) = tokio::join!(answer, connection);
    Ok(answer?)
}

/// Sends the head and the first `after` bytes of `body` on a fresh upstream connection, and
/// closes it as soon as they are on the wire.
async fn cut(shared: &Arc<Shared>, head: &Head, body: &Bytes, after: usize) -> Result<(), Failure> {
    let sent = body.slice(..after.min(body.len()));
    let progress = Arc::new(Progress::new(sent.is_empty(), None));
    let request = head.request(Outgoing {
        remaining: body.len() as u64,
        data: Some(sent),
        cut: true,
        progress: Arc::clone(&progress),
    });
    let (mut sender, connection) = connect(shared, progress).await?;
    // The body fails once its part is on the wire, which makes hyper abandon both the request and
    // the connection; whatever the server may have answered so far is of no interest.
    let _ = tokio::join!(sender.send_request(request), connection);
    Ok(())
}

type UpstreamConnection = hyper::client::conn::http1::Connection<TokioIo<UpstreamIo>, Outgoing>;

async fn connect(
    shared: &Shared,
    progress: Arc<Progress>,
) -> Result<
    (
        hyper::client::conn::http1::SendRequest<Outgoing>,
        UpstreamConnection,
    ),
    Failure,
> {
    let stream = TcpStream::connect(shared.upstream).await?;
    stream.set_nodelay(true)?;
    let io = TokioIo::new(UpstreamIo { stream, progress });
    Ok(hyper::client::conn::http1::handshake(io).await?)
}

/// How far one request has got onto the upstream wire; shared by its body and its connection.
#[derive(Debug)]
struct Progress {
    sent: Mutex<Sent>,
    /// Counts the request in [`FaultProxy::forwarded`] once it is on the wire.
    count_in: Option<Arc<Shared>>,
}

#[derive(Debug, Default)]
struct Sent {
    /// The body has handed hyper all the data it will.
    handed_all: bool,
    /// Bytes written to the socket (head and body).
    written: u64,
    /// Everything handed over is written: a flush found hyper's buffer empty after
    /// `handed_all`.
    on_wire: bool,
    /// The body, waiting for `on_wire` to fail.
    waker: Option<Waker>,
}

impl Progress {
    fn new(nothing_to_hand: bool, count_in: Option<Arc<Shared>>) -> Progress {
        Progress {
            sent: Mutex::new(Sent {
                handed_all: nothing_to_hand,
                ..Sent::default()
            }),
            count_in,
        }
    }

    fn sent(&self) -> MutexGuard<'_, Sent> {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn handed_all(&self) {
        self.sent().handed_all = true;
    }

    fn wrote(&self, n: usize) {
        self.sent().written += n as u64;
    }

    /// The socket was flushed. Hyper flushes the socket only once its own buffer is written out,
    /// and it buffers what the body hands it before it flushes, so a flush after the body handed
    /// everything (and after the head, at least, was written) means the whole request is out.
    fn flushed(&self) {
        let waker = {
            let mut sent = self.sent();
            if sent.on_wire || !sent.handed_all || sent.written == 0 {
                return;
            }
            sent.on_wire = true;
            sent.waker.take()
        };
        if let Some(shared) = &self.count_in {
            shared.state().forwarded += 1;
        }
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn poll_on_wire(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut sent = self.sent();
        if sent.on_wire {
            Poll::Ready(())
        } else {
            sent.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// The upstream side of a connection: a TCP stream that reports to [`Progress`].
struct UpstreamIo {
    stream: TcpStream,
    progress: Arc<Progress>,
}

impl AsyncRead for UpstreamIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for UpstreamIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written {
            this.progress.wrote(n);
        }
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = written {
            this.progress.wrote(n);
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = Pin::new(&mut this.stream).poll_flush(cx);
        if let Poll::Ready(Ok(())) = flushed {
            this.progress.flushed();
        }
        flushed
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// A request body sent upstream: the buffered bytes in one frame, announced with their length.
/// A cut body announces more than it has: once its bytes are on the wire it fails, and hyper
/// closes the connection.
struct Outgoing {
    data: Option<Bytes>,
    /// Bytes announced and not yet handed over.
    remaining: u64,
    cut: bool,
    progress: Arc<Progress>,
}

/// The error a cut body ends with.
#[derive(Debug)]
struct CutHere;

impl fmt::Display for CutHere {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("request body cut by the fault proxy")
    }
}

impl std::error::Error for CutHere {}

impl Body for Outgoing {
    type Data = Bytes;
    type Error = CutHere;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, CutHere>>> {
        let this = self.get_mut();
        if let Some(data) = this.data.take().filter(|data| !data.is_empty()) {
            this.remaining = this.remaining.saturating_sub(data.len() as u64);
            this.progress.handed_all();
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        this.progress.handed_all();
        if !this.cut {
            return Poll::Ready(None);
        }
        match this.progress.poll_on_wire(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(CutHere))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        !self.cut && self.data.as_ref().is_none_or(Bytes::is_empty)
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matcher() {
        let m = Match::path_prefix("/v1/sync/push").method("post");
        assert!(m.matches("POST", "/v1/sync/push"));
        assert!(m.matches("POST", "/v1/sync/push?x=1"));
        assert!(!m.matches("GET", "/v1/sync/push"));
        assert!(!m.matches("POST", "/v1/sync/pull"));
        assert!(Match::any().matches("DELETE", "/anything"));
    }

    #[test]
    fn upstream_heads_lose_hop_by_hop_headers() {
        let (parts, ()) = Request::builder()
            .method("POST")
            .uri("http://example.test/up?x=1")
            .header("Host", "a")
            .header("Connection", "keep-alive, X-Private")
            .header("X-Private", "1")
            .header("Keep-Alive", "timeout=5")
            .header("Expect", "100-continue")
            .header("Transfer-Encoding", "chunked")
            .header("Content-Length", "5")
            .header("Authorization", "Bearer t")
            .body(())
            .map(Request::into_parts)
            .expect("request");
        let head = Head::upstream(&parts);
        assert_eq!(head.uri, "/up?x=1");
        assert_eq!(head.method, Method::POST);
        let mut names: Vec<&str> = head.headers.keys().map(|n| n.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["authorization", "connection", "host"]);
        assert_eq!(head.headers[header::CONNECTION], "close");
        assert_eq!(head.headers[header::AUTHORIZATION], "Bearer t");
    }

    #[test]
    fn damage_flips_the_middle_byte() {
        assert_eq!(damaged(&Bytes::new()), Bytes::new());
        assert_eq!(
            damaged(&Bytes::from_static(b"a")),
            Bytes::from_static(&[!b'a'])
        );
        assert_eq!(
            damaged(&Bytes::from_static(b"abcd")),
            Bytes::from_static(&[b'a', b'b', !b'c', b'd'])
        );
    }

    #[test]
    fn one_fault_per_request_first_queued_first() {
        let mut state = State::default();
        let push = Match::path_prefix("/push");
        state.faults.push_back((Fault::DropResponse, push.clone()));
        state
            .faults
            .push_back((Fault::CutRequest(10), push.clone()));
        state.faults.push_back((Fault::DamageRequest, push.clone()));
        state.faults.push_back((Fault::DropRequest, push));
        let request = |len: usize| move |f: Fault| f.applies_to_request(len);

        // Nothing applies to another path.
        assert_eq!(state.take("GET", "/pull", request(100)), None);
        // An empty body: neither cut nor damage apply, the drop does.
        assert_eq!(
            state.take("POST", "/push", request(0)),
            Some(Fault::DropRequest)
        );
        // Five bytes: too short to cut after ten, damaged.
        assert_eq!(
            state.take("POST", "/push", request(5)),
            Some(Fault::DamageRequest)
        );
        assert_eq!(
            state.take("POST", "/push", request(11)),
            Some(Fault::CutRequest(10))
        );
        assert_eq!(state.take("POST", "/push", request(11)), None);
        assert_eq!(
            state.take("POST", "/push", |f| f == Fault::DropResponse),
            Some(Fault::DropResponse)
        );
        assert!(state.faults.is_empty());
        assert_eq!(
            (
                state.dropped_requests,
                state.damaged_requests,
                state.cut_requests,
                state.dropped_responses,
                state.duplicated_requests
            ),
            (1, 1, 1, 1, 0)
        );
    }
}
