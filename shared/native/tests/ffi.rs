//! The FFI surface: bad input from a shell is an error value, never a panic; claimed effects
//! are handed over and answered by id.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kvits_native::{CoreConfig, EffectKind, KvitsCore, KvitsError, SecretStore, ShellDelegate};
use shared::view::{ScreenView, ViewModel};

#[derive(Default)]
struct Recorder {
    views: Mutex<u32>,
    performed: Mutex<Vec<(u32, EffectKind, Vec<u8>)>>,
}

impl ShellDelegate for Recorder {
    fn view_changed(&self) {
        *self.views.lock().unwrap() += 1;
    }
    fn perform(&self, id: u32, kind: EffectKind, operation: Vec<u8>) {
        self.performed.lock().unwrap().push((id, kind, operation));
    }
}

/// The platform's secret store, as a map.
#[derive(Default)]
struct Keychain(Mutex<std::collections::HashMap<String, String>>);

impl SecretStore for Keychain {
    fn read(&self, name: String) -> Option<String> {
        self.0.lock().unwrap().get(&name).cloned()
    }
    fn write(&self, name: String, value: Option<String>) -> bool {
        let mut kept = self.0.lock().unwrap();
        match value {
            Some(v) => kept.insert(name, v),
            None => kept.remove(&name),
        };
        true
    }
}

fn core(claimed: Vec<EffectKind>) -> (tempfile::TempDir, Arc<KvitsCore>, Arc<Recorder>) {
    let dir = tempfile::tempdir().unwrap();
    let shell = Arc::new(Recorder::default());
    let core = KvitsCore::new(
        CoreConfig {
            data_dir: dir.path().display().to_string(),
            server_url: "http://127.0.0.1:9".into(),
            device_name: "Test".into(),
            utc_offset_minutes: 0,
            claimed,
        },
        shell.clone(),
        Arc::new(Keychain::default()),
    )
    .expect("starts");
    (dir, core, shell)
}

fn view(core: &KvitsCore) -> ViewModel {
    bincode::deserialize(&core.view().unwrap()).unwrap()
}

fn wait(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn garbage_from_the_shell_is_an_error_not_a_panic() {
    let (_dir, core, _shell) = core(Vec::new());
    for bytes in [vec![], vec![255; 7], vec![0, 0, 0, 0, 1, 2, 3]] {
        assert!(matches!(
            core.update(bytes),
            Err(KvitsError::InvalidInput { .. })
        ));
    }
    let start = bincode::serialize(&shared::Event::Start {
        server_url: "x".into(),
        entropy: vec![],
        device_name: "x".into(),
        utc_offset_minutes: 0,
    })
    .unwrap();
    assert!(matches!(
        core.update(start),
        Err(KvitsError::InvalidInput { .. })
    ));
    assert!(matches!(
        core.resolve(12345, vec![1, 2, 3]),
        Err(KvitsError::InvalidInput { .. })
    ));
    // A well-formed event works.
    let event = bincode::serialize(&shared::Event::NetworkChanged { online: false }).unwrap();
    core.update(event).unwrap();
    wait("the app to load", || {
        !matches!(view(&core).screen, ScreenView::Loading)
    });
    assert!(!view(&core).status.online);
}

#[test]
fn a_claimed_effect_is_handed_to_the_shell_and_answered_by_id() {
    let (_dir, core, shell) = core(vec![EffectKind::Time]);
    // The core reads the clock first: the shell claimed time, so it gets the request.
    wait("the clock request", || {
        !shell.performed.lock().unwrap().is_empty()
    });
    let (id, kind, operation) = shell.performed.lock().unwrap()[0].clone();
    assert_eq!(kind, EffectKind::Time);
    let request: crux_time::TimeRequest = bincode::deserialize(&operation).unwrap();
    assert_eq!(request, crux_time::TimeRequest::Now);
    // An answer of the wrong shape is refused and the request stays answerable.
    assert!(matches!(
        core.resolve(id, vec![9]),
        Err(KvitsError::InvalidInput { .. })
    ));
    let now = crux_time::TimeResponse::Now {
        instant: crux_time::Instant::new(1_800_000_000, 0),
    };
    core.resolve(id, bincode::serialize(&now).unwrap()).unwrap();
    wait("the app to load", || {
        matches!(view(&core).screen, ScreenView::SignIn(_))
    });
    // Answering twice is an error, not a second answer.
    assert!(matches!(
        core.resolve(id, bincode::serialize(&now).unwrap()),
        Err(KvitsError::InvalidInput { .. })
    ));
    assert!(
        *shell.views.lock().unwrap() > 0,
        "the shell was told to render"
    );
}
