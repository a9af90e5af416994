//! Every accepted input format decodes right, and the output is a clean, hashed JPEG.

mod common;

use common::{decode_gray, marked, markers, mean, tagged_jpeg};
use jpeg_encoder::{ColorType, Encoder};
use kvits_imaging::{ColorMode, Options, SourceFormat, process};
use sha2::{Digest, Sha256};

fn png(
    width: u32,
    height: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    data: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(depth);
    let mut writer = encoder.write_header().expect("png header");
    writer.write_image_data(data).expect("png data");
    writer.finish().expect("png end");
    out
}

/// Left half black, right half white: gray values the tests can check after any format.
fn halves(width: u32, height: u32, channels: usize, dark: &[u8], light: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity((width * height) as usize * channels);
    for _ in 0..height {
        for x in 0..width {
            data.extend_from_slice(if x < width / 2 { dark } else { light });
        }
    }
    data
}

fn gray_halves(jpeg: &[u8]) -> (f64, f64) {
    let (w, h, gray) = decode_gray(jpeg);
    (
        mean(&gray, w, 2, 2, w / 2 - 4, h - 2),
        mean(&gray, w, w / 2 + 4, 2, w - 2, h - 2),
    )
}

/// The gray halves of the pipeline's default output for `file`.
fn processed_halves(file: &[u8], what: &str) -> (f64, f64) {
    let out = process(file, &Options::default()).unwrap_or_else(|e| panic!("{what}: {e}"));
    gray_halves(&out.image.jpeg)
}

#[test]
fn png_8_bit_rgb_and_gray() {
    let rgb = png(
        64,
        32,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        &halves(64, 32, 3, &[10, 10, 10], &[250, 250, 250]),
    );
    let out = process(&rgb, &Options::default()).expect("rgb png");
    assert_eq!(out.source.format, SourceFormat::Png);
    let (dark, light) = gray_halves(&out.image.jpeg);
    assert!(dark < 25.0 && light > 235.0, "{dark} {light}");

    let gray = png(
        64,
        32,
        png::ColorType::Grayscale,
        png::BitDepth::Eight,
        &halves(64, 32, 1, &[10], &[250]),
    );
    let (dark, light) = processed_halves(&gray, "gray png");
    assert!(dark < 25.0 && light > 235.0, "{dark} {light}");
}

#[test]
fn png_16_bit_is_reduced_to_8() {
    // Big-endian 16-bit samples: 0x0A00 ≈ 10, 0xFA00 ≈ 250.
    let data = halves(
        64,
        32,
        6,
        &[0x0A, 0, 0x0A, 0, 0x0A, 0],
        &[0xFA, 0, 0xFA, 0, 0xFA, 0],
    );
    let file = png(64, 32, png::ColorType::Rgb, png::BitDepth::Sixteen, &data);
    let (dark, light) = processed_halves(&file, "16-bit png");
    assert!(dark < 25.0 && light > 235.0, "{dark} {light}");
}

#[test]
fn png_alpha_is_flattened_onto_white() {
    // Left: opaque black. Right: fully transparent black, which must become white paper.
    let data = halves(64, 32, 4, &[0, 0, 0, 255], &[0, 0, 0, 0]);
    let file = png(64, 32, png::ColorType::Rgba, png::BitDepth::Eight, &data);
    let (dark, light) = processed_halves(&file, "rgba png");
    assert!(dark < 15.0 && light > 245.0, "{dark} {light}");

    // Half-transparent black over white is mid gray; gray+alpha, 16 bits.
    let data = halves(64, 32, 4, &[0, 0, 0x80, 0], &[0, 0, 0, 0]);
    let file = png(
        64,
        32,
        png::ColorType::GrayscaleAlpha,
        png::BitDepth::Sixteen,
        &data,
    );
    let (half, light) = processed_halves(&file, "la16 png");
    assert!(
        (115.0..140.0).contains(&half) && light > 245.0,
        "{half} {light}"
    );

    // RGBA, 16 bits, in both modes: opaque dark blue ink on the left; on the right, red ink
    // that is fully transparent, so white paper (a decoder that dropped alpha would show red).
    let data = halves(
        64,
        32,
        8,
        &[0x10, 0, 0x10, 0, 0x60, 0, 0xFF, 0xFF],
        &[0xFF, 0xFF, 0, 0, 0, 0, 0, 0],
    );
    let file = png(64, 32, png::ColorType::Rgba, png::BitDepth::Sixteen, &data);
    for color in [ColorMode::Gray, ColorMode::Color] {
        let options = Options {
            color,
            ..Options::default()
        };
        let out = process(&file, &options).unwrap_or_else(|e| panic!("rgba16 {color:?}: {e}"));
        let (dark, light) = gray_halves(&out.image.jpeg);
        assert!(dark < 45.0 && light > 245.0, "{color:?}: {dark} {light}");
    }
}

#[test]
fn png_palette_is_expanded() {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 64, 32);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(vec![10u8, 10, 10, 250, 250, 250]);
    let mut writer = encoder.write_header().expect("png header");
    writer
        .write_image_data(&halves(64, 32, 1, &[0], &[1]))
        .expect("png data");
    writer.finish().expect("png end");
    let (dark, light) = processed_halves(&out, "palette png");
    assert!(dark < 25.0 && light > 235.0, "{dark} {light}");
}

#[test]
fn webp_with_and_without_alpha() {
    for (color, data) in [
        (
            image_webp::ColorType::Rgb8,
            halves(64, 32, 3, &[10, 10, 10], &[250, 250, 250]),
        ),
        (
            image_webp::ColorType::Rgba8,
            halves(64, 32, 4, &[10, 10, 10, 255], &[0, 0, 0, 0]),
        ),
    ] {
        let mut file = Vec::new();
        image_webp::WebPEncoder::new(&mut file)
            .encode(&data, 64, 32, color)
            .expect("webp encodes");
        let out = process(&file, &Options::default()).expect("webp");
        assert_eq!(out.source.format, SourceFormat::Webp);
        let (dark, light) = gray_halves(&out.image.jpeg);
        assert!(dark < 25.0 && light > 235.0, "{color:?}: {dark} {light}");
    }
}

/// Lossy WebP (VP8), what phones and browsers write: the receipt crop of `tests/data`, encoded by
/// `cwebp -q 80`, comes out like the JPEG it was made from; with an alpha channel (`ALPH`
/// chunk, left half transparent) that half comes out as white paper. Cut short, it is refused.
#[test]
fn lossy_webp_with_and_without_alpha() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let read = |name: &str| std::fs::read(dir.join(name)).expect("test data");
    let gray = |file: &[u8]| {
        let out = process(file, &Options::default()).expect("decodes");
        assert_eq!(out.source.format, SourceFormat::Webp);
        decode_gray(&out.image.jpeg)
    };
    let (w, h, jpeg) = {
        let out = process(&read("interleaved_420.jpg"), &Options::default()).expect("jpeg");
        decode_gray(&out.image.jpeg)
    };
    let lossy = read("lossy.webp");
    assert_eq!(&lossy[12..16], b"VP8 ", "a lossy file");
    let (lw, lh, webp) = gray(&lossy);
    assert_eq!((lw, lh), (w, h));
    let diff = mean_abs_diff(&jpeg, &webp);
    assert!(
        diff < 4.0,
        "lossy WebP differs from its source by {diff:.1}"
    );

    let with_alpha = read("lossy_alpha.webp");
    assert_eq!(&with_alpha[12..16], b"VP8X");
    let (aw, ah, half) = gray(&with_alpha);
    assert_eq!((aw, ah), (w, h));
    let left = mean(&half, aw, 0, 0, aw / 2, ah);
    assert!(left > 250.0, "transparent half on white: {left:.1}");
    let right = |p: &[u8]| mean(p, w, w / 2 + 8, 0, w, h);
    let ink = (right(&jpeg) - right(&half)).abs();
    assert!(ink < 4.0, "the opaque half keeps the receipt: {ink:.1}");

    for file in [&lossy, &with_alpha] {
        let e = process(&file[..file.len() / 2], &Options::default()).expect_err("cut short");
        assert!(
            matches!(
                e,
                kvits_imaging::ImagingError::Truncated | kvits_imaging::ImagingError::Corrupt(_)
            ),
            "{e:?}"
        );
    }
}

#[test]
fn cmyk_jpeg_keeps_paper_white_and_ink_dark() {
    // jpeg-encoder writes Adobe-style CMYK: K=255 is full ink.
    let data = halves(64, 32, 4, &[0, 0, 0, 255], &[0, 0, 0, 0]);
    for color in [ColorType::Cmyk, ColorType::CmykAsYcck] {
        let mut file = Vec::new();
        Encoder::new(&mut file, 90)
            .encode(&data, 64, 32, color)
            .expect("cmyk encodes");
        for mode in [ColorMode::Gray, ColorMode::Color] {
            let out = process(
                &file,
                &Options {
                    color: mode,
                    ..Options::default()
                },
            )
            .expect("cmyk");
            let (a, b) = gray_halves(&out.image.jpeg);
            let (dark, light) = (a.min(b), a.max(b));
            assert!(dark < 40.0 && light > 215.0, "{color:?} {mode:?}: {a} {b}");
            assert!(
                a < b,
                "{color:?} {mode:?}: ink and paper swapped ({a} vs {b})"
            );
        }
    }
}

#[test]
fn progressive_and_non_interleaved_jpegs_decode_like_baseline() {
    let upright = marked(400, 300);
    let baseline = kvits_testkit::photo::encode(&upright, 90, None);
    let mut progressive = Vec::new();
    let mut encoder = Encoder::new(&mut progressive, 90);
    encoder.set_progressive(true);
    encoder
        .encode(&upright.data, 400, 300, ColorType::Rgb)
        .expect("progressive");
    let a = decode_gray(
        &process(&baseline, &Options::default())
            .expect("baseline")
            .image
            .jpeg,
    );
    let b = decode_gray(
        &process(&progressive, &Options::default())
            .expect("progressive")
            .image
            .jpeg,
    );
    assert!(mean_abs_diff(&a.2, &b.2) < 2.0);

    // Same pixels, one scan per component (the layout `image` 0.25.10 decoded into stripes).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let read = |name: &str| std::fs::read(dir.join(name)).expect("test data");
    for mode in [ColorMode::Gray, ColorMode::Color] {
        let options = Options {
            color: mode,
            ..Options::default()
        };
        let one = process(&read("interleaved_420.jpg"), &options).expect("interleaved");
        let three = process(&read("non_interleaved_420.jpg"), &options).expect("non-interleaved");
        let (x, y) = (decode_gray(&one.image.jpeg), decode_gray(&three.image.jpeg));
        assert_eq!((x.0, x.1), (600, 500));
        assert!(mean_abs_diff(&x.2, &y.2) < 1.0, "{mode:?}");
    }
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum::<f64>()
        / a.len() as f64
}

#[test]
fn output_carries_no_metadata_and_its_hash() {
    let jpeg = tagged_jpeg(&marked(400, 300), 6);
    assert!(
        jpeg.windows(4).any(|w| w == b"Exif"),
        "the input has EXIF with GPS"
    );
    for mode in [ColorMode::Gray, ColorMode::Color] {
        let out = process(
            &jpeg,
            &Options {
                color: mode,
                ..Options::default()
            },
        )
        .expect("processes");
        for image in [&out.image.jpeg, &out.thumbnail.jpeg] {
            // SOI, then only JFIF (APP0), tables, frame and scan: no APP1..APP15, no COM.
            let found = markers(image);
            assert!(
                found
                    .iter()
                    .all(|m| matches!(m, 0xE0 | 0xDB | 0xC4 | 0xC0 | 0xDD | 0xDA)),
                "{mode:?}: markers {found:02X?}"
            );
            assert!(!image.windows(4).any(|w| w == b"Exif"));
            assert!(
                exif::Reader::new()
                    .read_from_container(&mut std::io::Cursor::new(image))
                    .is_err()
            );
        }
        let components = out.image.jpeg[out
            .image
            .jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("SOF0")
            + 9];
        assert_eq!(components, if mode == ColorMode::Gray { 1 } else { 3 });
        let digest: String = Sha256::digest(&out.image.jpeg)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(out.sha256, digest);
        let again = process(
            &jpeg,
            &Options {
                color: mode,
                ..Options::default()
            },
        )
        .expect("again");
        assert_eq!(
            again.sha256, out.sha256,
            "the same photo gives the same blob"
        );
    }
}

#[test]
fn capture_date_comes_from_exif() {
    let out = process(&tagged_jpeg(&marked(400, 300), 1), &Options::default()).expect("processes");
    let at = out.source.captured_at.expect("has a capture date");
    assert_eq!(at.to_string(), "2024-05-17T09:41:07+02:00");
    assert_eq!(at.date(), "2024-05-17");
    let plain = kvits_testkit::photo::encode(&marked(400, 300), 90, None);
    assert_eq!(
        process(&plain, &Options::default())
            .expect("processes")
            .source
            .captured_at,
        None
    );
}

#[test]
fn small_images_are_never_upscaled_and_thumbnails_are_small() {
    let out = process(&tagged_jpeg(&marked(400, 300), 1), &Options::default()).expect("processes");
    assert_eq!((out.image.width, out.image.height), (400, 300));
    assert_eq!((out.thumbnail.width, out.thumbnail.height), (320, 240));
    let tiny = process(&tagged_jpeg(&marked(40, 30), 1), &Options::default()).expect("processes");
    assert_eq!((tiny.image.width, tiny.image.height), (40, 30));
    assert_eq!((tiny.thumbnail.width, tiny.thumbnail.height), (40, 30));
}

/// `cargo xtask test` runs this crate's tests twice from one build: as built (libjpeg-turbo
/// where the `turbo` feature is on) and with `KVITS_IMAGING_DECODER=pure`. This is what tells
/// the two runs apart; if the switch stopped working, the second run would test nothing new.
#[test]
fn jpegs_go_through_the_decoder_the_build_and_environment_choose() {
    let pure_asked = std::env::var(kvits_imaging::DECODER_ENV).is_ok_and(|v| v == "pure");
    let expected = if cfg!(feature = "turbo") && !pure_asked {
        kvits_imaging::JpegDecoder::LibjpegTurbo
    } else {
        kvits_imaging::JpegDecoder::PureRust
    };
    assert_eq!(kvits_imaging::jpeg_decoder(), expected);
    eprintln!("JPEG decoder in this run: {expected:?}");
}
