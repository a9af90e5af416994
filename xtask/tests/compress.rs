//! `cargo xtask compress`: one JSON line for a good photo; for bad input a non-zero exit, the
//! error on stderr, and no output file.

use kvits_testkit::PhoneShot;
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

/// The line `compress` must print for `input`, built by hand from an in-process run of the same
/// pipeline: the keys in this order, no others, `captured_at` a string or `null`.
fn expected_line(input: &[u8], captured_at: &str) -> String {
    let p = kvits_imaging::process(input, &kvits_imaging::Options::default()).expect("processes");
    format!(
        r#"{{"width":{},"height":{},"bytes":{},"sha256":"{}","source_orientation":{},"captured_at":{captured_at}}}"#,
        p.image.width,
        p.image.height,
        p.image.jpeg.len(),
        p.sha256,
        u8::from(p.source.orientation),
    )
}

#[test]
fn prints_one_json_line_and_writes_the_receipt() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The fixture scans carry the scanner's clock as EXIF DateTime (no offset); the uncropped
    // A4 pages carry no date at all; a phone photo of a scan, stored turned (orientation 6),
    // carries DateTimeOriginal with the offset +02:00 (see `kvits_testkit::photo::exif`).
    let scan = std::fs::read(fixture()).expect("fixture");
    let page_path = kvits_testkit::receipts("uncropped")[0].path.clone();
    let page = std::fs::read(&page_path).expect("fixture");
    let shot = PhoneShot {
        orientation: 6,
        seed: 11,
        taken: "2020:03:02 14:05:09".into(),
    };
    let photo = kvits_testkit::phone_photo(&scan, &shot);
    let photo_path = dir.path().join("photo.jpg");
    std::fs::write(&photo_path, &photo).expect("writes the photo");
    let cases = [
        ("scan", fixture(), &scan, 1, r#""2020-05-01T15:23:13""#),
        ("page", page_path, &page, 1, "null"),
        (
            "photo",
            photo_path,
            &photo,
            6,
            r#""2020-03-02T14:05:09+02:00""#,
        ),
    ];
    for (name, input, bytes, orientation, captured_at) in cases {
        let out = dir.path().join(format!("{name}.out.jpg"));
        let run = compress([input.as_os_str(), out.as_os_str()]);
        assert!(
            run.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let stdout = String::from_utf8(run.stdout).expect("utf-8");
        assert_eq!(stdout.lines().count(), 1, "{name}: {stdout}");
        let line = stdout.trim_end_matches('\n');
        assert_eq!(line, expected_line(bytes, captured_at), "{name}");

        let json: serde_json::Value = serde_json::from_str(line).expect("one JSON object");
        let written = std::fs::read(&out).expect("output written");
        assert_eq!(json["bytes"], written.len());
        assert_eq!(&written[..3], &[0xFF, 0xD8, 0xFF]);
        let header = kvits_imaging::probe(&written).expect("the output is a JPEG");
        assert_eq!(
            (json["width"].as_u64(), json["height"].as_u64()),
            (
                Some(u64::from(header.width)),
                Some(u64::from(header.height))
            ),
            "{name}"
        );
        assert_eq!(json["source_orientation"], orientation, "{name}");
        assert_eq!(json["sha256"].as_str().map(str::len), Some(64));
    }
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
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("notes.txt", b"lunch 12,50 EUR\n".to_vec(), "not supported"),
        ("cut.jpg", fixture_prefix(2048), "cut short"),
        ("empty.jpg", Vec::new(), "empty"),
        // An iPhone photo's start: an ISO media `ftyp` box with the HEIC brand.
        (
            "IMG_0042.heic",
            b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\x01\x00meta".to_vec(),
            "HEIC files are not supported",
        ),
        (
            "receipt.pdf",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n".to_vec(),
            "PDF files are not supported",
        ),
        // A few hundred bytes claiming 65000×65000 px: refused from the header.
        (
            "bomb.jpg",
            kvits_testkit::bombs::jpeg_claiming(65_000, 65_000),
            "65000×65000 px; the limit is 16384 px a side",
        ),
    ];
    let mut inputs = Vec::new();
    for (name, bytes, message) in cases {
        let input = dir.path().join(name);
        std::fs::write(&input, bytes).expect("writes input");
        inputs.push(name.to_string());
        let out = dir.path().join(format!("{name}.out.jpg"));
        let run = compress([&input, &out]);
        assert!(!run.status.success(), "{name} was accepted");
        assert!(run.stdout.is_empty(), "{name}: printed a result");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert!(!out.exists(), "{name}: wrote an output file");
        // Nothing but the inputs: no output, no temp (`.NAME.partial`) file.
        let mut present: Vec<String> = std::fs::read_dir(dir.path())
            .expect("lists")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        present.sort();
        let mut expected = inputs.clone();
        expected.sort();
        assert_eq!(present, expected, "{name}: left files behind");
    }
}

fn fixture_prefix(n: usize) -> Vec<u8> {
    let mut bytes = std::fs::read(fixture()).expect("fixture");
    bytes.truncate(n);
    bytes
}
