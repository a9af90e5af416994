//! `kvits-server backup` while the server runs, and `kvits-server restore` into a new
//! directory: the restored server has every row and photo of the moment of the backup and
//! nothing after it; a damaged backup, a non-empty target or an existing backup file is
//! refused with a clear message and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{BIRCH, Device, TestServer, birch_meal, submitted_receipt};
use kvits_protocol::{ChangeOp, Entity, ExpenseId};

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kvits-server"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A submitted receipt of Emma's with photo `photo`; answers its id and the photo's hash.
async fn receipt(srv: &TestServer, emma: &mut Device, photo: usize) -> (ExpenseId, String) {
    let fields = birch_meal(1_250, "Lido", 20);
    submitted_receipt(srv, emma, BIRCH, fields, photo).await
}

async fn expenses(d: &mut Device) -> Vec<ExpenseId> {
    d.cursor = 0;
    d.pull_all()
        .await
        .into_iter()
        .filter_map(|c| match c.op {
            ChangeOp::Upsert { entity } => match *entity {
                Entity::Expense(e) => Some(e.id),
                _ => None,
            },
            ChangeOp::Delete { .. } => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_that_moment() {
    let srv = TestServer::start().await;
    let mut emma = srv.device("emma@demo.kvits").await;
    let (kept, kept_photo) = receipt(&srv, &mut emma, 0).await;
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("kvits-backup.zip");

    let (ok, stdout, stderr) = run(&["backup", "--data-dir", path(&srv.dir), "--out", path(&file)]);
    assert!(ok, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(summary["files"].as_u64().unwrap() >= 3, "{summary}");
    assert_eq!(
        summary["schema_version"].as_i64().unwrap(),
        kvits_sync_server::db::schema_version() as i64
    );
    // After the backup: not in it.
    let (later, _) = receipt(&srv, &mut emma, 1).await;

    // A backup never overwrites a file.
    let (ok, _, stderr) = run(&["backup", "--data-dir", path(&srv.dir), "--out", path(&file)]);
    assert!(!ok);
    assert!(stderr.contains("exists already"), "{stderr}");

    let restored = out.path().join("restored");
    let (ok, stdout, stderr) = run(&[
        "restore",
        "--data-dir",
        path(&restored),
        "--from",
        path(&file),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("\"files\""), "{stdout}");
    drop(srv);

    let again = TestServer::open_dir(restored.clone()).await;
    let mut emma = again.device("emma@demo.kvits").await;
    let ids = expenses(&mut emma).await;
    assert!(ids.contains(&kept), "the receipt sent before the backup");
    assert!(!ids.contains(&later), "the one sent after it");
    let photo = emma.get(&format!("/v1/blobs/{kept_photo}")).await;
    assert_eq!(photo.status(), 200);
    assert_eq!(photo.bytes().await.unwrap().to_vec(), common::receipt(0));

    // Into a directory that holds something: refused, and it is left as it was.
    let (ok, _, stderr) = run(&[
        "restore",
        "--data-dir",
        path(&restored),
        "--from",
        path(&file),
    ]);
    assert!(!ok);
    assert!(stderr.contains("not empty"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_or_foreign_backup_restores_nothing() {
    let srv = TestServer::start().await;
    let mut emma = srv.device("emma@demo.kvits").await;
    receipt(&srv, &mut emma, 2).await;
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("backup.zip");
    let (ok, _, stderr) = run(&["backup", "--data-dir", path(&srv.dir), "--out", path(&file)]);
    assert!(ok, "{stderr}");

    // One byte changed inside the stored database.
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes
        .windows(16)
        .position(|w| w == b"SQLite format 3\0")
        .expect("the database in the backup");
    bytes[at + 4096 + 100] ^= 0x55;
    let damaged = out.path().join("damaged.zip");
    std::fs::write(&damaged, &bytes).unwrap();
    let target = out.path().join("from-damaged");
    let (ok, _, stderr) = run(&[
        "restore",
        "--data-dir",
        path(&target),
        "--from",
        path(&damaged),
    ]);
    assert!(!ok);
    assert!(stderr.contains("damaged"), "{stderr}");
    assert!(!target.exists(), "nothing restored");

    // Cut short, and not a backup at all.
    let cut = out.path().join("cut.zip");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let text = out.path().join("notes.txt");
    std::fs::write(&text, "not a backup").unwrap();
    for bad in [&cut, &text] {
        let (ok, _, stderr) = run(&["restore", "--data-dir", path(&target), "--from", path(bad)]);
        assert!(!ok, "{}", bad.display());
        assert!(stderr.contains("not a Kvits backup"), "{stderr}");
        assert!(!target.exists());
    }
    // Nothing to back up.
    let empty = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = run(&[
        "backup",
        "--data-dir",
        path(empty.path()),
        "--out",
        path(&out.path().join("none.zip")),
    ]);
    assert!(!ok);
    assert!(stderr.contains("no Kvits database"), "{stderr}");
}
