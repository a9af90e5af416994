//! The effect runtime: runs the core and performs its effects on a tokio runtime — HTTP with
//! reqwest, the local store with SQLite, photos with `kvits-imaging` on a blocking thread,
//! uploads resumably, timers with tokio — and resolves each answer back into the core.
//!
//! A shell may *claim* effect kinds it prefers to perform itself (iOS background uploads);
//! those are handed to it with an id, and it resolves them through [`Runtime::resolve`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crux_core::{Core, Request};
use crux_http::protocol::{HttpHeader, HttpRequest, HttpResponse, HttpResult};
use crux_time::{Instant, TimeRequest, TimeResponse, TimerId};
use shared::effects::{
    Effect, PhotoError, PhotoMode, ProcessPhotoRequest, ProcessPhotoResponse, ProcessedPhoto,
    StoreRequest, UploadRequest, UploadUpdate,
};
use shared::{Event, Kvits, ViewModel};
use tokio::task::AbortHandle;

use crate::store::LocalStore;

/// How long one HTTP exchange may take. Pulls long-poll for up to 30 s on the server.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long connecting may take before the request counts as "no network".
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The kinds of effect a shell can claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum EffectKind {
    Http,
    Store,
    Time,
    ProcessPhoto,
    Upload,
}

/// What the shell does for the runtime.
pub trait Shell: Send + Sync {
    /// The view model changed: read it again.
    fn view_changed(&self);
    /// Perform a claimed effect: `operation` is the bincode of the effect's operation
    /// (`HttpRequest`, `UploadRequest`, ...); answer with [`Runtime::resolve`] and the same id.
    fn perform(&self, id: u32, kind: EffectKind, operation: Vec<u8>);
}

/// Errors crossing to the shell. The field is `detail`, not `message`: Kotlin exceptions already
/// have a `message`, and UniFFI's Kotlin for a field of that name does not compile.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum KvitsError {
    /// What the shell sent could not be read.
    #[error("invalid input: {detail}")]
    InvalidInput { detail: String },
    /// The device's data could not be opened.
    #[error("storage: {detail}")]
    Storage { detail: String },
    /// Something went wrong inside the runtime.
    #[error("internal: {detail}")]
    Internal { detail: String },
}

/// How the runtime is set up.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the database, photos and thumbnails live.
    pub data_dir: PathBuf,
    pub server_url: String,
    pub device_name: String,
    pub utc_offset_minutes: i32,
    /// Effect kinds the shell performs itself.
    pub claimed: HashSet<EffectKind>,
    /// How photos are sent (chunk size); the default suits phones.
    pub upload: crate::upload::UploadOptions,
    /// The platform's secret store, for the session's token; `None` keeps it in the database
    /// (tools and tests only: the phones always pass theirs).
    pub secrets: Option<Arc<dyn crate::store::Secrets>>,
}

/// A claimed effect waiting for the shell's answer.
enum Claimed {
    Http(Request<HttpRequest>),
    Store(Request<StoreRequest>),
    Time(Request<TimeRequest>),
    Photo(Request<ProcessPhotoRequest>),
    Upload(Request<UploadRequest>),
}

pub(crate) struct Inner {
    core: Core<Kvits>,
    handle: tokio::runtime::Handle,
    http: reqwest::Client,
    store: Arc<LocalStore>,
    photos_dir: PathBuf,
    shell: Arc<dyn Shell>,
    claimed_kinds: HashSet<EffectKind>,
    upload_options: crate::upload::UploadOptions,
    claimed: Mutex<HashMap<u32, Claimed>>,
    next_claim: Mutex<u32>,
    timers: Mutex<HashMap<usize, AbortHandle>>,
}

/// The runtime. Dropping it stops everything at once, as a killed process would: what is
/// committed to the store stays, what was in flight is redone at the next start.
pub struct Runtime {
    inner: Arc<Inner>,
    tokio: Mutex<Option<tokio::runtime::Runtime>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let rt = self
            .tokio
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(rt) = rt {
            rt.shutdown_background();
        }
    }
}

/// Refuses a server address the token must not travel to: anything but `https`, except this
/// device itself (loopback) and, in a development build, any `http` server (an emulator
/// reaches its host's `./dev run` at `http://10.0.2.2:8080`).
pub fn check_server_url(url: &str, development: bool) -> Result<(), KvitsError> {
    let invalid = |why: &str| KvitsError::InvalidInput {
        detail: format!("the server address {url:?} {why}"),
    };
    let parsed = reqwest::Url::parse(url).map_err(|_| invalid("is not a URL"))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| invalid("names no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback || development => Ok(()),
        "http" => Err(invalid(
            "must use https: the sign-in token would travel in clear text",
        )),
        _ => Err(invalid("must use https")),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Runtime {
    /// Opens the local store and starts the core (`Event::Start`).
    pub fn start(config: Config, shell: Arc<dyn Shell>) -> Result<Runtime, KvitsError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| KvitsError::Storage {
            detail: format!("cannot create {}: {e}", config.data_dir.display()),
        })?;
        let photos_dir = config.data_dir.join("photos");
        std::fs::create_dir_all(&photos_dir).map_err(|e| KvitsError::Storage {
            detail: format!("cannot create {}: {e}", photos_dir.display()),
        })?;
        let mut store = LocalStore::open(&config.data_dir.join("kvits.sqlite")).map_err(|e| {
            KvitsError::Storage {
                detail: e.to_string(),
            }
        })?;
        if let Some(secrets) = &config.secrets {
            store = store.with_secrets(secrets.clone());
        }
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kvits-runtime")
            .enable_all()
            .build()
            .map_err(|e| KvitsError::Internal {
                detail: format!("cannot start the runtime: {e}"),
            })?;
        check_server_url(&config.server_url, cfg!(debug_assertions))?;
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            // The token goes with every request: never follow the server elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| KvitsError::Internal {
                detail: format!("cannot set up HTTP: {e}"),
            })?;
        let inner = Arc::new(Inner {
            core: Core::new(),
            handle: tokio.handle().clone(),
            http,
            store: Arc::new(store),
            photos_dir,
            shell,
            claimed_kinds: config.claimed.clone(),
            upload_options: config.upload.clone(),
            claimed: Mutex::new(HashMap::new()),
            next_claim: Mutex::new(0),
            timers: Mutex::new(HashMap::new()),
        });
        let runtime = Runtime {
            inner,
            tokio: Mutex::new(Some(tokio)),
        };
        runtime.send(Event::Start {
            server_url: config.server_url,
            entropy: entropy(),
            device_name: config.device_name,
            utc_offset_minutes: config.utc_offset_minutes,
        });
        Ok(runtime)
    }

    /// Sends an event to the core and performs what it asks for.
    pub fn send(&self, event: Event) {
        let effects = self.inner.core.process_event(event);
        Inner::run(&self.inner, effects);
    }

    /// The current view model.
    pub fn view(&self) -> ViewModel {
        self.inner.core.view()
    }

    /// Resolves a claimed effect with the bincode of its output.
    pub fn resolve(&self, id: u32, output: &[u8]) -> Result<(), KvitsError> {
        let inner = &self.inner;
        let mut claimed = lock(&inner.claimed);
        let Some(entry) = claimed.get_mut(&id) else {
            return Err(KvitsError::InvalidInput {
                detail: format!("no effect {id} is waiting for an answer"),
            });
        };
        let bad = |e: bincode::Error| KvitsError::InvalidInput {
            detail: format!("the answer to effect {id} cannot be read: {e}"),
        };
        // Streams (uploads) stay until their last update; everything else answers once.
        let (effects, done) = match entry {
            Claimed::Http(r) => (
                inner
                    .core
                    .resolve(r, bincode::deserialize(output).map_err(bad)?),
                true,
            ),
            Claimed::Store(r) => (
                inner
                    .core
                    .resolve(r, bincode::deserialize(output).map_err(bad)?),
                true,
            ),
            Claimed::Time(r) => (
                inner
                    .core
                    .resolve(r, bincode::deserialize(output).map_err(bad)?),
                true,
            ),
            Claimed::Photo(r) => (
                inner
                    .core
                    .resolve(r, bincode::deserialize(output).map_err(bad)?),
                true,
            ),
            Claimed::Upload(r) => {
                let update: UploadUpdate = bincode::deserialize(output).map_err(bad)?;
                let last = !matches!(update, UploadUpdate::Progress { .. });
                (inner.core.resolve(r, update), last)
            }
        };
        if done {
            claimed.remove(&id);
        }
        drop(claimed);
        let effects = effects.map_err(|e| KvitsError::InvalidInput {
            detail: format!("effect {id} cannot take an answer: {e}"),
        })?;
        Inner::run(inner, effects);
        Ok(())
    }
}

/// Random bytes for the core's ids.
fn entropy() -> Vec<u8> {
    let mut bytes = vec![0u8; 32];
    // The platform's generator; should it fail, ids still differ by time and process.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes[..16].copy_from_slice(&nanos.to_le_bytes());
        bytes[16..20].copy_from_slice(&std::process::id().to_le_bytes());
    }
    bytes
}

impl Inner {
    /// Performs effects; answers go back into the core, whose new effects come back here.
    pub(crate) fn run(this: &Arc<Inner>, effects: Vec<Effect>) {
        for effect in effects {
            Inner::perform(this, effect);
        }
    }

    fn resolve_with<Op: crux_core::capability::Operation>(
        this: &Arc<Inner>,
        request: &mut Request<Op>,
        output: Op::Output,
    ) {
        match this.core.resolve(request, output) {
            Ok(effects) => Inner::run(this, effects),
            Err(e) => tracing::warn!("an effect could not take its answer: {e}"),
        }
    }

    fn claim(this: &Arc<Inner>, kind: EffectKind, operation: Vec<u8>, claimed: Claimed) {
        let id = {
            let mut next = lock(&this.next_claim);
            *next = next.wrapping_add(1);
            *next
        };
        lock(&this.claimed).insert(id, claimed);
        this.shell.perform(id, kind, operation);
    }

    fn perform(this: &Arc<Inner>, effect: Effect) {
        let claims = |kind| this.claimed_kinds.contains(&kind);
        match effect {
            Effect::Render(_) => this.shell.view_changed(),
            Effect::Time(req) if claims(EffectKind::Time) => {
                let op = bincode::serialize(&req.operation).unwrap_or_default();
                Inner::claim(this, EffectKind::Time, op, Claimed::Time(req));
            }
            Effect::Time(req) => Inner::time(this, req),
            Effect::Http(req) if claims(EffectKind::Http) => {
                let op = bincode::serialize(&req.operation).unwrap_or_default();
                Inner::claim(this, EffectKind::Http, op, Claimed::Http(req));
            }
            Effect::Http(mut req) => {
                let inner = Arc::clone(this);
                this.handle.spawn(async move {
                    let result = http(&inner.http, &req.operation).await;
                    Inner::resolve_with(&inner, &mut req, result);
                });
            }
            Effect::Store(req) if claims(EffectKind::Store) => {
                let op = bincode::serialize(&req.operation).unwrap_or_default();
                Inner::claim(this, EffectKind::Store, op, Claimed::Store(req));
            }
            Effect::Store(mut req) => {
                let inner = Arc::clone(this);
                this.handle.spawn_blocking(move || {
                    let response = inner.store.handle(&req.operation);
                    Inner::resolve_with(&inner, &mut req, response);
                });
            }
            Effect::ProcessPhoto(req) if claims(EffectKind::ProcessPhoto) => {
                let op = bincode::serialize(&req.operation).unwrap_or_default();
                Inner::claim(this, EffectKind::ProcessPhoto, op, Claimed::Photo(req));
            }
            Effect::ProcessPhoto(mut req) => {
                let inner = Arc::clone(this);
                this.handle.spawn_blocking(move || {
                    let response = process_photo(&inner.photos_dir, &req.operation);
                    Inner::resolve_with(&inner, &mut req, response);
                });
            }
            Effect::Upload(req) if claims(EffectKind::Upload) => {
                let op = bincode::serialize(&req.operation).unwrap_or_default();
                Inner::claim(this, EffectKind::Upload, op, Claimed::Upload(req));
            }
            Effect::Upload(req) => {
                let inner = Arc::clone(this);
                this.handle.spawn(async move {
                    let req = Arc::new(Mutex::new(req));
                    let operation = lock(&req).operation.clone();
                    let progress_req = Arc::clone(&req);
                    let progress_inner = Arc::clone(&inner);
                    let mut progress = move |sent: u64, total: u64| {
                        let mut r = lock(&progress_req);
                        Inner::resolve_with(
                            &progress_inner,
                            &mut r,
                            UploadUpdate::Progress { sent, total },
                        );
                    };
                    let last = crate::upload::upload_with(
                        &inner.http,
                        &operation,
                        &inner.upload_options,
                        &mut progress,
                    )
                    .await;
                    let mut r = lock(&req);
                    Inner::resolve_with(&inner, &mut r, last);
                });
            }
        }
    }

    fn time(this: &Arc<Inner>, mut req: Request<TimeRequest>) {
        match req.operation.clone() {
            TimeRequest::Now => {
                let now = Instant::from(SystemTime::now());
                Inner::resolve_with(this, &mut req, TimeResponse::Now { instant: now });
            }
            TimeRequest::NotifyAfter { id, duration } => {
                let wait = Duration::from(duration);
                Inner::timer(this, id, wait, req, TimeResponse::DurationElapsed { id });
            }
            TimeRequest::NotifyAt { id, instant } => {
                let wait = SystemTime::from(instant)
                    .duration_since(SystemTime::now())
                    .unwrap_or_default();
                Inner::timer(this, id, wait, req, TimeResponse::InstantArrived { id });
            }
            TimeRequest::Clear { id } => {
                if let Some(t) = lock(&this.timers).remove(&id.0) {
                    t.abort();
                }
                Inner::resolve_with(this, &mut req, TimeResponse::Cleared { id });
            }
        }
    }

    fn timer(
        this: &Arc<Inner>,
        id: TimerId,
        wait: Duration,
        mut req: Request<TimeRequest>,
        answer: TimeResponse,
    ) {
        let inner = Arc::clone(this);
        let task = this.handle.spawn(async move {
            tokio::time::sleep(wait).await;
            lock(&inner.timers).remove(&id.0);
            Inner::resolve_with(&inner, &mut req, answer);
        });
        lock(&this.timers).insert(id.0, task.abort_handle());
    }
}

/// One HTTP exchange. Every completed exchange is `Ok` whatever its status; only a failure
/// to talk to the server at all is `Err`.
async fn http(client: &reqwest::Client, request: &HttpRequest) -> HttpResult {
    let method = match reqwest::Method::from_bytes(request.method.as_bytes()) {
        Ok(m) => m,
        Err(_) => {
            return HttpResult::Err(crux_http::HttpError::Url(format!(
                "not an HTTP method: {}",
                request.method
            )));
        }
    };
    let mut builder = client.request(method, &request.url);
    for h in &request.headers {
        builder = builder.header(&h.name, &h.value);
    }
    if !request.body.is_empty() {
        builder = builder.body(request.body.clone());
    }
    let response = match builder.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return HttpResult::Err(crux_http::HttpError::Timeout),
        Err(e) if e.is_builder() => {
            return HttpResult::Err(crux_http::HttpError::Url(e.to_string()));
        }
        Err(e) => return HttpResult::Err(crux_http::HttpError::Io(e.to_string())),
    };
    let status = response.status().as_u16();
    let headers: Vec<HttpHeader> = response
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            value.to_str().ok().map(|v| HttpHeader {
                name: name.as_str().to_string(),
                value: v.to_string(),
            })
        })
        .collect();
    match response.bytes().await {
        Ok(body) => HttpResult::Ok(HttpResponse {
            status,
            headers,
            body: body.to_vec(),
        }),
        Err(e) if e.is_timeout() => HttpResult::Err(crux_http::HttpError::Timeout),
        Err(e) => HttpResult::Err(crux_http::HttpError::Io(e.to_string())),
    }
}

/// Runs the photo pipeline on the file behind `request.source` and writes the receipt image
/// and its thumbnail next to the other photos, named by hash.
pub fn process_photo(photos_dir: &Path, request: &ProcessPhotoRequest) -> ProcessPhotoResponse {
    let failed = |code: &str, message: String| {
        ProcessPhotoResponse::Failed(PhotoError {
            code: code.into(),
            message,
        })
    };
    let bytes = match std::fs::read(&request.source) {
        Ok(b) => b,
        Err(e) => return failed("io", format!("the photo cannot be read: {e}")),
    };
    let options = kvits_imaging::Options {
        color: match request.mode {
            PhotoMode::Document => kvits_imaging::ColorMode::Gray,
            PhotoMode::Colour => kvits_imaging::ColorMode::Color,
        },
        long_receipt: request.long_receipt,
    };
    let processed = match kvits_imaging::process(&bytes, &options) {
        Ok(p) => p,
        Err(e) => return failed(e.code(), e.to_string()),
    };
    let image_path = photos_dir.join(format!("{}.jpg", processed.sha256));
    let thumb_path = photos_dir.join(format!("{}.thumb.jpg", processed.sha256));
    for (path, data) in [
        (&image_path, &processed.image.jpeg),
        (&thumb_path, &processed.thumbnail.jpeg),
    ] {
        if let Err(e) = write_durably(path, data) {
            let code = if e.raw_os_error() == Some(28) {
                "full"
            } else {
                "io"
            };
            return failed(code, format!("the photo cannot be saved: {e}"));
        }
    }
    let taken_on = processed
        .source
        .captured_at
        .map(|c| format!("{:04}-{:02}-{:02}", c.year, c.month, c.day));
    ProcessPhotoResponse::Processed(ProcessedPhoto {
        file_ref: image_path.display().to_string(),
        sha256: processed.sha256,
        size: processed.image.jpeg.len() as u64,
        width: processed.image.width,
        height: processed.image.height,
        content_type: "image/jpeg".into(),
        thumbnail_ref: thumb_path.display().to_string(),
        taken_on,
    })
}

/// Writes a file so that it is complete on disk before the core hears of it: a temporary
/// name, fsync, rename.
fn write_durably(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod server_url_tests {
    use super::check_server_url;

    #[test]
    fn the_token_travels_only_over_https_or_to_this_device() {
        for ok in [
            "https://kvits.example.com",
            "https://10.0.0.5:8443/",
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
        ] {
            assert!(check_server_url(ok, false).is_ok(), "{ok}");
        }
        for refused in [
            "http://kvits.example.com",
            "http://10.0.2.2:8080",
            "ftp://kvits.example.com",
            "not a url",
            "https://",
        ] {
            assert!(check_server_url(refused, false).is_err(), "{refused}");
        }
        // A development build reaches its machine's server from an emulator.
        assert!(check_server_url("http://10.0.2.2:8080", true).is_ok());
        assert!(check_server_url("ftp://10.0.2.2", true).is_err());
    }
}
