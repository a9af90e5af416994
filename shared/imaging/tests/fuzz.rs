//! Property test over mutated files: whatever bytes arrive, the decoder entry point returns an
//! image or a typed error, and never panics.

mod common;

use kvits_imaging::{ColorMode, Options, process};
use proptest::prelude::*;
use std::sync::OnceLock;

/// Small valid seeds in every accepted format.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let img = common::marked(48, 36);
        let jpeg = common::tagged_jpeg(&img, 6);
        let mut progressive = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut progressive, 80);
        encoder.set_progressive(true);
        encoder
            .encode(&img.data, 48, 36, jpeg_encoder::ColorType::Rgb)
            .expect("progressive seed");
        let mut png_file = Vec::new();
        {
            let mut e = png::Encoder::new(&mut png_file, 48, 36);
            e.set_color(png::ColorType::Rgb);
            let mut w = e.write_header().expect("png seed");
            w.write_image_data(&img.data).expect("png seed data");
        }
        let mut webp = Vec::new();
        image_webp::WebPEncoder::new(&mut webp)
            .encode(&img.data, 48, 36, image_webp::ColorType::Rgb8)
            .expect("webp seed");
        vec![jpeg, progressive, png_file, webp]
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        1 => (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Remove(i, n)),
    ]
}

fn apply(mut file: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if file.is_empty() {
            break;
        }
        let at = |i: usize| i % file.len();
        match m {
            Mutation::Set(i, b) => {
                let i = at(*i);
                file[i] = *b;
            }
            Mutation::Truncate(i) => {
                let i = at(*i);
                file.truncate(i);
            }
            Mutation::Insert(i, v) => {
                let i = at(*i);
                file.splice(i..i, v.iter().copied());
            }
            Mutation::Remove(i, n) => {
                let i = at(*i);
                let end = (i + n).min(file.len());
                file.drain(i..end);
            }
        }
    }
    file
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn mutated_files_never_panic(
        seed in 0usize..4,
        mutations in prop::collection::vec(mutation(), 1..8),
        color in any::<bool>(),
    ) {
        let file = apply(seeds()[seed].clone(), &mutations);
        let options = Options {
            color: if color { ColorMode::Color } else { ColorMode::Gray },
            ..Options::default()
        };
        if let Ok(out) = process(&file, &options) {
            prop_assert!(out.image.width >= 1 && out.image.height >= 1);
            prop_assert_eq!(out.sha256.len(), 64);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = process(&bytes, &Options::default());
    }

    #[test]
    fn arbitrary_bytes_behind_a_real_magic_never_panic(
        magic in 0usize..3,
        rest in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let head: &[u8] = [&[0xFF, 0xD8, 0xFF][..], b"\x89PNG\r\n\x1a\n", b"RIFF\0\0\0\0WEBPVP8L"][magic];
        let file: Vec<u8> = head.iter().chain(&rest).copied().collect();
        let _ = process(&file, &Options::default());
    }
}
