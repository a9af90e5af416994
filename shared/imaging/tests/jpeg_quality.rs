//! The output's JPEG quality is what the pipeline promises: q70 in gray document mode, q75 in
//! colour, read back from the quantization tables (DQT) in the file.
//!
//! The encoder is `jpeg-encoder` on every build: with the `turbo` feature libjpeg-turbo only
//! decodes (see `src/turbo.rs`), so this file checks both builds (`cargo test -p kvits-imaging`
//! and `--features turbo`). `jpeg-encoder`'s default tables (`QuantizationTableType::Default`)
//! are the sample tables of ITU-T T.81 Annex K (K.1 luminance, K.2 chrominance) — the same
//! tables IJG libjpeg and libjpeg-turbo use — scaled by IJG's `jpeg_quality_scaling` rule, so
//! the expected tables are computed here from Annex K and that rule.

mod common;

use kvits_imaging::{ColorMode, Options, process};

/// ITU-T T.81 Table K.1 (luminance), in natural (row-major) order.
const ANNEX_K_LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, //
    12, 12, 14, 19, 26, 58, 60, 55, //
    14, 13, 16, 24, 40, 57, 69, 56, //
    14, 17, 22, 29, 51, 87, 80, 62, //
    18, 22, 37, 56, 68, 109, 103, 77, //
    24, 35, 55, 64, 81, 104, 113, 92, //
    49, 64, 78, 87, 103, 121, 120, 101, //
    72, 92, 95, 98, 112, 100, 103, 99, //
];

/// ITU-T T.81 Table K.2 (chrominance), in natural order.
const ANNEX_K_CHROMA: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, //
    18, 21, 26, 66, 99, 99, 99, 99, //
    24, 26, 56, 99, 99, 99, 99, 99, //
    47, 66, 99, 99, 99, 99, 99, 99, //
    99, 99, 99, 99, 99, 99, 99, 99, //
    99, 99, 99, 99, 99, 99, 99, 99, //
    99, 99, 99, 99, 99, 99, 99, 99, //
    99, 99, 99, 99, 99, 99, 99, 99, //
];

/// Natural-order index of the k-th coefficient in zig-zag order (T.81 Figure A.6): DQT stores
/// its 64 entries in zig-zag order.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// IJG's quality scaling (`jpeg_quality_scaling` + `jpeg_add_quant_table` with baseline limits).
fn scaled(base: &[u16; 64], quality: u32) -> [u16; 64] {
    let scale = if quality < 50 {
        5000 / quality
    } else {
        200 - 2 * quality
    };
    base.map(|b| ((u32::from(b) * scale + 50) / 100).clamp(1, 255) as u16)
}

/// The file's quantization tables by id, in natural order, and the table id of each frame
/// component (component id, table id), read from the markers before the first scan.
struct Tables {
    dqt: Vec<(u8, [u16; 64])>,
    components: Vec<(u8, u8)>,
}

fn tables(jpeg: &[u8]) -> Tables {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "not a JPEG");
    let mut out = Tables {
        dqt: Vec::new(),
        components: Vec::new(),
    };
    let mut i = 2;
    while i + 4 <= jpeg.len() {
        assert_eq!(jpeg[i], 0xFF, "marker expected at {i}");
        let marker = jpeg[i + 1];
        if marker == 0xDA {
            break;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        let body = &jpeg[i + 4..i + 2 + len];
        match marker {
            0xDB => {
                // One or more tables: Pq|Tq, then 64 entries of 1 (Pq 0) or 2 (Pq 1) bytes.
                let mut t = body;
                while !t.is_empty() {
                    let (precision, id) = (t[0] >> 4, t[0] & 0x0F);
                    let size = if precision == 0 { 1 } else { 2 };
                    let mut table = [0u16; 64];
                    for (k, &natural) in ZIGZAG.iter().enumerate() {
                        let at = 1 + k * size;
                        table[natural] = if size == 1 {
                            u16::from(t[at])
                        } else {
                            u16::from_be_bytes([t[at], t[at + 1]])
                        };
                    }
                    out.dqt.push((id, table));
                    t = &t[1 + 64 * size..];
                }
            }
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                // P, Y, X, Nf, then per component: id, sampling, Tq.
                let count = usize::from(body[5]);
                for c in 0..count {
                    let at = 6 + c * 3;
                    out.components.push((body[at], body[at + 2]));
                }
            }
            _ => {}
        }
        i += 2 + len;
    }
    out
}

impl Tables {
    /// The table component `index` (0 = luma) is quantized with.
    fn of_component(&self, index: usize) -> [u16; 64] {
        let (_, id) = self.components[index];
        let matching: Vec<_> = self.dqt.iter().filter(|(t, _)| *t == id).collect();
        assert_eq!(
            matching.len(),
            1,
            "table {id} defined {} times",
            matching.len()
        );
        matching[0].1
    }
}

/// A photo-like input (stored turned, with EXIF), so the check runs on the real path.
fn input() -> Vec<u8> {
    common::tagged_jpeg(&common::marked(400, 300), 6)
}

#[test]
fn the_expected_tables_follow_the_ijg_formula() {
    // Spot values of the rule, worked by hand: q50 is Annex K itself, q70 scales by 60 %, q75
    // by 50 % (16 × 0.6 = 9.6 → 10; 99 × 0.5 = 49.5 → 50), q100 is all ones.
    assert_eq!(scaled(&ANNEX_K_LUMA, 50), ANNEX_K_LUMA);
    assert_eq!(scaled(&ANNEX_K_LUMA, 70)[..4], [10, 7, 6, 10]);
    assert_eq!(scaled(&ANNEX_K_CHROMA, 75)[63], 50);
    assert_eq!(scaled(&ANNEX_K_LUMA, 100), [1; 64]);
    assert_eq!(scaled(&ANNEX_K_LUMA, 10)[0], 80);
}

#[test]
fn gray_output_is_quality_70() {
    let out = process(&input(), &Options::default()).expect("processes");
    let t = tables(&out.image.jpeg);
    assert_eq!(t.components.len(), 1, "document mode writes one component");
    assert_eq!(t.of_component(0), scaled(&ANNEX_K_LUMA, 70));
    assert_ne!(t.of_component(0), scaled(&ANNEX_K_LUMA, 75));
}

#[test]
fn colour_output_is_quality_75() {
    let options = Options {
        color: ColorMode::Color,
        ..Options::default()
    };
    let out = process(&input(), &options).expect("processes");
    let t = tables(&out.image.jpeg);
    assert_eq!(t.components.len(), 3, "colour mode writes Y, Cb, Cr");
    assert_eq!(t.of_component(0), scaled(&ANNEX_K_LUMA, 75));
    assert_ne!(t.of_component(0), scaled(&ANNEX_K_LUMA, 70));
    for chroma in [1, 2] {
        assert_eq!(t.of_component(chroma), scaled(&ANNEX_K_CHROMA, 75));
    }
}

#[test]
fn long_receipt_mode_keeps_the_quality() {
    for (color, quality) in [(ColorMode::Gray, 70), (ColorMode::Color, 75)] {
        let options = Options {
            color,
            long_receipt: true,
        };
        let out = process(&input(), &options).expect("processes");
        assert_eq!(
            tables(&out.image.jpeg).of_component(0),
            scaled(&ANNEX_K_LUMA, quality),
            "{color:?}"
        );
    }
}
