//! `cargo xtask compress`: one JSON line for a good photo; for bad input a non-zero exit, the
//! error on stderr, and no output file.

use std::ffi::OsStr;
use std::process::{Command, Output};

/// Runs `xtask compress` with these arguments.
fn compress<I: AsRef<OsStr>>(args: impl IntoIterator<Item = I>) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("compress")
        .args(args)
        .output()
        .expect("runs xtask")
}

fn fixture() -> std::path::PathBuf {
    kvits_testkit::receipts("scans")[0].path.clone()
}

#[test]
fn prints_one_json_line_and_writes_the_receipt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("receipt.jpg");
    let run = compress([fixture().as_os_str(), out.as_os_str()]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8(run.stdout).expect("utf-8");
    assert_eq!(stdout.lines().count(), 1);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    let written = std::fs::read(&out).expect("output written");
    assert_eq!(json["bytes"], written.len());
    assert_eq!(json["sha256"].as_str().map(str::len), Some(64));
    assert_eq!(json["source_orientation"], 1);
    assert!(json["width"].as_u64().is_some_and(|w| w > 0));
    assert!(json["height"].as_u64().is_some_and(|h| h > 0));
    assert!(json.get("captured_at").is_some());
    assert_eq!(&written[..3], &[0xFF, 0xD8, 0xFF]);
}

#[test]
fn colour_and_long_modes_are_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("receipt.jpg");
    let (input, out) = (fixture().into_os_string(), out.into_os_string());
    let run = compress([&input, &out, OsStr::new("--color"), OsStr::new("--long")]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let bad = compress([&input, &out, OsStr::new("--sepia")]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--sepia"));
}

#[test]
fn bad_input_exits_non_zero_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("notes.txt", b"lunch 12,50 EUR\n".to_vec(), "not supported"),
        ("cut.jpg", fixture_prefix(2048), "cut short"),
        ("empty.jpg", Vec::new(), "empty"),
    ];
    for (name, bytes, message) in cases {
        let input = dir.path().join(name);
        std::fs::write(&input, bytes).expect("writes input");
        let out = dir.path().join(format!("{name}.out.jpg"));
        let run = compress([&input, &out]);
        assert!(!run.status.success(), "{name} was accepted");
        assert!(run.stdout.is_empty(), "{name}: printed a result");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert!(!out.exists(), "{name}: wrote an output file");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("lists")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "partial files left behind");
}

fn fixture_prefix(n: usize) -> Vec<u8> {
    let mut bytes = std::fs::read(fixture()).expect("fixture");
    bytes.truncate(n);
    bytes
}
