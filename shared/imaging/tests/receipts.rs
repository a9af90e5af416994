//! The pipeline on real receipts: the output is small and the text stays readable.
//!
//! Inputs are the 26 cropped flatbed scans in `tests/fixtures/receipts/scans` and 12 MP phone-like
//! photos derived from them in code (on a table, tilted, unevenly lit, noisy, stored rotated with
//! an EXIF orientation). Readability is checked with Debian's `tesseract` (German model): the
//! output must keep ≥ 95 % of the words tesseract reads in the full-resolution upright input.
//! "Reads" means read with confidence ≥ [`READ`]; tesseract's low-confidence guesses at paper
//! texture and smudges change from one run to the next and say nothing about legibility.

mod common;

use kvits_imaging::{Channels, ColorMode, Options, Pixels, decode_upright, process};
use kvits_testkit::photo::{PhoneShot, phone_photo};
use kvits_testkit::quality::{lanczos3, median, ssimulacra2_gray};
use kvits_testkit::{Receipt, ocr, receipts};

const KB: f64 = 1024.0;
/// Tesseract confidence from which a reference word counts as read.
const READ: f32 = 90.0;

fn phone_photos(count: usize) -> Vec<(String, Vec<u8>)> {
    receipts("scans")
        .iter()
        .take(count)
        .enumerate()
        .map(|(i, r)| {
            let shot = PhoneShot {
                orientation: [6, 1, 8, 3][i % 4],
                seed: i as u64,
                taken: format!("{} 12:30:00", r.date.replace('-', ":")),
            };
            (
                format!("phone/{}", r.name()),
                phone_photo(&r.bytes(), &shot),
            )
        })
        .collect()
}

fn scans() -> Vec<(String, Vec<u8>)> {
    receipts("scans")
        .iter()
        .map(|r: &Receipt| (r.name(), r.bytes()))
        .collect()
}

fn median_kb(inputs: &[(String, Vec<u8>)], color: ColorMode) -> f64 {
    let sizes: Vec<f64> = inputs
        .iter()
        .map(|(name, bytes)| {
            let out = process(
                bytes,
                &Options {
                    color,
                    ..Options::default()
                },
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            out.image.jpeg.len() as f64 / KB
        })
        .collect();
    median(&sizes)
}

#[test]
fn median_output_is_within_the_size_targets() {
    for (set, inputs) in [("scans", scans()), ("12 MP photos", phone_photos(6))] {
        let gray = median_kb(&inputs, ColorMode::Gray);
        let color = median_kb(&inputs, ColorMode::Color);
        eprintln!("{set}: median {gray:.0} KB gray, {color:.0} KB colour");
        assert!(
            gray <= 250.0,
            "{set}: median gray output {gray:.0} KB > 250 KB"
        );
        assert!(
            color <= 350.0,
            "{set}: median colour output {color:.0} KB > 350 KB"
        );
    }
}

#[test]
fn the_photo_capture_date_prefills_the_receipt_date() {
    for (name, bytes) in phone_photos(2) {
        let out = process(&bytes, &Options::default()).expect("processes");
        let at = out.source.captured_at.expect("phone photos carry a date");
        let receipt = name.trim_start_matches("phone/");
        let truth = Receipt::from_path(std::path::Path::new(receipt)).expect("fixture name");
        assert_eq!(at.date(), truth.date);
    }
}

/// What one receipt scores.
struct Score {
    name: String,
    reference_words: usize,
    kept_words: usize,
    ssimulacra2: f64,
}

fn score(name: &str, input: &[u8]) -> Score {
    let reference = decode_upright(input, Channels::Gray).expect("decodes");
    let out = process(input, &Options::default()).expect("processes");
    let (w, h, gray) = common::decode_gray(&out.image.jpeg);
    let read = |p: &Pixels| ocr::read(p.width, p.height, &p.data).unwrap_or_else(|e| panic!("{e}"));
    let reference_words: Vec<String> = read(&reference)
        .into_iter()
        .filter(|w| w.confidence >= READ)
        .map(|w| w.text)
        .collect();
    let output_words: Vec<String> = read(&Pixels {
        width: w,
        height: h,
        channels: Channels::Gray,
        data: gray.clone(),
    })
    .into_iter()
    .map(|w| w.text)
    .collect();
    let lanczos = lanczos3(reference.width, reference.height, &reference.data, w, h);
    Score {
        name: name.to_string(),
        reference_words: reference_words.len(),
        kept_words: ocr::kept(&reference_words, &output_words),
        ssimulacra2: ssimulacra2_gray(w, h, &lanczos, &gray),
    }
}

/// Scores inputs on two threads (the machine's cores); tesseract itself is kept to one thread.
fn score_all(inputs: &[(String, Vec<u8>)]) -> Vec<Score> {
    let (a, b) = inputs.split_at(inputs.len().div_ceil(2));
    std::thread::scope(|s| {
        let left = s.spawn(|| a.iter().map(|(n, i)| score(n, i)).collect::<Vec<_>>());
        let mut right: Vec<Score> = b.iter().map(|(n, i)| score(n, i)).collect();
        let mut all = left.join().expect("scoring thread");
        all.append(&mut right);
        all
    })
}

fn check(set: &str, scores: &[Score]) {
    let (mut reference, mut kept) = (0, 0);
    for s in scores {
        eprintln!(
            "{:40} {:4}/{:4} words kept ({:5.1} %), SSIMULACRA2 {:5.1}",
            s.name,
            s.kept_words,
            s.reference_words,
            100.0 * s.kept_words as f64 / s.reference_words.max(1) as f64,
            s.ssimulacra2
        );
        reference += s.reference_words;
        kept += s.kept_words;
    }
    let share = 100.0 * kept as f64 / reference as f64;
    let ssim = median(&scores.iter().map(|s| s.ssimulacra2).collect::<Vec<_>>());
    eprintln!("{set}: {kept}/{reference} words kept ({share:.1} %), median SSIMULACRA2 {ssim:.1}");
    assert!(
        reference > 50 * scores.len(),
        "{set}: tesseract read too little to judge"
    );
    assert!(
        share >= 95.0,
        "{set}: only {share:.1} % of the words survive compression"
    );
    assert!(ssim >= 70.0, "{set}: median SSIMULACRA2 {ssim:.1} < 70");
}

#[test]
fn scanned_receipts_stay_readable() {
    check("scans", &score_all(&scans()));
}

#[test]
fn phone_photos_stay_readable() {
    check("12 MP photos", &score_all(&phone_photos(6)));
}
