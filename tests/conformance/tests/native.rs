//! Every conformance case through the native runtime's upload driver (`kvits_native::upload`),
//! against the real sync server. The web shell's driver plays the same cases
//! (`web-shell/tests/conformance/`).

use kvits_conformance::{Harness, Report, cases};
use kvits_native::upload::{UploadOptions, upload_with};
use shared::effects::{UploadRequest, UploadUpdate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_through_the_native_driver() -> anyhow::Result<()> {
    let mut harness = Harness::start().await?;
    let dir = tempfile::tempdir()?;
    let client = reqwest::Client::new();
    let mut played = 0;
    for case in cases() {
        let plan = harness.begin(&case.name)?;
        let file = dir.path().join(format!("{}.jpg", plan.sha256));
        std::fs::write(&file, harness.photo()?)?;
        let request = UploadRequest {
            server_url: plan.server_url.clone(),
            token: plan.token.clone(),
            file_ref: file.to_string_lossy().into_owned(),
            sha256: plan.sha256.clone(),
            size: plan.size,
            content_type: "image/jpeg".to_owned(),
        };
        for (n, run) in plan.runs.iter().enumerate() {
            harness.arm(n)?;
            let options = UploadOptions {
                chunk_size: usize::try_from(plan.chunk_size)?,
                max_chunks: run.max_chunks.map(usize::try_from).transpose()?,
                ..UploadOptions::default()
            };
            let mut progress = Vec::new();
            let update = upload_with(&client, &request, &options, &mut |sent, total| {
                progress.push((sent, total))
            })
            .await;
            let report = match update {
                UploadUpdate::Done => Report {
                    outcome: "Done".into(),
                    error_kind: None,
                    message: String::new(),
                    progress,
                },
                UploadUpdate::Failed(e) => Report {
                    outcome: "Failed".into(),
                    error_kind: Some(format!("{:?}", e.kind)),
                    message: e.message,
                    progress,
                },
                other => anyhow::bail!("the driver ended with {other:?}"),
            };
            harness.finish_run(n, &report).await?;
        }
        harness.end().await?;
        played += 1;
    }
    assert_eq!(played, cases().len());
    harness.stop().await
}
