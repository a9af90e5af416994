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

/// Runs `compress` on `input` with `flags` and returns its JSON line and output file.
fn compress_with(
    input: &std::path::Path,
    dir: &std::path::Path,
    flags: &[&str],
) -> (serde_json::Value, Vec<u8>) {
    let out = dir.join(format!("receipt{}.jpg", flags.join("")));
    let mut args = vec![input.as_os_str().to_owned(), out.clone().into_os_string()];
    args.extend(flags.iter().map(|f| f.into()));
    let run = compress(&args);
    assert!(
        run.status.success(),
        "{flags:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let json = serde_json::from_slice(&run.stdout).expect("one JSON line");
    (json, std::fs::read(&out).expect("output written"))
}

/// The number of colour components in a JPEG's frame header.
fn components(jpeg: &[u8]) -> u8 {
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    // FF C0, length (2), precision (1), height (2), width (2), then the component count.
    jpeg[sof + 9]
}

#[test]
fn colour_and_long_modes_are_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A 12 MP phone photo: the default mode brings it to about 3 MP, the long-receipt mode keeps
    // the whole frame.
    let scan = std::fs::read(fixture()).expect("fixture");
    let shot = PhoneShot {
        orientation: 1,
        seed: 5,
        taken: "2020:03:02 14:05:09".into(),
    };
    let photo = dir.path().join("photo.jpg");
    std::fs::write(&photo, kvits_testkit::phone_photo(&scan, &shot)).expect("writes the photo");
    let pixels = |json: &serde_json::Value| {
        json["width"].as_u64().expect("width") * json["height"].as_u64().expect("height")
    };

    let (plain, plain_jpeg) = compress_with(&photo, dir.path(), &[]);
    assert_eq!(components(&plain_jpeg), 1, "document mode is gray");
    let (colour, colour_jpeg) = compress_with(&photo, dir.path(), &["--color"]);
    assert_eq!(components(&colour_jpeg), 3, "--color keeps colour");
    assert_eq!(pixels(&colour), pixels(&plain));
    let (long, long_jpeg) = compress_with(&photo, dir.path(), &["--long"]);
    assert_eq!(components(&long_jpeg), 1);
    let (both, both_jpeg) = compress_with(&photo, dir.path(), &["--color", "--long"]);
    assert_eq!(components(&both_jpeg), 3);
    assert_eq!(pixels(&both), pixels(&long));

    assert!(pixels(&plain) <= kvits_imaging::DEFAULT_MAX_PIXELS);
    assert_eq!(
        pixels(&long),
        4032 * 3024,
        "long-receipt mode keeps the 12 MP frame"
    );

    let out = dir.path().join("sepia.jpg");
    let bad = compress([photo.as_os_str(), out.as_os_str(), OsStr::new("--sepia")]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--sepia"));
    assert!(!out.exists());
}

#[test]
fn bad_input_exits_non_zero_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("notes.txt", b"lunch 12,50 EUR\n".to_vec(), "not supported"),
        ("cut.jpg", photo_cut_at(2048), "cut short"),
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

/// A photo's first `n` bytes: its headers end within a few hundred bytes (no EXIF block), so the
/// cut falls in the scan data and the decoder must notice, not the header reader.
fn photo_cut_at(n: usize) -> Vec<u8> {
    let (width, height) = (1200u32, 900u32);
    let data = (0..width * height)
        .flat_map(|i| {
            let v = ((i % width) * 255 / width) as u8 ^ ((i / width) % 32 * 4) as u8;
            [v, v, v]
        })
        .collect();
    let image = kvits_testkit::photo::Rgb {
        width,
        height,
        data,
    };
    let mut bytes = kvits_testkit::photo::encode(&image, 90, None);
    let scan = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xDA])
        .expect("a scan");
    assert!(
        scan + 200 < n && bytes.len() > 4 * n,
        "the cut must fall in the scan data"
    );
    bytes.truncate(n);
    bytes
}
