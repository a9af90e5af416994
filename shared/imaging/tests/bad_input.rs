//! Bad input gets a typed, clear error — never a panic, never a picture made up of fill.

mod common;

use kvits_imaging::{ImagingError, Options, process};

fn err(input: &[u8]) -> ImagingError {
    match process(input, &Options::default()) {
        Ok(p) => panic!("accepted bad input as {}×{}", p.image.width, p.image.height),
        Err(e) => {
            assert!(!e.to_string().is_empty());
            e
        }
    }
}

fn scan() -> Vec<u8> {
    kvits_testkit::receipts("scans")[0].bytes()
}

#[test]
fn formats_we_do_not_take_are_named() {
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    let cases: [(&[u8], &str); 7] = [
        (&heic, "HEIC"),
        (b"\0\0\0\x1cftypavif\0\0\0\0avifmif1", "AVIF"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"GIF89a\x01\0\x01\0\0\0\0;", "GIF"),
        (b"II*\0\x08\0\0\0", "TIFF"),
        (b"Total 24,23 EUR\nThank you for shopping\n", "Text"),
        (&[0x00, 0x13, 0x37, 0xC0, 0xFF, 0xEE, 0x01, 0x02], "Unknown"),
    ];
    for (input, name) in cases {
        assert_eq!(err(input), ImagingError::Unsupported(name));
        assert!(err(input).to_string().contains(name));
        assert_eq!(err(input).code(), "unsupported_format");
    }
    assert_eq!(err(b""), ImagingError::Empty);
}

#[test]
fn a_jpeg_cut_short_is_refused_not_filled_with_gray() {
    let full = scan();
    for cut in [2048, full.len() / 2, full.len() * 9 / 10] {
        assert_eq!(
            err(&full[..cut]),
            ImagingError::Truncated,
            "cut at {cut} of {}",
            full.len()
        );
    }
    assert_eq!(err(&full[..3]), ImagingError::Truncated);
    assert!(matches!(
        err(&full[..200]),
        ImagingError::Truncated | ImagingError::Corrupt(_)
    ));
    assert!(matches!(
        err(&[0xFF, 0xD8, 0x00, 0x01]),
        ImagingError::Corrupt(_)
    ));
}

/// The case `image` 0.25 gets wrong: the headers are whole and the scan data stops after a few
/// hundred bytes. The fixture scan above carries a 3.5 KB EXIF block, so its 2 KB cut ends inside
/// the headers; this file's scan starts well before 2 KB, so the decoder itself must notice.
#[test]
fn a_jpeg_cut_to_2_kb_inside_its_scan_data_is_refused() {
    for (name, file) in [
        (
            "camera JPEG",
            common::tagged_jpeg(&common::marked(1200, 900), 1),
        ),
        (
            "JPEG without metadata",
            kvits_testkit::photo::encode(&common::marked(1200, 900), 90, None),
        ),
    ] {
        let scan_starts = file
            .windows(2)
            .position(|w| w == [0xFF, 0xDA])
            .expect("has a scan");
        assert!(
            scan_starts + 200 < 2048 && file.len() > 8 * 2048,
            "{name}: the 2 KB cut must fall in the scan data (scan at {scan_starts} of {})",
            file.len()
        );
        assert!(process(&file, &Options::default()).is_ok(), "{name}: whole");
        assert_eq!(err(&file[..2048]), ImagingError::Truncated, "{name}");
    }
}

#[test]
fn a_png_or_webp_cut_short_is_refused() {
    let img = common::marked(200, 150);
    let mut png_file = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_file, 200, 150);
        encoder.set_color(png::ColorType::Rgb);
        let mut writer = encoder.write_header().expect("png header");
        writer.write_image_data(&img.data).expect("png data");
    }
    assert_eq!(
        err(&png_file[..png_file.len() / 2]),
        ImagingError::Truncated
    );
    assert_eq!(err(&png_file[..40]), ImagingError::Truncated);

    let mut webp = Vec::new();
    image_webp::WebPEncoder::new(&mut webp)
        .encode(&img.data, 200, 150, image_webp::ColorType::Rgb8)
        .expect("webp encodes");
    let e = err(&webp[..webp.len() / 2]);
    assert!(
        matches!(e, ImagingError::Truncated | ImagingError::Corrupt(_)),
        "{e:?}"
    );
}

#[test]
fn garbage_inside_a_valid_header_is_an_error() {
    let mut file = scan();
    // Keep the headers, replace the entropy-coded data with marker-like junk.
    let sos = file
        .windows(2)
        .position(|w| w == [0xFF, 0xDA])
        .expect("has a scan");
    for b in file[sos + 20..].iter_mut() {
        *b = 0xFF;
    }
    let e = err(&file);
    assert!(
        matches!(e, ImagingError::Truncated | ImagingError::Corrupt(_)),
        "{e:?}"
    );
}
