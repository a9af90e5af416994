//! Kvits on iOS and Android: one object, [`KvitsCore`], owns the Crux core and performs, in
//! Rust, every effect that is not UI — HTTP, the local SQLite store, the photo pipeline,
//! resumable uploads and timers (see [`runtime`]). The shell renders the view model, captures
//! photos and forwards lifecycle and network events; it may claim an effect kind to perform
//! itself (e.g. iOS background uploads).
//!
//! Across the FFI, events go in and the view model comes out as bincode of the types the core's
//! `codegen` generates for Swift and Kotlin; errors are one small enum, [`KvitsError`]; nothing
//! panics across the boundary.

pub mod runtime;
pub mod store;
pub mod upload;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

pub use runtime::{Config, EffectKind, KvitsError, Runtime, Shell};
use shared::Event;

uniffi::setup_scaffolding!();

/// What the shell must do for the core: be told when to re-render, and perform the effect
/// kinds it claimed.
#[uniffi::export(with_foreign)]
pub trait ShellDelegate: Send + Sync {
    /// The view model changed; read it with [`KvitsCore::view`].
    fn view_changed(&self);
    /// Perform a claimed effect; `operation` is the bincode of its operation. Answer with
    /// [`KvitsCore::resolve`] and the same `id`.
    fn perform(&self, id: u32, kind: EffectKind, operation: Vec<u8>);
}

/// The platform's secret storage: the Keychain on iOS, Keystore-backed storage on Android.
/// The session's token is kept here, never in the app's database file.
#[uniffi::export(with_foreign)]
pub trait SecretStore: Send + Sync {
    /// The secret named `name`, or `None` when none is kept (or it cannot be read: the user
    /// then signs in again).
    fn read(&self, name: String) -> Option<String>;
    /// Keeps `value` under `name`, replacing any, or forgets it for `None`; `false` when the
    /// platform refused.
    fn write(&self, name: String, value: Option<String>) -> bool;
}

struct PlatformSecrets(Arc<dyn SecretStore>);

impl std::fmt::Debug for PlatformSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlatformSecrets")
    }
}

impl store::Secrets for PlatformSecrets {
    fn read(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self.0.read(name.to_string()))
    }
    fn write(&self, name: &str, value: Option<&str>) -> Result<(), String> {
        if self.0.write(name.to_string(), value.map(str::to_string)) {
            Ok(())
        } else {
            Err(format!("the platform refused to keep {name}"))
        }
    }
}

struct Delegate(Arc<dyn ShellDelegate>);

impl Shell for Delegate {
    fn view_changed(&self) {
        self.0.view_changed();
    }
    fn perform(&self, id: u32, kind: EffectKind, operation: Vec<u8>) {
        self.0.perform(id, kind, operation);
    }
}

/// How the shell sets the core up.
#[derive(Clone, Debug, uniffi::Record)]
pub struct CoreConfig {
    /// The app's private data directory.
    pub data_dir: String,
    pub server_url: String,
    /// Shown in the user's list of devices ("Emma's iPhone").
    pub device_name: String,
    pub utc_offset_minutes: i32,
    /// Effect kinds the shell performs itself.
    pub claimed: Vec<EffectKind>,
}

/// The core, with its effects performed natively.
#[derive(Debug, uniffi::Object)]
pub struct KvitsCore {
    runtime: Runtime,
}

#[uniffi::export]
impl KvitsCore {
    /// Opens the local data in `config.data_dir` and starts the app; the session's token is
    /// kept in `secrets`.
    #[uniffi::constructor]
    pub fn new(
        config: CoreConfig,
        delegate: Arc<dyn ShellDelegate>,
        secrets: Arc<dyn SecretStore>,
    ) -> Result<Arc<KvitsCore>, KvitsError> {
        let runtime = Runtime::start(
            Config {
                data_dir: PathBuf::from(config.data_dir),
                server_url: config.server_url,
                device_name: config.device_name,
                utc_offset_minutes: config.utc_offset_minutes,
                claimed: config.claimed.into_iter().collect::<HashSet<_>>(),
                upload: upload::UploadOptions::default(),
                secrets: Some(Arc::new(PlatformSecrets(secrets))),
            },
            Arc::new(Delegate(delegate)),
        )?;
        Ok(Arc::new(KvitsCore { runtime }))
    }

    /// Sends an event (bincode of `Event`).
    pub fn update(&self, event: Vec<u8>) -> Result<(), KvitsError> {
        let event: Event = bincode::deserialize(&event).map_err(|e| KvitsError::InvalidInput {
            detail: format!("the event cannot be read: {e}"),
        })?;
        if matches!(event, Event::Start { .. }) {
            return Err(KvitsError::InvalidInput {
                detail: "the runtime starts the core itself".into(),
            });
        }
        self.runtime.send(event);
        Ok(())
    }

    /// The view model (bincode of `ViewModel`).
    pub fn view(&self) -> Result<Vec<u8>, KvitsError> {
        bincode::serialize(&self.runtime.view()).map_err(|e| KvitsError::Internal {
            detail: format!("the view cannot be written: {e}"),
        })
    }

    /// Answers a claimed effect with the bincode of its output.
    pub fn resolve(&self, id: u32, output: Vec<u8>) -> Result<(), KvitsError> {
        self.runtime.resolve(id, &output)
    }
}

impl KvitsCore {
    /// For Rust callers (tests, tools): the runtime with typed events and view.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }
}
