//! The native `Upload` effect's own part: the local file. How it talks to the server — resuming
//! after cuts, 409, damaged chunks, an expired upload, a restarted server, and what each answer
//! means — is played against the real sync server by the conformance cases that every driver
//! shares (`tests/conformance`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use kvits_native::upload::{UploadOptions, upload_with};
use sha2::{Digest, Sha256};
use shared::effects::{UploadError, UploadErrorKind, UploadRequest, UploadUpdate};

/// A URL on which nothing listens: reaching the network would be a transient failure.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

fn request_for(path: &Path, data: &[u8], server_url: &str) -> UploadRequest {
    UploadRequest {
        server_url: server_url.to_owned(),
        token: "token".to_owned(),
        file_ref: path.to_string_lossy().into_owned(),
        sha256: hex::encode(Sha256::digest(data)),
        size: data.len() as u64,
        content_type: "image/jpeg".to_owned(),
    }
}

/// Runs an upload; answers its last update and every progress report.
async fn run(request: &UploadRequest) -> (UploadUpdate, Vec<(u64, u64)>) {
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    let mut progress = |sent: u64, total: u64| seen.push((sent, total));
    let last = upload_with(&client, request, &UploadOptions::default(), &mut progress).await;
    (last, seen)
}

fn failure(update: UploadUpdate) -> UploadError {
    match update {
        UploadUpdate::Failed(e) => e,
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// The local file is checked before anything is sent: gone is `FileMissing`, another size or
/// other bytes are `Refused` ("the photo file changed"); a good file goes to the network.
#[tokio::test]
async fn local_file_problems_fail_before_the_network() {
    let dir = tempfile::tempdir().expect("dir");
    let url = closed_port_url();
    let data = b"\xff\xd8 a photo's bytes \xff\xd9".repeat(5000);
    let path = dir.path().join("photo.jpg");
    std::fs::write(&path, &data).expect("write");
    let good = request_for(&path, &data, &url);

    let missing = UploadRequest {
        file_ref: dir.path().join("gone.jpg").to_string_lossy().into_owned(),
        ..good.clone()
    };
    let (last, seen) = run(&missing).await;
    assert_eq!(failure(last).kind, UploadErrorKind::FileMissing);
    assert!(seen.is_empty());

    let wrong_size = UploadRequest {
        size: good.size + 1,
        ..good.clone()
    };
    let e = failure(run(&wrong_size).await.0);
    assert_eq!(e.kind, UploadErrorKind::Refused);
    assert!(
        e.message.starts_with("the photo file changed"),
        "{}",
        e.message
    );

    // Same size, other bytes.
    let mut changed = data.clone();
    let middle = changed.len() / 2;
    changed[middle] ^= 1;
    let changed_path = dir.path().join("changed.jpg");
    std::fs::write(&changed_path, &changed).expect("write");
    let e = failure(
        run(&UploadRequest {
            file_ref: changed_path.to_string_lossy().into_owned(),
            ..good.clone()
        })
        .await
        .0,
    );
    assert_eq!(e.kind, UploadErrorKind::Refused);
    assert!(
        e.message.starts_with("the photo file changed"),
        "{}",
        e.message
    );

    // The file is fine: only now does the network fail.
    let e = failure(run(&good).await.0);
    assert_eq!(e.kind, UploadErrorKind::Transient);
    assert!(
        e.message.contains("could not reach the server"),
        "{}",
        e.message
    );
}
