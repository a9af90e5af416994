//! The local store (`kvits_native::store::LocalStore`) against the core's `Store` contract:
//! durable, all-or-nothing commits; schema upgrades from every earlier version; files it must
//! refuse are refused and left byte for byte as they were.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use kvits_native::store::{LocalStore, SCHEMA_VERSION, Secrets, StoreOpenError, TOKEN_SECRET};
use rusqlite::Connection;
use shared::effects::{
    Collection, StoreErrorKind, StoreOp, StoreRequest, StoreResponse, StoredRow,
};

/// Every migration file, in order, as released. Building a database "at version v" applies the
/// first v of them, exactly as that version of the app would have.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_rows.sql")];

const ALL: [Collection; 6] = [
    Collection::Meta,
    Collection::Outbox,
    Collection::Mirror,
    Collection::Photos,
    Collection::Notices,
    Collection::Captures,
];

fn put(collection: Collection, key: &str, value: &str) -> StoreOp {
    StoreOp::Put {
        collection,
        key: key.into(),
        value: value.into(),
    }
}

fn delete(collection: Collection, key: &str) -> StoreOp {
    StoreOp::Delete {
        collection,
        key: key.into(),
    }
}

fn commit(store: &LocalStore, ops: Vec<StoreOp>) -> StoreResponse {
    store.handle(&StoreRequest::Commit { ops })
}

fn committed(store: &LocalStore, ops: Vec<StoreOp>) {
    assert_eq!(commit(store, ops), StoreResponse::Committed);
}

/// The store's rows as a map, for comparisons that do not depend on order.
fn load(store: &LocalStore) -> BTreeMap<(Collection, String), String> {
    match store.handle(&StoreRequest::Load) {
        StoreResponse::Loaded { rows } => {
            let n = rows.len();
            let map: BTreeMap<_, _> = rows
                .into_iter()
                .map(
                    |StoredRow {
                         collection,
                         key,
                         value,
                     }| ((collection, key), value),
                )
                .collect();
            assert_eq!(map.len(), n, "a row was loaded twice");
            map
        }
        other => panic!("load failed: {other:?}"),
    }
}

fn rows(entries: &[(Collection, &str, &str)]) -> BTreeMap<(Collection, String), String> {
    entries
        .iter()
        .map(|(c, k, v)| ((*c, (*k).to_string()), (*v).to_string()))
        .collect()
}

fn user_version(path: &Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

#[test]
fn local_store_is_send_and_sync() {
    fn is<T: Send + Sync>() {}
    is::<LocalStore>();
}

/// Puts, deletes and clears apply in order inside a commit, and what was committed is there
/// after the store is dropped and the file opened again. The file is set up as promised: WAL,
/// `synchronous = FULL`, foreign keys on, current schema version, stable collection names.
#[test]
fn commits_apply_in_order_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    // A folder that does not exist yet: open creates it.
    let path = dir.path().join("app").join("data").join("kvits.sqlite");

    {
        let store = LocalStore::open(&path).unwrap();
        assert_eq!(load(&store), rows(&[]));
        let (synchronous, foreign_keys) = store.with_connection_for_tests(|c| {
            let s: i64 = c
                .pragma_query_value(None, "synchronous", |r| r.get(0))
                .unwrap();
            let f: i64 = c
                .pragma_query_value(None, "foreign_keys", |r| r.get(0))
                .unwrap();
            (s, f)
        });
        assert_eq!(synchronous, 2, "synchronous = FULL");
        assert_eq!(foreign_keys, 1);

        // One row in every collection, then a second commit that mixes every kind of op.
        committed(
            &store,
            ALL.iter()
                .map(|c| put(*c, "a", &format!("{{\"v\":\"{c:?}-a\"}}")))
                .chain([
                    put(Collection::Mirror, "b", "{}"),
                    put(Collection::Outbox, "b", "1"),
                ])
                .collect(),
        );
        committed(
            &store,
            vec![
                put(Collection::Outbox, "b", "2"), // replaces
                put(Collection::Outbox, "b", "3"), // the last put wins
                delete(Collection::Meta, "a"),
                delete(Collection::Meta, "never-there"), // not an error
                StoreOp::Clear {
                    collection: Collection::Mirror,
                },
                put(Collection::Mirror, "c", "after-clear"), // a put after a clear stays
                put(Collection::Notices, "n", "x"),
                delete(Collection::Notices, "n"), // a delete after a put wins
                put(Collection::Captures, "a", "{\"v\":\"new\"}"),
            ],
        );
        // An empty commit is a commit.
        committed(&store, vec![]);
    }

    let expected = rows(&[
        (Collection::Outbox, "a", "{\"v\":\"Outbox-a\"}"),
        (Collection::Outbox, "b", "3"),
        (Collection::Mirror, "c", "after-clear"),
        (Collection::Photos, "a", "{\"v\":\"Photos-a\"}"),
        (Collection::Notices, "a", "{\"v\":\"Notices-a\"}"),
        (Collection::Captures, "a", "{\"v\":\"new\"}"),
    ]);
    let store = LocalStore::open(&path).unwrap();
    assert_eq!(load(&store), expected);
    drop(store);

    // On disk: WAL mode, the current version, collections by their stable names.
    let raw = Connection::open(&path).unwrap();
    let mode: String = raw
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
    let names: Vec<String> = raw
        .prepare("SELECT DISTINCT collection FROM rows ORDER BY collection")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(names, ["captures", "mirror", "notices", "outbox", "photos"]);
    let meta = LocalStore::open(&dir.path().join("names.sqlite")).unwrap();
    committed(&meta, vec![put(Collection::Meta, "k", "v")]);
    let name: String = meta.with_connection_for_tests(|c| {
        c.query_row("SELECT collection FROM rows", [], |r| r.get(0))
            .unwrap()
    });
    assert_eq!(name, "meta");
}

/// A commit that runs out of space answers `Failed { kind: Full }` and changes nothing: not the
/// ops before the one that failed, not after a reopen. The store keeps working afterwards.
#[test]
fn a_commit_on_a_full_disk_fails_as_full_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kvits.sqlite");
    let store = LocalStore::open(&path).unwrap();
    committed(
        &store,
        vec![
            put(Collection::Meta, "device", "{\"id\":1}"),
            put(Collection::Outbox, "0001", "{\"seq\":1}"),
        ],
    );
    let before = load(&store);

    // The disk is "full": the file may not grow by a single page.
    store.with_connection_for_tests(|c| {
        let pages: i64 = c
            .pragma_query_value(None, "page_count", |r| r.get(0))
            .unwrap();
        let max: i64 = c
            .pragma_update_and_check(None, "max_page_count", pages, |r| r.get(0))
            .unwrap();
        assert_eq!(max, pages);
    });
    let big = "x".repeat(1 << 20);
    let ops = vec![
        delete(Collection::Meta, "device"),
        put(Collection::Outbox, "0002", "{\"seq\":2}"),
        put(Collection::Photos, "big", &big),
        put(Collection::Outbox, "0003", "{\"seq\":3}"),
    ];
    match commit(&store, ops.clone()) {
        StoreResponse::Failed(e) => {
            assert_eq!(e.kind, StoreErrorKind::Full, "{e:?}");
            assert!(e.message.contains("full"), "{}", e.message);
        }
        other => panic!("expected Failed(Full), got {other:?}"),
    }
    assert_eq!(load(&store), before, "the failed commit changed something");

    // Nothing of it reached the file either.
    drop(store);
    let store = LocalStore::open(&path).unwrap();
    assert_eq!(load(&store), before);

    // With room again, the same commit goes through.
    committed(&store, ops);
    let after = load(&store);
    assert!(!after.contains_key(&(Collection::Meta, "device".into())));
    assert_eq!(after[&(Collection::Photos, "big".into())].len(), big.len());
    assert_eq!(after.len(), 4);
}

/// Builds the database as the app at schema `version` left it, with rows when that version
/// had any. Version 0 has no rows: it is a file the app had not set up yet.
fn database_at(path: &Path, version: usize) {
    let conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    for sql in &MIGRATIONS[..version] {
        conn.execute_batch(sql).unwrap();
    }
    conn.pragma_update(None, "user_version", version as i64)
        .unwrap();
    if version >= 1 {
        // The rows table as migration 1 made it; a later migration that changes it must seed
        // its own version's shape here.
        for c in ["meta", "outbox", "mirror", "photos", "notices", "captures"] {
            conn.execute(
                "INSERT INTO rows (collection, key, value) VALUES (?1, 'old', ?2)",
                [c, &format!("{{\"from\":{version}}}")],
            )
            .unwrap();
        }
    }
}

/// Opening a database of every earlier schema version brings it to the current one and keeps
/// its rows. Version 0 comes in three shapes: no file at all, an empty file, and an SQLite file
/// that was created but never migrated (the app killed during its first start).
#[test]
fn every_earlier_schema_version_is_upgraded_with_its_rows() {
    assert_eq!(
        MIGRATIONS.len(),
        SCHEMA_VERSION as usize,
        "a migration was added: list it in this test too"
    );
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("missing.sqlite");
    let empty = dir.path().join("empty.sqlite");
    fs::write(&empty, b"").unwrap();
    let unmigrated = dir.path().join("unmigrated.sqlite");
    Connection::open(&unmigrated)
        .unwrap()
        .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x); DROP TABLE t;")
        .unwrap();
    assert!(fs::metadata(&unmigrated).unwrap().len() > 0);
    for path in [&missing, &empty, &unmigrated] {
        let store = LocalStore::open(path).unwrap();
        assert_eq!(load(&store), rows(&[]), "{}", path.display());
        drop(store);
        assert_eq!(user_version(path), i64::from(SCHEMA_VERSION));
    }

    for version in 1..SCHEMA_VERSION as usize {
        let path = dir.path().join(format!("v{version}.sqlite"));
        database_at(&path, version);
        assert_eq!(user_version(&path), version as i64);
        let store = LocalStore::open(&path).unwrap();
        let loaded = load(&store);
        let old = format!("{{\"from\":{version}}}");
        for c in ALL {
            assert_eq!(
                loaded.get(&(c, "old".to_string())),
                Some(&old),
                "v{version} {c:?}"
            );
        }
        drop(store);
        assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
    }

    // And the current version opens as it is, rows included.
    let path = dir.path().join("current.sqlite");
    database_at(&path, SCHEMA_VERSION as usize);
    let store = LocalStore::open(&path).unwrap();
    assert_eq!(load(&store).len(), ALL.len());
}

/// A database from a newer version of the app is refused with `NewerSchema` and left exactly
/// as it was — not even its journal mode is switched — and its rows are all still there.
#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    for (name, journal_mode, version) in [
        ("newer-wal.sqlite", "WAL", i64::from(SCHEMA_VERSION) + 1),
        ("newer-delete.sqlite", "DELETE", 1000),
        ("negative.sqlite", "DELETE", -1),
    ] {
        let path = dir.path().join(name);
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", journal_mode)
                .unwrap();
            for sql in MIGRATIONS {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch(
                "CREATE TABLE newer_things (x);
                 INSERT INTO rows VALUES ('outbox', '0001', '{\"unsent\":true}');",
            )
            .unwrap();
            conn.pragma_update(None, "user_version", version).unwrap();
        }
        let bytes = fs::read(&path).unwrap();

        let err = LocalStore::open(&path).unwrap_err();
        match &err {
            StoreOpenError::NewerSchema {
                found, supported, ..
            } => {
                assert_eq!(*found, version);
                assert_eq!(*supported, SCHEMA_VERSION);
            }
            other => panic!("expected NewerSchema, got {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("newer") && message.contains("untouched"),
            "{message}"
        );
        assert!(!err.is_disk_full());

        // (not assert_eq: a failure would print every byte)
        assert!(
            fs::read(&path).unwrap() == bytes,
            "{name}: the file was changed"
        );
        let conn = Connection::open(&path).unwrap();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, journal_mode.to_lowercase());
        let unsent: String = conn
            .query_row("SELECT value FROM rows WHERE key = '0001'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(unsent, "{\"unsent\":true}");
        assert_eq!(user_version(&path), version);
    }
}

/// Files that are not SQLite databases are refused with a clear error, never a panic, and are
/// neither deleted nor written.
#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let mut corrupt_page = b"SQLite format 3\0".to_vec();
    corrupt_page.extend(std::iter::repeat_n(0xA5_u8, 8192));
    let cases: [(&str, Vec<u8>); 5] = [
        ("text", b"these are my notes, not a database\n".repeat(100)),
        ("json", br#"{"receipts":[{"id":1}]}"#.to_vec()),
        ("short", b"SQL".to_vec()),
        ("zeros", vec![0; 4096]),
        ("header-then-garbage", corrupt_page),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        fs::write(&path, &bytes).unwrap();
        let err = LocalStore::open(&path).unwrap_err();
        if name == "header-then-garbage" {
            // SQLite itself reads it and says so; either way it is an error, not a new file.
            assert!(
                matches!(
                    err,
                    StoreOpenError::NotADatabase { .. } | StoreOpenError::Sqlite { .. }
                ),
                "{name}: {err:?}"
            );
        } else {
            assert!(
                matches!(err, StoreOpenError::NotADatabase { .. }),
                "{name}: {err:?}"
            );
            assert!(err.to_string().contains("not an SQLite database"), "{err}");
        }
        // (not assert_eq: a failure would print every byte)
        assert!(
            fs::read(&path).unwrap() == bytes,
            "{name}: the file was changed"
        );
    }
    // Nothing else was left next to them (no -wal/-shm/-journal files, no replacement).
    let mut names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["header-then-garbage", "json", "short", "text", "zeros"]
    );
}

/// A row whose collection this version does not know (a newer version wrote it) is skipped on
/// load without failing it, and is kept: clears of known collections do not touch it.
#[test]
fn rows_of_unknown_collections_are_skipped_on_load_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kvits.sqlite");
    let store = LocalStore::open(&path).unwrap();
    committed(
        &store,
        vec![
            put(Collection::Meta, "device", "{}"),
            put(Collection::Outbox, "1", "{}"),
        ],
    );
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "INSERT INTO rows VALUES ('ledger', 'x', '{\"future\":true}');
             INSERT INTO rows VALUES ('Meta', 'device', '{}');
             INSERT INTO rows VALUES ('', '', '');",
        )
        .unwrap();

    assert_eq!(
        load(&store),
        rows(&[
            (Collection::Meta, "device", "{}"),
            (Collection::Outbox, "1", "{}")
        ])
    );
    committed(
        &store,
        ALL.iter()
            .map(|c| StoreOp::Clear { collection: *c })
            .collect(),
    );
    assert_eq!(load(&store), rows(&[]));
    let left: i64 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM rows", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 3, "rows of unknown collections were removed");
}

/// Many commits from several threads, through two stores on the same file (as an app and its
/// extension would), all land, and a reader never sees half of a commit.
#[test]
fn concurrent_commits_from_several_threads_stay_consistent() {
    const WRITERS: usize = 4;
    const COMMITS: usize = 25;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kvits.sqlite");
    let stores = [
        Arc::new(LocalStore::open(&path).unwrap()),
        Arc::new(LocalStore::open(&path).unwrap()),
    ];

    let writers: Vec<_> = (0..WRITERS)
        .map(|t| {
            let store = Arc::clone(&stores[t % 2]);
            thread::spawn(move || {
                for i in 0..COMMITS {
                    let stamp = format!("{t}-{i}");
                    committed(
                        &store,
                        vec![
                            put(Collection::Outbox, &format!("{t}-{i:03}"), &stamp),
                            put(Collection::Meta, &format!("last-{t}"), &i.to_string()),
                            put(Collection::Mirror, "pair-a", &stamp),
                            put(Collection::Mirror, "pair-b", &stamp),
                        ],
                    );
                }
            })
        })
        .collect();
    let reader = {
        let store = Arc::clone(&stores[1]);
        thread::spawn(move || {
            let mut loads = 0;
            loop {
                let rows = load(&store);
                let get = |c, k: &str| rows.get(&(c, k.to_string())).cloned();
                assert_eq!(
                    get(Collection::Mirror, "pair-a"),
                    get(Collection::Mirror, "pair-b")
                );
                for t in 0..WRITERS {
                    // Every commit of writer t so far, and no more: `last-t` agrees with its
                    // outbox rows.
                    let outbox = rows
                        .keys()
                        .filter(|(c, k)| {
                            *c == Collection::Outbox && k.starts_with(&format!("{t}-"))
                        })
                        .count();
                    let last = get(Collection::Meta, &format!("last-{t}"))
                        .map_or(0, |v| v.parse::<usize>().unwrap() + 1);
                    assert_eq!(outbox, last, "writer {t}");
                }
                loads += 1;
                let done = (0..WRITERS).all(|t| {
                    get(Collection::Meta, &format!("last-{t}")) == Some((COMMITS - 1).to_string())
                });
                if done {
                    return loads;
                }
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    let loads = reader.join().unwrap();
    assert!(loads > 0);

    drop(stores);
    let store = LocalStore::open(&path).unwrap();
    let rows = load(&store);
    let outbox = rows
        .keys()
        .filter(|(c, _)| *c == Collection::Outbox)
        .count();
    assert_eq!(outbox, WRITERS * COMMITS);
    assert_eq!(rows.len(), WRITERS * COMMITS + WRITERS + 2);
}

/// A thread that panicked while holding the store (here: in the middle of a transaction) does
/// not break it: the lock is recovered, the half-done transaction rolled back.
#[test]
fn a_panic_while_holding_the_store_does_not_break_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalStore::open(&dir.path().join("kvits.sqlite")).unwrap());
    committed(&store, vec![put(Collection::Meta, "kept", "1")]);
    let panicked = {
        let store = Arc::clone(&store);
        thread::spawn(move || {
            store.with_connection_for_tests(|c| {
                c.execute_batch(
                    "BEGIN IMMEDIATE; INSERT INTO rows VALUES ('meta', 'ghost', '{}');",
                )
                .unwrap();
                panic!("the thread dies holding the store");
            })
        })
        .join()
    };
    assert!(panicked.is_err());

    assert_eq!(load(&store), rows(&[(Collection::Meta, "kept", "1")]));
    committed(&store, vec![put(Collection::Meta, "after", "2")]);
    assert_eq!(
        load(&store),
        rows(&[
            (Collection::Meta, "kept", "1"),
            (Collection::Meta, "after", "2")
        ])
    );
}

/// Not a benchmark, a guard and a figure for the report: a commit of ten small ops (one
/// transaction, one fsync) and a load of a few thousand rows.
#[test]
fn commits_of_ten_small_ops_are_quick() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(&dir.path().join("kvits.sqlite")).unwrap();
    const ROUNDS: usize = 200;
    let started = Instant::now();
    for round in 0..ROUNDS {
        committed(
            &store,
            (0..10)
                .map(|i| {
                    put(
                        ALL[i % ALL.len()],
                        &format!("{round:04}-{i}"),
                        "{\"id\":\"0190f0a0-0000-7000-8000-000000000000\",\"amount\":1234}",
                    )
                })
                .collect(),
        );
    }
    let per_commit = started.elapsed() / ROUNDS as u32;
    let started = Instant::now();
    assert_eq!(load(&store).len(), ROUNDS * 10);
    let load_time = started.elapsed();
    eprintln!(
        "commit of 10 ops: {per_commit:?} each; load of {} rows: {load_time:?}",
        ROUNDS * 10
    );
    assert!(per_commit.as_millis() < 250, "{per_commit:?} per commit");
}

/// The platform's secret store, as a map (the Keychain and the Keystore cannot run here); it
/// can be told to refuse, as a locked Keychain does.
#[derive(Debug, Default)]
struct Keychain {
    kept: std::sync::Mutex<BTreeMap<String, String>>,
    refuses: std::sync::atomic::AtomicBool,
}

impl Secrets for Keychain {
    fn read(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self.kept.lock().unwrap().get(name).cloned())
    }
    fn write(&self, name: &str, value: Option<&str>) -> Result<(), String> {
        if self.refuses.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("the keychain is locked".into());
        }
        let mut kept = self.kept.lock().unwrap();
        match value {
            Some(v) => kept.insert(name.into(), v.into()),
            None => kept.remove(name),
        };
        Ok(())
    }
}

const TOKEN: &str = "kvt_0123456789abcdef-secret";

/// A session row as the core writes it, with `token`.
fn session_row(token: Option<&str>) -> String {
    serde_json::json!({
        "token": token,
        "session": {
            "user": { "id": uuid::Uuid::nil(), "name": "Emma", "email": "emma@demo.kvits" },
            "firm": { "id": uuid::Uuid::nil(), "name": "Demo" },
            "memberships": [],
        },
        "company_id": null,
    })
    .to_string()
}

/// Commits the session row as the core writes it.
fn save_session(store: &LocalStore, token: Option<&str>) {
    let key = shared::model::local::SESSION_KEY;
    committed(store, vec![put(Collection::Meta, key, &session_row(token))]);
}

/// Every byte the database holds on disk, its journal included.
fn file_bytes(path: &Path) -> Vec<u8> {
    let mut all = fs::read(path).unwrap();
    for suffix in ["-wal", "-journal"] {
        if let Ok(more) = fs::read(format!("{}{suffix}", path.display())) {
            all.extend(more);
        }
    }
    all
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn the_session_token_is_kept_by_the_platform_not_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kvits.sqlite");
    let keychain = Arc::new(Keychain::default());
    let session_key = shared::model::local::SESSION_KEY;
    {
        let store = LocalStore::open(&path)
            .unwrap()
            .with_secrets(keychain.clone());
        save_session(&store, Some(TOKEN));
        assert_eq!(keychain.read(TOKEN_SECRET).unwrap().as_deref(), Some(TOKEN));
        // Loading gives the core its session whole.
        let loaded = load(&store);
        let row = &loaded[&(Collection::Meta, session_key.to_string())];
        assert!(row.contains(TOKEN), "{row}");
    }
    assert!(
        !holds(&file_bytes(&path), TOKEN),
        "the token reached the database file"
    );
    assert!(
        holds(&file_bytes(&path), "emma@demo.kvits"),
        "the rest of the row is there"
    );

    // After a restart, too.
    let store = LocalStore::open(&path)
        .unwrap()
        .with_secrets(keychain.clone());
    let loaded = load(&store);
    assert!(loaded[&(Collection::Meta, session_key.to_string())].contains(TOKEN));

    // Signing out forgets it.
    committed(&store, vec![delete(Collection::Meta, session_key)]);
    assert_eq!(keychain.read(TOKEN_SECRET).unwrap(), None);
}

#[test]
fn a_token_left_in_the_file_by_an_older_version_moves_to_the_platform() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kvits.sqlite");
    let session_key = shared::model::local::SESSION_KEY;
    {
        let old = LocalStore::open(&path).unwrap();
        save_session(&old, Some(TOKEN));
    }
    assert!(holds(&file_bytes(&path), TOKEN));
    let keychain = Arc::new(Keychain::default());
    let store = LocalStore::open(&path)
        .unwrap()
        .with_secrets(keychain.clone());
    let loaded = load(&store);
    assert!(loaded[&(Collection::Meta, session_key.to_string())].contains(TOKEN));
    assert_eq!(keychain.read(TOKEN_SECRET).unwrap().as_deref(), Some(TOKEN));
    drop(store);
    // The row was rewritten without it; SQLite may keep the old page's bytes until the space
    // is reused, so the row itself is what is checked.
    let conn = Connection::open(&path).unwrap();
    let row: String = conn
        .query_row(
            "SELECT value FROM rows WHERE collection = 'meta' AND key = ?1",
            [session_key],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!row.contains(TOKEN), "{row}");
}

#[test]
fn a_platform_that_refuses_the_token_costs_a_sign_in_not_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kvits.sqlite");
    let keychain = Arc::new(Keychain::default());
    keychain
        .refuses
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let session_key = shared::model::local::SESSION_KEY;
    let store = LocalStore::open(&path)
        .unwrap()
        .with_secrets(keychain.clone());
    save_session(&store, Some(TOKEN));
    assert!(!holds(&file_bytes(&path), TOKEN));
    let loaded = load(&store);
    let row = &loaded[&(Collection::Meta, session_key.to_string())];
    assert!(
        !row.contains(TOKEN) && row.contains("emma@demo.kvits"),
        "{row}"
    );
}
