//! SQLite, the embedded default: one writer connection (SQLite serialises writers anyway) and
//! a few readers, in WAL mode so reads never wait for writes. Work runs on tokio's blocking
//! pool so request tasks never block.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::ApiResult;

/// Forward-only migrations, applied in order; `PRAGMA user_version` records how many ran.
/// Never edit a landed one: add the next number.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("migrations/0001_init.sql")),
    ("0002_uploads", include_str!("migrations/0002_uploads.sql")),
    (
        "0003_rows_by_kind",
        include_str!("migrations/0003_rows_by_kind.sql"),
    ),
    (
        "0004_blob_owners",
        include_str!("migrations/0004_blob_owners.sql"),
    ),
    (
        "0005_firm_staff",
        include_str!("migrations/0005_firm_staff.sql"),
    ),
    (
        "0006_expense_status",
        include_str!("migrations/0006_expense_status.sql"),
    ),
    (
        "0007_client_scope",
        include_str!("migrations/0007_client_scope.sql"),
    ),
    ("0008_export", include_str!("migrations/0008_export.sql")),
    (
        "0009_statements",
        include_str!("migrations/0009_statements.sql"),
    ),
    (
        "0010_sessions",
        include_str!("migrations/0010_sessions.sql"),
    ),
    ("0011_storage", include_str!("migrations/0011_storage.sql")),
    (
        "0012_cursor_key",
        include_str!("migrations/0012_cursor_key.sql"),
    ),
    (
        "0013_invitations",
        include_str!("migrations/0013_invitations.sql"),
    ),
];

/// The database handle shared by all requests.
#[derive(Clone, Debug)]
pub struct Db {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

const READERS: usize = 4;

/// How long a statement waits for another writer's lock before the request is answered 503
/// (transient: the client tries again later).
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// When a commit reaches the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// Every commit is synced to the disk before it is acknowledged (`synchronous=FULL`): a
    /// push the server answered survives a power loss. The server's setting.
    #[default]
    Full,
    /// Commits are synced at WAL checkpoints only (`synchronous=NORMAL`): a power loss may
    /// roll back the last acknowledged pushes. Only to measure what `Full` costs
    /// (`cargo xtask bench sync`).
    Normal,
}

impl Durability {
    fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }
}

fn open_connection(
    path: &Path,
    busy_timeout: Duration,
    durability: Durability,
) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(busy_timeout)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", durability.pragma())?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Locks a connection. One whose last user panicked is taken back rather than refused: a
/// transaction the panic left open is rolled back, so one failed request cannot make every
/// later one fail.
fn take(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    connection.lock().unwrap_or_else(|poisoned| {
        connection.clear_poison();
        let conn = poisoned.into_inner();
        if !conn.is_autocommit()
            && let Err(e) = conn.execute_batch("ROLLBACK")
        {
            tracing::error!("rolling back after a panic: {e}");
        }
        conn
    })
}

impl Db {
    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    pub fn open(path: &Path) -> anyhow::Result<Db> {
        Self::open_with(path, DEFAULT_BUSY_TIMEOUT, Durability::Full)
    }

    /// Like [`Db::open`], waiting at most `busy_timeout` for a lock another connection holds.
    pub fn open_with(
        path: &Path,
        busy_timeout: Duration,
        durability: Durability,
    ) -> anyhow::Result<Db> {
        let mut writer = open_connection(path, busy_timeout, durability)?;
        migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| open_connection(path, busy_timeout, durability).map(Mutex::new))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Db {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
            }),
        })
    }

    /// Where the database lives.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` with the writer connection on the blocking pool.
    pub async fn write<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&mut Connection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&mut take(&inner.writer))).await?
    }

    /// Runs `f` in one write transaction on the blocking pool: committed when `f` succeeds,
    /// rolled back when it fails.
    pub async fn transact<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&rusqlite::Transaction<'_>) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.write(move |c| {
            let tx = c.transaction()?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    /// Runs `f` with a reader connection on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&mut Connection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let i = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            f(&mut take(&inner.readers[i]))
        })
        .await?
    }

    /// Runs `f` with the writer connection on the current thread (CLI and seeding).
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> ApiResult<T>,
    ) -> ApiResult<T> {
        f(&mut take(&self.inner.writer))
    }
}

/// Applies every migration newer than the database, each in its own transaction.
pub fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let current = usize::try_from(current)?;
    if current > MIGRATIONS.len() {
        anyhow::bail!(
            "the database is at schema version {current}, newer than this server ({}); \
             run a newer server",
            MIGRATIONS.len()
        );
    }
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .map_err(|e| anyhow::anyhow!("migration {name} failed: {e}"))?;
        tx.pragma_update(None, "user_version", i64::try_from(i + 1)?)?;
        tx.commit()?;
        tracing::info!(migration = name, "applied");
    }
    Ok(())
}

/// The number of migrations this server knows.
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(c: &Connection) -> i64 {
        c.pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("user_version")
    }

    #[test]
    fn every_earlier_schema_upgrades_and_keeps_its_rows() {
        for start in 0..MIGRATIONS.len() {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("db.sqlite3");
            {
                let mut c =
                    open_connection(&path, DEFAULT_BUSY_TIMEOUT, Durability::Full).expect("open");
                for (i, (_, sql)) in MIGRATIONS.iter().enumerate().take(start) {
                    c.execute_batch(sql).expect("old migration");
                    c.pragma_update(None, "user_version", i as i64 + 1)
                        .expect("set version");
                }
                if start >= 1 {
                    c.execute(
                        "INSERT INTO firms (id, name, created_at) VALUES ('f', 'Old Firm', 'then')",
                        [],
                    )
                    .expect("row in the old schema");
                }
                migrate(&mut c).expect("upgrade");
                assert_eq!(version(&c) as usize, MIGRATIONS.len());
            }
            // Opening again changes nothing, and old rows survived.
            let db = Db::open(&path).expect("reopen");
            let names: i64 = db
                .write_blocking(
                    |c| Ok(c.query_row("SELECT count(*) FROM firms", [], |r| r.get(0))?),
                )
                .expect("count");
            assert_eq!(names, i64::from(start >= 1), "from schema {start}");
        }
    }

    /// An invitation made before 0013 (its account already made, without a password) is
    /// carried over: open, for the same e-mail and firm, granting only the password.
    #[test]
    fn an_older_invitation_survives_the_move_to_pending_invitations() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db.sqlite3");
        let mut c = open_connection(&path, DEFAULT_BUSY_TIMEOUT, Durability::Full).expect("open");
        let before = MIGRATIONS
            .iter()
            .position(|(name, _)| *name == "0013_invitations")
            .expect("the migration");
        for (_, sql) in &MIGRATIONS[..before] {
            c.execute_batch(sql).expect("old migration");
        }
        c.pragma_update(None, "user_version", before as i64)
            .expect("set version");
        c.execute_batch(
            "INSERT INTO firms (id, name, created_at) VALUES ('f', 'Old Firm', 't');
             INSERT INTO users (id, firm_id, email, name, password_hash, created_at)
                 VALUES ('admin', 'f', 'ada@old.test', 'Ada', 'hash', 't'),
                        ('new', 'f', 'ned@old.test', 'Ned', NULL, 't0');
             INSERT INTO invitations (token_hash, user_id, created_by, expires_at, used_at)
                 VALUES ('open', 'new', 'admin', '2999-01-01T00:00:00Z', NULL),
                        ('used', 'new', 'admin', '2000-01-01T00:00:00Z', 'then');",
        )
        .expect("rows of the old schema");
        migrate(&mut c).expect("upgrade");
        let mut stmt = c
            .prepare(
                "SELECT token_hash, id, firm_id, email, name, coalesce(company_id, '-'), roles,
                        coalesce(staff_role, '-'), assigned, created_by, expires_at,
                        coalesce(used_at, '-')
                 FROM invitations ORDER BY token_hash",
            )
            .expect("query");
        let rows: Vec<Vec<String>> = stmt
            .query_map([], |r| (0..12).map(|i| r.get::<_, String>(i)).collect())
            .expect("rows")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        let ids: Vec<uuid::Uuid> = rows
            .iter()
            .map(|row| uuid::Uuid::parse_str(&row[1]).expect("a UUID id"))
            .collect();
        assert!(ids.len() == 2 && ids[0] != ids[1], "{ids:?}");
        let without_id = |row: &[String]| {
            let mut row = row.to_vec();
            row.remove(1);
            row
        };
        assert_eq!(
            without_id(&rows[0]),
            [
                "open",
                "f",
                "ned@old.test",
                "Ned",
                "-",
                "[]",
                "-",
                "[]",
                "admin",
                "2999-01-01T00:00:00Z",
                "-"
            ]
        );
        assert_eq!(rows[1][0], "used");
        assert_eq!(rows[1][11], "then");
    }

    #[test]
    fn a_database_from_a_newer_server_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db.sqlite3");
        let c = open_connection(&path, DEFAULT_BUSY_TIMEOUT, Durability::Full).expect("open");
        c.pragma_update(None, "user_version", MIGRATIONS.len() as i64 + 1)
            .expect("set version");
        drop(c);
        let err = Db::open(&path).expect_err("refused");
        assert!(err.to_string().contains("newer than this server"), "{err}");
    }

    /// A request whose work panics inside a transaction answers an error; the transaction is
    /// rolled back and the next request writes as usual (the connection is not left poisoned).
    #[tokio::test]
    async fn a_panic_in_a_write_leaves_the_database_usable() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(&dir.path().join("db.sqlite3")).expect("open");
        db.write(|c| Ok(c.execute_batch("CREATE TABLE t (x INTEGER)")?))
            .await
            .expect("table");
        let failed = db
            .write(|c| -> ApiResult<()> {
                c.execute_batch("BEGIN; INSERT INTO t VALUES (1);")?;
                panic!("a bug in a handler");
            })
            .await;
        assert!(failed.is_err(), "the panicking request answers an error");
        db.write(|c| Ok(c.execute_batch("INSERT INTO t VALUES (2)")?))
            .await
            .expect("the next write works");
        let rows: Vec<i64> = db
            .read(|c| {
                let mut stmt = c.prepare("SELECT x FROM t ORDER BY x")?;
                let rows = stmt
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<i64>>>()?;
                Ok(rows)
            })
            .await
            .expect("read");
        assert_eq!(rows, [2], "the panicked transaction was rolled back");
        // The same on the CLI's path.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = db.write_blocking(|c| -> ApiResult<()> {
                c.execute_batch("BEGIN; INSERT INTO t VALUES (3);")?;
                panic!("a bug in a command");
            });
        }));
        assert!(caught.is_err());
        db.write_blocking(|c| Ok(c.execute_batch("INSERT INTO t VALUES (4)")?))
            .expect("writes after the panic");
    }

    #[test]
    fn the_database_runs_in_wal_mode() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(&dir.path().join("db.sqlite3")).expect("open");
        let mode: String = db
            .write_blocking(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
            .expect("mode");
        assert_eq!(mode, "wal");
    }

    /// An acknowledged commit is on the disk: every connection syncs each commit (FULL is 2).
    #[tokio::test]
    async fn every_commit_is_synced_before_it_is_acknowledged() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(&dir.path().join("db.sqlite3")).expect("open");
        let level = |c: &mut Connection| -> ApiResult<i64> {
            Ok(c.pragma_query_value(None, "synchronous", |r| r.get(0))?)
        };
        assert_eq!(db.write_blocking(level).expect("writer"), 2);
        for _ in 0..READERS {
            assert_eq!(db.read(level).await.expect("reader"), 2);
        }
    }
}
