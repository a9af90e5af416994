//! The core's `Store` effect on the phone: one SQLite file of JSON rows.
//!
//! [`LocalStore`] answers the core's [`StoreRequest`]s (see `shared::effects::store`):
//! `Load` hands back every row, `Commit` applies a list of puts, deletes and clears as **one**
//! transaction — all or nothing — and answers `Committed` only once the transaction is on disk
//! (`synchronous = FULL`, and `fullfsync` where the platform needs it), because that is the
//! moment the user is told a receipt is saved.
//!
//! The file is kept safe above all else: it may hold work that has not reached the server yet.
//! A file that is not SQLite, or whose schema is newer than this code knows, is refused with a
//! [`StoreOpenError`] and left exactly as it was; nothing here ever deletes or recreates it.
//!
//! Schema changes are forward-only numbered migrations (`shared/native/migrations/NNNN_*.sql`),
//! tracked in `PRAGMA user_version`, applied together in one transaction when the file is opened.

use std::borrow::Cow;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, TransactionBehavior, params};
use shared::effects::{
    Collection, StoreError, StoreErrorKind, StoreOp, StoreRequest, StoreResponse, StoredRow,
};
use shared::model::local::{SESSION_KEY, join_session_row, split_session_row};

/// The migrations, in order: migration `n` (1-based) is `MIGRATIONS[n - 1]` and takes the
/// database from `user_version` `n - 1` to `n`. Released entries are never edited.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_rows.sql")];

/// The schema version this code writes (`PRAGMA user_version` after [`LocalStore::open`]).
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// How long to wait for another connection to the same file (an app extension, a second
/// process) before giving up with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Every SQLite database file starts with these 16 bytes.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

const SELECT_ALL: &str = "SELECT collection, key, value FROM rows";
const PUT: &str = "INSERT OR REPLACE INTO rows (collection, key, value) VALUES (?1, ?2, ?3)";
const DELETE: &str = "DELETE FROM rows WHERE collection = ?1 AND key = ?2";
const CLEAR: &str = "DELETE FROM rows WHERE collection = ?1";

/// The name a collection is stored under. Stable forever: a renamed variant keeps its name
/// here, a new variant gets a new name.
fn collection_name(collection: Collection) -> &'static str {
    match collection {
        Collection::Meta => "meta",
        Collection::Outbox => "outbox",
        Collection::Mirror => "mirror",
        Collection::Photos => "photos",
        Collection::Notices => "notices",
        Collection::Captures => "captures",
    }
}

/// The collection stored under `name`, or `None` for a name this version does not know
/// (written by a newer version).
fn collection_from_name(name: &str) -> Option<Collection> {
    Some(match name {
        "meta" => Collection::Meta,
        "outbox" => Collection::Outbox,
        "mirror" => Collection::Mirror,
        "photos" => Collection::Photos,
        "notices" => Collection::Notices,
        "captures" => Collection::Captures,
        _ => return None,
    })
}

/// Why the local database could not be opened. In every case the file was left as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreOpenError {
    /// The folder for the database could not be created.
    #[error("cannot create the folder for the local database {}: {source}", path.display())]
    CreateDir { path: PathBuf, source: io::Error },
    /// The existing file could not be read.
    #[error("cannot read the local database {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// The file exists but is not an SQLite database.
    #[error("{} is not an SQLite database; it was left untouched", path.display())]
    NotADatabase { path: PathBuf },
    /// The database was written by a newer version of the app (its schema version is higher
    /// than this code knows). It may hold unsent work, so it is not touched: update the app.
    #[error(
        "the local database {} has schema version {found}, newer than this version of the app \
         knows ({supported}); it was left untouched — update the app",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        /// The file's `user_version` (negative values are refused too: this code never
        /// writes them).
        found: i64,
        supported: u32,
    },
    /// SQLite refused to open or set up the file.
    #[error("cannot open the local database {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// A migration failed; the database stays at its previous version.
    #[error(
        "cannot upgrade the local database {} from schema version {from} to {to}: {source}",
        path.display()
    )]
    Migration {
        path: PathBuf,
        from: i64,
        to: u32,
        source: rusqlite::Error,
    },
}

impl StoreOpenError {
    /// Whether the failure is the device's storage being full (worth telling the user so).
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreOpenError::Sqlite { source, .. } | StoreOpenError::Migration { source, .. } => {
                source.sqlite_error_code() == Some(ErrorCode::DiskFull)
            }
            StoreOpenError::CreateDir { source, .. } | StoreOpenError::Read { source, .. } => {
                source.kind() == io::ErrorKind::StorageFull
            }
            StoreOpenError::NotADatabase { .. } | StoreOpenError::NewerSchema { .. } => false,
        }
    }
}

/// The device's local database: performs the core's `Store` effect.
///
/// One connection behind a mutex: requests are answered one at a time, which is what the core
/// expects (it runs its transactions one after another anyway).
pub struct LocalStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// Where the session's token is kept instead of the database, when the platform has one.
    secrets: Option<Arc<dyn Secrets>>,
}

/// The platform's store of secrets: the Keychain on iOS, Keystore-backed storage on Android.
/// With one, the session's token is never written to the database file (which backups and
/// file-level access reach); the rest of the session row stays there.
pub trait Secrets: Send + Sync + fmt::Debug {
    /// The secret named `name`; `Ok(None)` when none is kept.
    fn read(&self, name: &str) -> Result<Option<String>, String>;
    /// Keeps `value` under `name`, replacing any, or forgets it for `None`.
    fn write(&self, name: &str, value: Option<&str>) -> Result<(), String>;
}

/// The name the session's token is kept under in [`Secrets`].
pub const TOKEN_SECRET: &str = "kvits.session.token";

impl fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalStore")
            .field("path", &self.path)
            .field("secrets", &self.secrets.is_some())
            .finish_non_exhaustive()
    }
}

impl LocalStore {
    /// Opens (creating if missing, with its folder) the database at `path`, and brings its
    /// schema up to [`SCHEMA_VERSION`].
    ///
    /// Refuses, leaving the file untouched, a file that is not SQLite
    /// ([`StoreOpenError::NotADatabase`]) or whose schema is newer than this code
    /// ([`StoreOpenError::NewerSchema`]).
    pub fn open(path: &Path) -> Result<LocalStore, StoreOpenError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|source| StoreOpenError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        check_header(path)?;

        let sqlite = |source: rusqlite::Error| match source.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => StoreOpenError::NotADatabase {
                path: path.to_path_buf(),
            },
            _ => StoreOpenError::Sqlite {
                path: path.to_path_buf(),
                source,
            },
        };
        let mut conn = Connection::open(path).map_err(sqlite)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite)?;

        // Nothing may be written before the version is known to be one this code understands:
        // even switching the journal mode rewrites the file's header.
        let found = user_version(&conn).map_err(sqlite)?;
        check_version(path, found)?;

        // WAL: readers never block the writer, and a commit is one append + fsync.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(sqlite)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "the local database could not use WAL");
        }
        // FULL: a commit is on disk before it returns (with WAL, NORMAL could lose the last
        // commits on power loss). fullfsync: on Apple platforms, fsync alone does not flush the
        // drive's cache; elsewhere it does nothing.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite)?;
        conn.pragma_update(None, "fullfsync", true)
            .map_err(sqlite)?;
        conn.pragma_update(None, "checkpoint_fullfsync", true)
            .map_err(sqlite)?;
        // After a checkpoint, shrink a WAL that a big pull made large back to 4 MiB.
        conn.pragma_update(None, "journal_size_limit", 4 * 1024 * 1024)
            .map_err(sqlite)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(sqlite)?;

        migrate(path, &mut conn)?;

        Ok(LocalStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            secrets: None,
        })
    }

    /// Where the database is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keeps the session's token in `secrets` from now on, not in the database.
    pub fn with_secrets(mut self, secrets: Arc<dyn Secrets>) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// Answers one of the core's requests. Never panics: every failure is a
    /// `StoreResponse::Failed`, and a failed `Commit` changed nothing.
    pub fn handle(&self, request: &StoreRequest) -> StoreResponse {
        let mut conn = self.lock();
        let result = match request {
            StoreRequest::Load => load(&conn)
                .map(|rows| StoreResponse::Loaded {
                    rows: self.with_kept_token(&mut conn, rows),
                })
                .map_err(|e| failed("loading the local database", &e)),
            StoreRequest::Commit { ops } => {
                let (ops, token) = self.without_token(ops);
                commit(&mut conn, &ops).map(|()| {
                    if let Some(token) = token {
                        self.keep_token(token.as_deref());
                    }
                    StoreResponse::Committed
                })
            }
            .map_err(|e| failed("saving to the local database", &e)),
        };
        result.unwrap_or_else(StoreResponse::Failed)
    }

    /// The ops with the session's token taken out of its row, and what to keep as the token
    /// once they are committed (`Some(None)`: forget it; `None`: leave it as it is). Commits
    /// that do not touch the session (nearly all: outbox, mirror, photos) pass as they are.
    fn without_token<'a>(
        &self,
        ops: &'a [StoreOp],
    ) -> (Cow<'a, [StoreOp]>, Option<Option<String>>) {
        let touches = |op: &StoreOp| match op {
            StoreOp::Put {
                collection: Collection::Meta,
                key,
                ..
            }
            | StoreOp::Delete {
                collection: Collection::Meta,
                key,
            } => key == SESSION_KEY,
            StoreOp::Clear {
                collection: Collection::Meta,
            } => true,
            _ => false,
        };
        if self.secrets.is_none() || !ops.iter().any(touches) {
            return (Cow::Borrowed(ops), None);
        }
        let mut token = None;
        let ops = ops
            .iter()
            .map(|op| match op {
                StoreOp::Put {
                    collection: Collection::Meta,
                    key,
                    value,
                } if key == SESSION_KEY => match split_session_row(value) {
                    Some((row, kept)) => {
                        token = Some(kept);
                        StoreOp::Put {
                            collection: Collection::Meta,
                            key: key.clone(),
                            value: row,
                        }
                    }
                    None => op.clone(),
                },
                _ => {
                    if touches(op) {
                        // The session row deleted, or every meta row cleared.
                        token = Some(None);
                    }
                    op.clone()
                }
            })
            .collect();
        (Cow::Owned(ops), token)
    }

    /// Keeps (or forgets) the token, after the database committed the row it goes with. Should
    /// the platform refuse, the row has no token: the next start asks the user to sign in
    /// again, and nothing else is lost.
    fn keep_token(&self, token: Option<&str>) {
        if let Some(secrets) = &self.secrets
            && let Err(e) = secrets.write(TOKEN_SECRET, token)
        {
            tracing::warn!(error = %e, "the session's token could not be kept");
        }
    }

    /// The loaded rows with the kept token back in the session row. A token still in the row
    /// (written before the platform's store was used) moves there now.
    fn with_kept_token(&self, conn: &mut Connection, mut rows: Vec<StoredRow>) -> Vec<StoredRow> {
        let Some(secrets) = &self.secrets else {
            return rows;
        };
        let Some(row) = rows
            .iter_mut()
            .find(|r| r.collection == Collection::Meta && r.key == SESSION_KEY)
        else {
            return rows;
        };
        let Some((bare, in_row)) = split_session_row(&row.value) else {
            return rows;
        };
        if let Some(token) = in_row {
            let moved = secrets.write(TOKEN_SECRET, Some(&token)).and_then(|()| {
                let op = StoreOp::Put {
                    collection: Collection::Meta,
                    key: SESSION_KEY.into(),
                    value: bare,
                };
                commit(conn, &[op]).map_err(|e| e.to_string())
            });
            if let Err(e) = moved {
                tracing::warn!(error = %e, "the session's token stays in the database for now");
            }
            return rows;
        }
        let kept = secrets.read(TOKEN_SECRET).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the session's token could not be read");
            None
        });
        if let Some(joined) = join_session_row(&row.value, kept) {
            row.value = joined;
        }
        rows
    }

    /// Runs `f` on the store's own connection. For tests only (to limit the file's size, to
    /// read per-connection settings); not part of the API.
    #[doc(hidden)]
    pub fn with_connection_for_tests<R>(&self, f: impl FnOnce(&Connection) -> R) -> R {
        f(&self.lock())
    }

    /// The connection, also after a thread panicked while holding it: the connection itself
    /// stays valid, and a transaction the panic left open is rolled back here.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        if !conn.is_autocommit()
            && let Err(e) = conn.execute_batch("ROLLBACK")
        {
            tracing::warn!(error = %e, "could not roll back a transaction left open");
        }
        conn
    }
}

/// Refuses, before SQLite sees it, a file that exists, is not empty, and does not start with
/// the SQLite header. (An empty file is a new database.)
fn check_header(path: &Path) -> Result<(), StoreOpenError> {
    let read_error = |source| StoreOpenError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(read_error(e)),
    };
    let mut header = Vec::with_capacity(SQLITE_HEADER.len());
    file.take(SQLITE_HEADER.len() as u64)
        .read_to_end(&mut header)
        .map_err(read_error)?;
    if header.is_empty() || header == SQLITE_HEADER {
        Ok(())
    } else {
        Err(StoreOpenError::NotADatabase {
            path: path.to_path_buf(),
        })
    }
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

fn check_version(path: &Path, found: i64) -> Result<(), StoreOpenError> {
    if (0..=i64::from(SCHEMA_VERSION)).contains(&found) {
        Ok(())
    } else {
        Err(StoreOpenError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        })
    }
}

/// Applies the migrations the file lacks, all in one transaction with the new version number:
/// a crash or a failure leaves the file at its old version, never half-migrated. The version is
/// read again under the write lock, in case another process migrated it meanwhile.
fn migrate(path: &Path, conn: &mut Connection) -> Result<(), StoreOpenError> {
    let sqlite = |source| StoreOpenError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite)?;
    let from = user_version(&tx).map_err(sqlite)?;
    check_version(path, from)?;
    let done = usize::try_from(from).unwrap_or(MIGRATIONS.len());
    let Some(pending) = MIGRATIONS.get(done..).filter(|p| !p.is_empty()) else {
        return Ok(()); // up to date; dropping `tx` ends the (empty) transaction
    };
    let migration_error = |source| StoreOpenError::Migration {
        path: path.to_path_buf(),
        from,
        to: SCHEMA_VERSION,
        source,
    };
    for sql in pending {
        tx.execute_batch(sql).map_err(migration_error)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(migration_error)?;
    tx.commit().map_err(migration_error)?;
    tracing::info!(path = %path.display(), from, to = SCHEMA_VERSION, "local database upgraded");
    Ok(())
}

fn load(conn: &Connection) -> rusqlite::Result<Vec<StoredRow>> {
    let mut stmt = conn.prepare_cached(SELECT_ALL)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    let mut unknown = 0usize;
    while let Some(row) = rows.next()? {
        let name: String = row.get(0)?;
        let Some(collection) = collection_from_name(&name) else {
            // Written by a newer version: not ours to read, and kept for that version.
            unknown += 1;
            continue;
        };
        out.push(StoredRow {
            collection,
            key: row.get(1)?,
            value: row.get(2)?,
        });
    }
    if unknown > 0 {
        tracing::warn!(
            unknown,
            "skipped rows of collections this version does not know"
        );
    }
    Ok(out)
}

/// Applies `ops` in order as one transaction; on any error the transaction is rolled back
/// (when `tx` is dropped) and nothing changed.
fn commit(conn: &mut Connection, ops: &[StoreOp]) -> rusqlite::Result<()> {
    if ops.is_empty() {
        return Ok(());
    }
    // IMMEDIATE: take the write lock now (waiting up to the busy timeout for another
    // connection) rather than failing half-way when a read lock cannot be upgraded.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for op in ops {
        match op {
            StoreOp::Put {
                collection,
                key,
                value,
            } => tx.prepare_cached(PUT)?.execute(params![
                collection_name(*collection),
                key,
                value
            ])?,
            StoreOp::Delete { collection, key } => tx
                .prepare_cached(DELETE)?
                .execute(params![collection_name(*collection), key])?,
            StoreOp::Clear { collection } => tx
                .prepare_cached(CLEAR)?
                .execute(params![collection_name(*collection)])?,
        };
    }
    tx.commit()
}

fn failed(doing: &str, error: &rusqlite::Error) -> StoreError {
    let kind = match error.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => StoreErrorKind::Full,
        _ => StoreErrorKind::Other,
    };
    StoreError {
        kind,
        message: format!("{doing}: {error}"),
    }
}
