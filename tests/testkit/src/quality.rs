//! Image-quality figures: SSIMULACRA2 against a Lanczos3 reference of the same size.

use image::imageops::{FilterType, resize};
use image::{GrayImage, ImageBuffer, Luma};
use ssimulacra2::{ColorPrimaries, Rgb, TransferCharacteristic, compute_frame_ssimulacra2};

/// `gray` (width×height) resized to `to_width`×`to_height` by the `image` crate's Lanczos3.
pub fn lanczos3(width: u32, height: u32, gray: &[u8], to_width: u32, to_height: u32) -> Vec<u8> {
    let img: GrayImage = ImageBuffer::<Luma<u8>, _>::from_raw(width, height, gray.to_vec())
        .expect("buffer matches the size");
    resize(&img, to_width, to_height, FilterType::Lanczos3).into_raw()
}

/// SSIMULACRA2 of `distorted` against `reference`, both 8-bit gray sRGB of the same size
/// (100 is identical; 70 and up is "high quality" on its scale).
pub fn ssimulacra2_gray(width: u32, height: u32, reference: &[u8], distorted: &[u8]) -> f64 {
    let frame = |gray: &[u8]| {
        let data = gray
            .iter()
            .map(|&v| {
                let f = f32::from(v) / 255.0;
                [f, f, f]
            })
            .collect();
        Rgb::new(
            data,
            width as usize,
            height as usize,
            TransferCharacteristic::SRGB,
            ColorPrimaries::BT709,
        )
        .expect("frame matches the size")
    };
    compute_frame_ssimulacra2(frame(reference), frame(distorted)).expect("ssimulacra2 computes")
}

/// The median of some figures (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}
