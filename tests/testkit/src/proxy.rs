//! A fault-injecting HTTP/1.1 proxy for end-to-end tests: simulated phones talk to the real sync
//! server through it, and a test can take the network away ([`FaultProxy::set_online`]) or lose
//! one request ([`FaultProxy::drop_next_request`]) or one answer
//! ([`FaultProxy::drop_next_response`]) at the moment the product must survive it.
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
//! The client side speaks keep-alive HTTP/1.1 (reqwest sends several requests per connection).
//! For each request the proxy reads the head (up to 64 KiB) and the whole body (by
//! `Content-Length`, or `Transfer-Encoding: chunked`, forwarded verbatim), then forwards it on a
//! **fresh upstream connection** with `Connection: close`, reads the complete response (by
//! `Content-Length`, chunked, or until the server closes) and writes it back, keeping the client
//! connection open for the next request. Nothing on the upstream side times out, so ~30 s
//! long-polls pass. If the client goes away while the server is still working, the upstream
//! connection is closed too, as it would be without the proxy.
//!
//! # Limitations
//!
//! * HTTP/1.x only, no TLS, no `Upgrade` (WebSockets): `Connection` is rewritten to `close`
//!   upstream, so an upgrade is never granted.
//! * Requests and responses are buffered whole before they are passed on (fine for the few MB a
//!   receipt upload carries; not a streaming proxy, so a client sees a response only once the
//!   server has finished it).
//! * `Expect: 100-continue` is answered by the proxy itself, before the server sees the request.
//! * "Refusing" a connection while offline means accepting it and resetting it at once (the
//!   port stays bound so the URL stays valid): clients see a reset, not `ECONNREFUSED`.
//! * Garbage on the wire is reported on stderr and the connection is reset; the proxy keeps
//!   serving other connections.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

/// Longest request or response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Longest chunk-size or trailer line accepted in a chunked body.
const MAX_LINE: usize = 8 * 1024;
/// Bodies are read in steps of this size, so a lying `Content-Length` costs no huge allocation.
const BODY_STEP: usize = 1 << 20;

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
    /// The server answered and the answer reached the client.
    Forwarded,
    /// Not forwarded because of [`FaultProxy::drop_next_request`]; the client connection was
    /// reset.
    DroppedRequest,
    /// The server answered (its status is in the log) but the answer was thrown away because of
    /// [`FaultProxy::drop_next_response`]; the client connection was reset.
    DroppedResponse,
    /// The upstream could not be reached or sent no complete, well-formed response; the client
    /// connection was reset.
    UpstreamFailed,
    /// The client went away before its request arrived in full or before the answer could be
    /// written back.
    ClientGone,
    /// Cut half-way because the proxy went offline (or was dropped).
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
    DropResponse,
}

#[derive(Debug, Default)]
struct State {
    faults: VecDeque<(Fault, Match)>,
    log: Vec<Exchange>,
    connections: u64,
    forwarded: u64,
    dropped_requests: u64,
    dropped_responses: u64,
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

    /// Removes and reports the first pending fault of this kind that matches the request.
    fn take_fault(&self, kind: Fault, method: &str, target: &str) -> bool {
        let mut state = self.state();
        let found = state
            .faults
            .iter()
            .position(|(k, m)| *k == kind && m.matches(method, target));
        if let Some(i) = found {
            state.faults.remove(i);
            match kind {
                Fault::DropRequest => state.dropped_requests += 1,
                Fault::DropResponse => state.dropped_responses += 1,
            }
        }
        found.is_some()
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
        self.shared
            .state()
            .faults
            .push_back((Fault::DropRequest, matcher));
    }

    /// The next request matching `matcher` is forwarded and the server's complete response is
    /// read, then the client's connection is reset without it: the server committed, the answer
    /// was lost. Each call queues one fault; each fault fires once. A request that also matches a
    /// pending [`drop_next_request`](Self::drop_next_request) is dropped before it gets here.
    pub fn drop_next_response(&self, matcher: Match) {
        self.shared
            .state()
            .faults
            .push_back((Fault::DropResponse, matcher));
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
    /// client (dropped responses count here too).
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

    /// Every request handled so far, in the order their handling ended. An exchange is logged
    /// when the proxy is done with it, which is just *after* the client got the response: to
    /// check the log right after a response, use [`FaultProxy::log_of`].
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

/// How a client connection ends: politely, or with a reset (`SO_LINGER` 0, so the client sees an
/// error at once rather than a clean end of stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Close,
    Reset,
}

async fn connection(mut client: TcpStream, shared: Arc<Shared>) {
    let mut online = shared.online.subscribe();
    let end = tokio::select! {
        end = serve(&mut client, &shared) => end,
        _ = online.wait_for(|online| !online) => End::Reset,
    };
    if end == End::Reset {
        let _ = client.set_zero_linger();
    }
}

/// Logs a request when its handling ends, however it ends (a cancelled future logs `Cut`).
struct InFlight<'a> {
    shared: &'a Shared,
    method: String,
    path: String,
    status: Option<u16>,
    outcome: Outcome,
}

impl InFlight<'_> {
    fn finish(&mut self, outcome: Outcome, status: Option<u16>) {
        self.outcome = outcome;
        self.status = status;
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let entry = Exchange {
            method: std::mem::take(&mut self.method),
            path: std::mem::take(&mut self.path),
            status: self.status,
            outcome: self.outcome,
        };
        self.shared.state().log.push(entry);
    }
}

/// Serves the requests of one client connection until it closes or must be reset.
async fn serve(client: &mut TcpStream, shared: &Shared) -> End {
    let mut conn = Conn::new(client);
    loop {
        let head = match conn.read_head().await {
            Ok(Some(head)) => head,
            Ok(None) => return End::Close,
            Err(e) => {
                if e.kind() != io::ErrorKind::ConnectionReset {
                    eprintln!("fault-proxy: bad request head: {e}");
                }
                return End::Reset;
            }
        };
        let req = match Head::parse_request(&head) {
            Ok(req) => req,
            Err(e) => {
                eprintln!("fault-proxy: bad request head: {e}");
                return End::Reset;
            }
        };
        let (method, target) = (req.method.clone(), req.target.clone());
        let mut flight = InFlight {
            shared,
            method: method.clone(),
            path: target.clone(),
            status: None,
            outcome: Outcome::Cut,
        };
        let framing = match req.request_framing() {
            Ok(framing) => framing,
            Err(e) => {
                eprintln!("fault-proxy: {method} {target}: {e}");
                flight.finish(Outcome::ClientGone, None);
                return End::Reset;
            }
        };
        if req.expects_continue() && conn.io.write_all(CONTINUE).await.is_err() {
            flight.finish(Outcome::ClientGone, None);
            return End::Reset;
        }
        let mut body = Vec::new();
        if let Err(e) = conn.read_body(framing, &mut body).await {
            eprintln!("fault-proxy: {method} {target}: reading the request body: {e}");
            flight.finish(Outcome::ClientGone, None);
            return End::Reset;
        }
        if shared.take_fault(Fault::DropRequest, &method, &target) {
            flight.finish(Outcome::DroppedRequest, None);
            return End::Reset;
        }
        let keep_alive = req.client_keeps_alive();
        let mut upstream_request = req.upstream_request_head();
        upstream_request.extend_from_slice(&body);
        drop(body);

        // Forward, and meanwhile watch the client: if it hangs up, stop waiting for the server.
        let is_head = method.eq_ignore_ascii_case("HEAD");
        let exchange = exchange(shared, &upstream_request, is_head);
        tokio::pin!(exchange);
        let mut client_open = true;
        let response = loop {
            tokio::select! {
                response = &mut exchange => break response,
                read = conn.fill(), if client_open && conn.buf.len() < MAX_HEAD => match read {
                    Ok(0) | Err(_) => client_open = false,
                    Ok(_) => {}
                },
            }
            if !client_open {
                flight.finish(Outcome::ClientGone, None);
                return End::Reset;
            }
        };
        let response = match response {
            Ok(response) => response,
            Err(e) => {
                eprintln!("fault-proxy: {method} {target}: upstream failed: {e}");
                flight.finish(Outcome::UpstreamFailed, None);
                return End::Reset;
            }
        };
        let status = Some(response.status);
        if shared.take_fault(Fault::DropResponse, &method, &target) {
            flight.finish(Outcome::DroppedResponse, status);
            return End::Reset;
        }
        let head = response.client_head(!keep_alive);
        let written = async {
            conn.io.write_all(&head).await?;
            conn.io.write_all(&response.body).await?;
            conn.io.flush().await
        }
        .await;
        if written.is_err() {
            flight.finish(Outcome::ClientGone, status);
            return End::Reset;
        }
        flight.finish(Outcome::Forwarded, status);
        drop(flight);
        if !keep_alive {
            let _ = conn.io.shutdown().await;
            return End::Close;
        }
    }
}

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// A complete response read from the upstream.
struct Response {
    status: u16,
    head: Head,
    /// Framed as `framing` says (chunked bodies are kept verbatim).
    body: Vec<u8>,
    framing: Framing,
}

impl Response {
    /// The head sent to the client: keep-alive unless `close`, and a `Content-Length` where the
    /// server framed the body by closing its connection.
    fn client_head(&self, close: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(self.head.rest.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.head.headers {
            if is_hop_by_hop(name) {
                continue;
            }
            if self.framing == Framing::UntilClose
                && (name.eq_ignore_ascii_case("transfer-encoding")
                    || name.eq_ignore_ascii_case("content-length"))
            {
                continue;
            }
            push_header(&mut out, name, value);
        }
        if self.framing == Framing::UntilClose {
            push_header(
                &mut out,
                "Content-Length",
                self.body.len().to_string().as_bytes(),
            );
        }
        if close {
            push_header(&mut out, "Connection", b"close");
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// Sends one request on a fresh upstream connection and reads the complete final response.
async fn exchange(shared: &Shared, request: &[u8], is_head: bool) -> io::Result<Response> {
    let mut stream = TcpStream::connect(shared.upstream).await?;
    stream.set_nodelay(true)?;
    stream.write_all(request).await?;
    stream.flush().await?;
    shared.state().forwarded += 1;
    let mut conn = Conn::new(&mut stream);
    loop {
        let raw = conn
            .read_head()
            .await?
            .ok_or_else(|| invalid("the server closed without a response"))?;
        let head = Head::parse_response(&raw)?;
        let status = head.status()?;
        if (100..200).contains(&status) && status != 101 {
            continue; // interim responses: the proxy already answered any Expect itself
        }
        if status == 101 {
            return Err(invalid("protocol upgrades are not supported"));
        }
        let framing = if is_head || status == 204 || status == 304 {
            Framing::None
        } else {
            head.response_framing()?
        };
        let mut body = Vec::new();
        conn.read_body(framing, &mut body).await?;
        return Ok(Response {
            status,
            head,
            body,
            framing,
        });
    }
}

/// How a message body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// A parsed request or response head. For a request `method` and `target` are set and `rest` is
/// the version; for a response `rest` is the status code and reason.
#[derive(Debug)]
struct Head {
    method: String,
    target: String,
    rest: String,
    headers: Vec<Header>,
}

/// A header's name and raw value (values may hold non-UTF-8 bytes; they pass through as sent).
type Header = (String, Vec<u8>);

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_hop_by_hop(name: &str) -> bool {
    ["connection", "keep-alive", "proxy-connection"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Comma-separated, trimmed, lower-cased list items of every header called `name`.
fn list_items(headers: &[Header], name: &str) -> Vec<String> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| {
            String::from_utf8_lossy(v)
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

impl Head {
    /// Splits a head (ending in an empty line) into its start line and headers.
    fn parse(raw: &[u8]) -> io::Result<(String, Vec<Header>)> {
        let raw = raw
            .strip_suffix(b"\r\n\r\n")
            .ok_or_else(|| invalid("head without an end"))?;
        let mut lines = raw
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let start = lines.next().unwrap_or_default();
        let start = std::str::from_utf8(start)
            .ok()
            .filter(|s| s.is_ascii() && !s.bytes().any(|b| b.is_ascii_control()))
            .ok_or_else(|| invalid("start line is not printable ASCII"))?
            .to_owned();
        let mut headers = Vec::new();
        for line in lines {
            let colon = line
                .iter()
                .position(|&b| b == b':')
                .ok_or_else(|| invalid("header line without a colon"))?;
            let name = std::str::from_utf8(&line[..colon])
                .ok()
                .filter(|n| is_token(n))
                .ok_or_else(|| invalid("bad header name"))?;
            let value = line[colon + 1..].trim_ascii();
            if value.iter().any(|&b| b == b'\r' || b == 0) {
                return Err(invalid("bad header value"));
            }
            headers.push((name.to_owned(), value.to_vec()));
        }
        Ok((start, headers))
    }

    fn parse_request(raw: &[u8]) -> io::Result<Head> {
        let (start, headers) = Self::parse(raw)?;
        let mut parts = start.split(' ');
        let (Some(method), Some(target), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid(format!("bad request line {start:?}")));
        };
        if !is_token(method) || target.is_empty() {
            return Err(invalid(format!("bad request line {start:?}")));
        }
        if version != "HTTP/1.1" && version != "HTTP/1.0" {
            return Err(invalid(format!("unsupported version {version:?}")));
        }
        Ok(Head {
            method: method.to_owned(),
            target: target.to_owned(),
            rest: version.to_owned(),
            headers,
        })
    }

    fn parse_response(raw: &[u8]) -> io::Result<Head> {
        let (start, headers) = Self::parse(raw)?;
        let rest = start
            .strip_prefix("HTTP/1.1 ")
            .or_else(|| start.strip_prefix("HTTP/1.0 "))
            .ok_or_else(|| invalid(format!("bad status line {start:?}")))?;
        let head = Head {
            method: String::new(),
            target: String::new(),
            rest: rest.to_owned(),
            headers,
        };
        head.status()?;
        Ok(head)
    }

    fn status(&self) -> io::Result<u16> {
        let code = self.rest.get(..3).unwrap_or_default();
        match (code.parse::<u16>(), self.rest.as_bytes().get(3)) {
            (Ok(code), None | Some(b' ')) if (100..1000).contains(&code) => Ok(code),
            _ => Err(invalid(format!("bad status {:?}", self.rest))),
        }
    }

    fn content_length(&self) -> io::Result<Option<u64>> {
        let mut length = None;
        for (_, value) in self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            for item in String::from_utf8_lossy(value).split(',') {
                let item = item.trim();
                let n: u64 = item
                    .parse()
                    .ok()
                    .filter(|_| !item.starts_with('+'))
                    .ok_or_else(|| invalid(format!("bad Content-Length {item:?}")))?;
                if length.is_some_and(|l| l != n) {
                    return Err(invalid("conflicting Content-Length headers"));
                }
                length = Some(n);
            }
        }
        Ok(length)
    }

    fn request_framing(&self) -> io::Result<Framing> {
        let codings = list_items(&self.headers, "transfer-encoding");
        if let Some(last) = codings.last() {
            return if last == "chunked" {
                Ok(Framing::Chunked)
            } else {
                Err(invalid(format!(
                    "request Transfer-Encoding {codings:?} does not end in chunked"
                )))
            };
        }
        Ok(match self.content_length()? {
            Some(0) | None => Framing::None,
            Some(n) => Framing::Length(n),
        })
    }

    fn response_framing(&self) -> io::Result<Framing> {
        let codings = list_items(&self.headers, "transfer-encoding");
        if let Some(last) = codings.last() {
            return Ok(if last == "chunked" {
                Framing::Chunked
            } else {
                Framing::UntilClose
            });
        }
        Ok(match self.content_length()? {
            Some(0) => Framing::None,
            Some(n) => Framing::Length(n),
            None => Framing::UntilClose,
        })
    }

    fn expects_continue(&self) -> bool {
        list_items(&self.headers, "expect")
            .iter()
            .any(|e| e == "100-continue")
    }

    fn client_keeps_alive(&self) -> bool {
        let connection = list_items(&self.headers, "connection");
        if self.rest == "HTTP/1.0" {
            connection.iter().any(|c| c == "keep-alive")
        } else {
            !connection.iter().any(|c| c == "close")
        }
    }

    /// The request head as sent upstream: `Connection: close`, no `Expect`, no hop-by-hop
    /// headers; framing headers untouched (the body is forwarded verbatim).
    fn upstream_request_head(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(format!("{} {} HTTP/1.1\r\n", self.method, self.target).as_bytes());
        for (name, value) in &self.headers {
            if is_hop_by_hop(name) || name.eq_ignore_ascii_case("expect") {
                continue;
            }
            push_header(&mut out, name, value);
        }
        push_header(&mut out, "Connection", b"close");
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// A buffered reader over one side of a connection.
struct Conn<'a> {
    io: &'a mut TcpStream,
    buf: Vec<u8>,
}

impl<'a> Conn<'a> {
    fn new(io: &'a mut TcpStream) -> Self {
        Conn {
            io,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    /// Reads more into the buffer; 0 at end of stream. Cancel-safe.
    async fn fill(&mut self) -> io::Result<usize> {
        self.buf.reserve(16 * 1024);
        self.io.read_buf(&mut self.buf).await
    }

    /// The next head, up to and including its empty line; `None` at a clean end of stream.
    async fn read_head(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut searched: usize = 0;
        loop {
            let from = searched.saturating_sub(3);
            if let Some(i) = find(&self.buf[from..], b"\r\n\r\n") {
                let end = from + i + 4;
                let head = self.buf[..end].to_vec();
                self.buf.drain(..end);
                return Ok(Some(head));
            }
            if self.buf.len() > MAX_HEAD {
                return Err(invalid("head longer than 64 KiB"));
            }
            searched = self.buf.len();
            if self.fill().await? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed inside a head",
                    ))
                };
            }
        }
    }

    /// One line including its `\n`, for chunk sizes and trailers.
    async fn read_line(&mut self) -> io::Result<Vec<u8>> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                return Ok(self.buf.drain(..=i).collect());
            }
            if self.buf.len() > MAX_LINE {
                return Err(invalid("chunk line too long"));
            }
            if self.fill().await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed inside a chunked body",
                ));
            }
        }
    }

    /// Appends exactly `n` bytes to `out`.
    async fn read_exact_into(&mut self, n: u64, out: &mut Vec<u8>) -> io::Result<()> {
        let mut remaining = usize::try_from(n).map_err(|_| invalid("body too large"))?;
        let buffered = remaining.min(self.buf.len());
        out.extend(self.buf.drain(..buffered));
        remaining -= buffered;
        while remaining > 0 {
            let step = remaining.min(BODY_STEP);
            let start = out.len();
            out.resize(start + step, 0);
            self.io.read_exact(&mut out[start..]).await?;
            remaining -= step;
        }
        Ok(())
    }

    /// Appends the body framed by `framing` to `out`; chunked bodies verbatim, with trailers.
    async fn read_body(&mut self, framing: Framing, out: &mut Vec<u8>) -> io::Result<()> {
        match framing {
            Framing::None => Ok(()),
            Framing::Length(n) => self.read_exact_into(n, out).await,
            Framing::UntilClose => {
                out.append(&mut self.buf);
                self.io.read_to_end(out).await.map(drop)
            }
            Framing::Chunked => loop {
                let line = self.read_line().await?;
                let size = chunk_size(&line)?;
                out.extend_from_slice(&line);
                if size == 0 {
                    loop {
                        let trailer = self.read_line().await?;
                        out.extend_from_slice(&trailer);
                        if trailer == b"\r\n" || trailer == b"\n" {
                            return Ok(());
                        }
                    }
                }
                self.read_exact_into(size, out).await?;
                let end = self.read_line().await?;
                if end != b"\r\n" {
                    return Err(invalid("chunk not followed by CRLF"));
                }
                out.extend_from_slice(&end);
            },
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The size on a chunk-size line (`1a3f;ext=1\r\n`).
fn chunk_size(line: &[u8]) -> io::Result<u64> {
    let line = String::from_utf8_lossy(line);
    let digits = line.split(';').next().unwrap_or_default().trim();
    if digits.is_empty() || digits.len() > 15 {
        return Err(invalid(format!("bad chunk size {line:?}")));
    }
    u64::from_str_radix(digits, 16).map_err(|_| invalid(format!("bad chunk size {line:?}")))
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
    fn request_heads() -> io::Result<()> {
        let head = Head::parse_request(
            b"POST /up?x=1 HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\
              Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n",
        )?;
        assert_eq!(
            (head.method.as_str(), head.target.as_str()),
            ("POST", "/up?x=1")
        );
        assert_eq!(head.request_framing()?, Framing::Chunked);
        assert!(head.expects_continue());
        assert!(head.client_keeps_alive());
        let up = String::from_utf8_lossy(&head.upstream_request_head()).into_owned();
        assert_eq!(
            up,
            "POST /up?x=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );

        let head = Head::parse_request(b"GET / HTTP/1.0\r\n\r\n")?;
        assert!(!head.client_keeps_alive());
        assert_eq!(head.request_framing()?, Framing::None);

        for garbage in [
            &b"NOT HTTP\r\n\r\n"[..],
            b"GET / HTTP/2\r\n\r\n",
            b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            b"\x00\xff / HTTP/1.1\r\n\r\n",
        ] {
            let parsed = Head::parse_request(garbage).and_then(|h| h.request_framing());
            assert!(parsed.is_err(), "{:?}", String::from_utf8_lossy(garbage));
        }
        Ok(())
    }

    #[test]
    fn response_heads() -> io::Result<()> {
        let head = Head::parse_response(b"HTTP/1.1 204 No Content\r\n\r\n")?;
        assert_eq!(head.status()?, 204);
        let head = Head::parse_response(b"HTTP/1.0 200\r\nX: y\r\n\r\n")?;
        assert_eq!(head.status()?, 200);
        assert_eq!(head.response_framing()?, Framing::UntilClose);
        let response = Response {
            status: 200,
            head,
            body: b"abc".to_vec(),
            framing: Framing::UntilClose,
        };
        assert_eq!(
            String::from_utf8_lossy(&response.client_head(true)),
            "HTTP/1.1 200\r\nX: y\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
        );
        assert!(Head::parse_response(b"HTTP/1.1 2000 OK\r\n\r\n").is_err());
        assert!(Head::parse_response(b"SIP/2.0 200 OK\r\n\r\n").is_err());
        Ok(())
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(chunk_size(b"1a\r\n").ok(), Some(26));
        assert_eq!(chunk_size(b"0;ext=1\r\n").ok(), Some(0));
        assert!(chunk_size(b"\r\n").is_err());
        assert!(chunk_size(b"xyz\r\n").is_err());
        assert!(chunk_size(b"ffffffffffffffffff\r\n").is_err());
    }
}
