//! Password hashing and checking: Argon2id on a few threads of their own, each reusing one
//! block of memory, behind a semaphore.
//!
//! An Argon2 hash works in 19 MiB. Allocated afresh for every hash (what `argon2`'s
//! `PasswordVerifier` does), that memory was not given back in practice: the C allocator kept
//! the freed blocks in its per-thread arenas and did not reuse them, and every wrong password
//! grew the server by 19 MiB, past 600 MB under `cargo xtask bench abuse`. So each thread keeps
//! one block for all its hashes ([`with_memory`]), and hashes run on [`Hashing::slots`] threads
//! only: their memory is `slots × 19 MiB`, once. The semaphore in front keeps the queue short:
//! a sign-in that waits longer than it should is answered 503 with `Retry-After` instead of
//! piling up.

use std::cell::RefCell;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::error::{ApiError, ApiResult};

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads and the permits to use them.
#[derive(Debug)]
pub struct Hashing {
    permits: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
    slots: usize,
}

/// The right to hash or check one password now; the slot is free again when it is dropped.
#[derive(Debug)]
pub struct Permit {
    _slot: OwnedSemaphorePermit,
}

impl Hashing {
    /// Starts `slots` threads (at least one); they end when this is dropped.
    pub fn start(slots: usize) -> std::io::Result<Hashing> {
        let slots = slots.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..slots {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("kvits-hashing-{i}"))
                .spawn(move || {
                    loop {
                        let next = queue
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        match next {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    }
                })?;
        }
        Ok(Hashing {
            permits: Arc::new(Semaphore::new(slots)),
            jobs,
            slots,
        })
    }

    /// How many passwords are hashed at once.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Waits at most `wait` for a free slot; a server that has none by then answers 503.
    pub async fn permit(&self, wait: Duration) -> ApiResult<Permit> {
        let busy =
            || ApiError::unavailable("the server is busy signing people in; try again in a moment");
        let waiting = Arc::clone(&self.permits).acquire_owned();
        match tokio::time::timeout(wait, waiting).await {
            Ok(Ok(slot)) => Ok(Permit { _slot: slot }),
            Ok(Err(_)) | Err(_) => Err(busy()),
        }
    }

    /// Runs `work` on a hashing thread, holding `permit` until it is done.
    pub async fn run<T: Send + 'static>(
        &self,
        permit: Permit,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            // The slot is free before the answer is: whoever hears it may hash at once.
            drop(permit);
            let _ = done.send(outcome);
        });
        self.jobs
            .send(job)
            .map_err(|_| ApiError::internal("the hashing threads are gone"))?;
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(ApiError::internal("hashing a password panicked")),
            Err(_) => Err(ApiError::internal("a hashing thread dropped its work")),
        }
    }
}

thread_local! {
    /// This thread's Argon2 working memory, kept between hashes.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` with `blocks` blocks of this thread's Argon2 memory (grown once, then reused).
fn with_memory<T>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        work(&mut memory[..blocks])
    })
}

/// The raw Argon2 output of `password` and `salt` under `argon`.
fn raw_hash(argon: &Argon2<'_>, params: &Params, password: &[u8], salt: &[u8]) -> Option<Output> {
    let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    with_memory(params.block_count(), |blocks| {
        argon.hash_password_into_with_memory(password, salt, &mut out, blocks)
    })
    .ok()?;
    Output::new(&out).ok()
}

/// An argon2id PHC string for `password`, with a new random salt and the default parameters.
pub fn hash_password(password: &str) -> ApiResult<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(ApiError::internal)?;
    let salt = SaltString::encode_b64(&salt).map_err(ApiError::internal)?;
    let mut raw_salt = [0u8; Salt::MAX_LENGTH];
    let raw_salt = salt
        .as_salt()
        .decode_b64(&mut raw_salt)
        .map_err(ApiError::internal)?;
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let output = raw_hash(&argon, &params, password.as_bytes(), raw_salt)
        .ok_or_else(|| ApiError::internal("hashing a password failed"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(ApiError::internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the stored hash. A `None` hash (no password set yet) still
/// spends the same time, so probing e-mails learns nothing from timing.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("not a password").ok());
    let Some(hash) = stored.or(dummy.as_deref()) else {
        return false;
    };
    let matches = PasswordHash::new(hash)
        .ok()
        .and_then(|phc| matches(password.as_bytes(), &phc));
    matches == Some(true) && stored.is_some()
}

/// Whether `password` hashes to `phc`; `None` for a PHC string that is not Argon2's.
fn matches(password: &[u8], phc: &PasswordHash<'_>) -> Option<bool> {
    let algorithm = Algorithm::try_from(phc.algorithm).ok()?;
    let version = match phc.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(phc).ok()?;
    let mut salt = [0u8; Salt::MAX_LENGTH];
    let salt = phc.salt?.decode_b64(&mut salt).ok()?;
    let expected = phc.hash?;
    let argon = Argon2::new(algorithm, version, params.clone());
    let actual = raw_hash(&argon, &params, password, salt)?;
    // `Output`'s equality is constant-time.
    Some(actual == expected)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_hash_checks_its_password_only_and_reads_as_argon2_s_own() {
        let hash = hash_password("correct horse battery staple").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery staple", Some(&hash)));
        assert!(!verify_password(
            "correct horse battery stable",
            Some(&hash)
        ));
        assert!(!verify_password("anything", None));
        assert!(!verify_password("anything", Some("not a hash")));
        // The library's own verifier agrees (hashes stored before this code still check).
        use argon2::PasswordVerifier;
        let phc = PasswordHash::new(&hash).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery staple", &phc)
                .is_ok()
        );
        use argon2::PasswordHasher;
        let theirs = Argon2::default()
            .hash_password(
                b"tr0ub4dor&3",
                &SaltString::encode_b64(b"sixteen byte slt").unwrap(),
            )
            .unwrap()
            .to_string();
        assert!(verify_password("tr0ub4dor&3", Some(&theirs)));
    }

    #[tokio::test]
    async fn work_runs_on_the_hashing_threads_and_a_full_server_says_busy() {
        let hashing = Hashing::start(1).unwrap();
        let name = hashing
            .run(
                hashing.permit(Duration::from_secs(1)).await.unwrap(),
                || std::thread::current().name().map(str::to_owned),
            )
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("kvits-hashing-0"));

        let held = hashing.permit(Duration::from_secs(1)).await.unwrap();
        let refused = hashing.permit(Duration::from_millis(50)).await.unwrap_err();
        assert!(refused.is_transient());
        drop(held);
        assert!(hashing.permit(Duration::from_millis(50)).await.is_ok());

        let panicked = hashing
            .run(
                hashing.permit(Duration::from_secs(1)).await.unwrap(),
                || -> () { panic!("a bad hash") },
            )
            .await;
        assert!(panicked.is_err());
        // The thread and the permit survive a panic.
        let again = hashing
            .run(hashing.permit(Duration::from_secs(1)).await.unwrap(), || 7)
            .await;
        assert_eq!(again.unwrap(), 7);
    }
}
