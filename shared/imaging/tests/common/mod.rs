//! Small images made in code for the pipeline tests.
#![allow(dead_code)]

use kvits_testkit::photo::{self, PhoneShot, Rgb};

/// A 400×300 light image with a dark block in its top-left quarter and a mid-gray stripe along
/// its bottom edge, so every turn and mirror is visible.
pub fn marked(width: u32, height: u32) -> Rgb {
    let mut data = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let v = if x < width / 4 && y < height / 4 {
                20
            } else if y >= height - height / 10 {
                128
            } else {
                235
            };
            data.extend_from_slice(&[v, v, v]);
        }
    }
    Rgb {
        width,
        height,
        data,
    }
}

pub fn shot(orientation: u16) -> PhoneShot {
    PhoneShot {
        orientation,
        seed: 7,
        taken: "2024:05:17 09:41:07".into(),
    }
}

/// `upright` stored for `orientation` as a camera JPEG with a phone's EXIF block.
pub fn tagged_jpeg(upright: &Rgb, orientation: u16) -> Vec<u8> {
    let stored = photo::store_for(upright.clone(), orientation);
    photo::encode(&stored, 90, Some(&photo::exif(&shot(orientation))))
}

/// Mean of an 8-bit gray region.
pub fn mean(gray: &[u8], width: u32, x0: u32, y0: u32, x1: u32, y1: u32) -> f64 {
    let mut sum = 0u64;
    let mut n = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            sum += u64::from(gray[(y * width + x) as usize]);
            n += 1;
        }
    }
    sum as f64 / n as f64
}

/// Decodes a pipeline output JPEG to gray with zune-jpeg (independent of the pipeline's API).
pub fn decode_gray(jpeg: &[u8]) -> (u32, u32, Vec<u8>) {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;
    let options = DecoderOptions::new_safe().jpeg_set_out_colorspace(ColorSpace::Luma);
    let mut d = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(jpeg), options);
    let data = d.decode().expect("output decodes");
    let info = d.info().expect("output header");
    (u32::from(info.width), u32::from(info.height), data)
}

/// The JPEG markers of a file, in order, up to the first scan.
pub fn markers(jpeg: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let m = jpeg[i + 1];
        out.push(m);
        if m == 0xDA {
            break;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        i += 2 + len;
    }
    out
}
